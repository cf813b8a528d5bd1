"""plotting stage of coffea-anomaly."""
