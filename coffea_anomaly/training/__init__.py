"""training stage of coffea-anomaly."""
