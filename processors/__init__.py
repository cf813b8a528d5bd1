"""Ready-made coffea processors (installed as ``coffea_anomaly.processors``)."""
