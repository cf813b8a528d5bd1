"""Shipped YAML configs (installed as ``coffea_anomaly.configs``): samples/, analyses/, training/."""
