"""histograms stage of coffea-anomaly."""
