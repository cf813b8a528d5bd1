"""representations stage of coffea-anomaly."""
