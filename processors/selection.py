"""Selections of the ready-made processors, as frozen dataclasses (picklable, serialisable)."""

from __future__ import annotations

from dataclasses import dataclass

from coffea_anomaly.errors import ConfigError

__all__ = ["DijetSelection", "JetSelection"]


@dataclass(frozen=True)
class JetSelection:
    """Fat-jet selection of :class:`JetAnomalyProcessor`.

    Attributes:
        pt_min, pt_max: fat-jet pT window in GeV (the top-tagging benchmark: 550-650).
        eta_max: maximum |eta|.
        truth_match: keep only jets with ``FatJet.truthMatch == 1`` (generated samples).
        max_jets: at most this many leading selected jets per event (0 = all).
    """

    pt_min: float = 550.0
    pt_max: float = 650.0
    eta_max: float = 2.0
    truth_match: bool = False
    max_jets: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.pt_min < self.pt_max:
            raise ConfigError(f"need 0 <= pt_min < pt_max, got {self.pt_min}, {self.pt_max}")
        if self.eta_max <= 0:
            raise ConfigError(f"eta_max must be positive, got {self.eta_max}")
        if self.max_jets < 0:
            raise ConfigError(f"max_jets must be >= 0, got {self.max_jets}")


@dataclass(frozen=True)
class DijetSelection:
    """Event selection of :class:`DijetAnomalyProcessor` (LHC-Olympics-like defaults).

    Attributes:
        jet_pt_min: minimum pT of each of the two leading fat jets (GeV).
        lead_pt_min: minimum pT of the leading fat jet (GeV).
        eta_max: maximum |eta| of both jets.
        deta_max: maximum |Δη| between the two jets.
        mjj_min, mjj_max: dijet-mass range kept (GeV).
    """

    jet_pt_min: float = 300.0
    lead_pt_min: float = 1200.0
    eta_max: float = 2.5
    deta_max: float = 1.3
    mjj_min: float = 1500.0
    mjj_max: float = 8000.0

    def __post_init__(self) -> None:
        if self.jet_pt_min < 0 or self.lead_pt_min < 0:
            raise ConfigError("pT thresholds must be >= 0")
        if self.eta_max <= 0 or self.deta_max <= 0:
            raise ConfigError("eta_max and deta_max must be positive")
        if not self.mjj_min < self.mjj_max:
            raise ConfigError(f"need mjj_min < mjj_max, got {self.mjj_min}, {self.mjj_max}")
