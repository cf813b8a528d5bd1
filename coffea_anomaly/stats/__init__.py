"""stats stage of coffea-anomaly."""
