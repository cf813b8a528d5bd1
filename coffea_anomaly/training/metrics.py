"""ROC curves, AUC and score quantiles for training (torch-free).

The implementation lives in :mod:`coffea_anomaly.metrics`, shared with the run summaries;
this module keeps the training-side names importable.
"""

from __future__ import annotations

from ..metrics import DEFAULT_QUANTILES, roc_auc, roc_curve, score_quantiles

__all__ = ["DEFAULT_QUANTILES", "roc_auc", "roc_curve", "score_quantiles"]
