"""Ready-made coffea processors (installed as ``coffea_anomaly.processors``).

* :class:`JetAnomalyProcessor` — fat-jet scores, mass-sculpting histograms.
* :class:`DijetAnomalyProcessor` — dijet events, m_jj × scores, QUAK space.
"""

from __future__ import annotations

from coffea_anomaly.selection import DijetSelection, JetSelection

from .dijet_anomaly import DijetAnomalyProcessor
from .jet_anomaly import JetAnomalyProcessor

__all__ = ["DijetAnomalyProcessor", "DijetSelection", "JetAnomalyProcessor", "JetSelection"]

PROCESSORS = {"jet": JetAnomalyProcessor, "dijet": DijetAnomalyProcessor}
