"""inference stage of coffea-anomaly."""
