"""generation stage of coffea-anomaly."""
