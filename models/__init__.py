"""Shipped ONNX models (installed as ``coffea_anomaly.models``); see README.md here."""
