"""``FeatureConfig``: which high-level jet features, and how they are computed.

Named feature sets (per jet; a dijet event has one block per jet, heavier jet first):

| set | paper | per jet |
|---|---|---|
| ``vae_latent`` | Bump hunting in latent space, §II | m_j, τ21, τ32 |
| ``quak`` | QUAK, §4.2 | m_j, τ1, τ21, τ32, τ43, n_charged |
| ``all`` | | every feature in :data:`JET_FEATURES` |

QUAK's "4 n-subjettiness ratios ranging from 1-prong to 4-prong" are read as τ1, τ21,
τ32, τ43: with fastjet's normalised measure τ1 is itself a ratio (τ1 over Σ pT·R0), and
"the total number of tracks" is the number of charged constituents.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError

__all__ = ["DIJET_EVENT_FEATURES", "FEATURE_SETS", "JET_FEATURES", "FeatureConfig"]

#: every per-jet feature :func:`~coffea_anomaly.representations.jet_features` can return
JET_FEATURES: tuple[str, ...] = (
    "pt",
    "eta",
    "phi",
    "mass",
    "msoftdrop",
    "tau1",
    "tau2",
    "tau3",
    "tau4",
    "tau21",
    "tau32",
    "tau43",
    "n_constituents",
    "n_charged",
)

#: event-level features of a dijet event
DIJET_EVENT_FEATURES: tuple[str, ...] = ("mjj", "deta")

#: the papers' per-jet feature sets
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "all": JET_FEATURES,
    "vae_latent": ("mass", "tau21", "tau32"),
    "quak": ("mass", "tau1", "tau21", "tau32", "tau43", "n_charged"),
}

Source = Literal["constituents", "nanoaod"]


@dataclass(frozen=True)
class FeatureConfig:
    """High-level features of jets and dijet events.

    Attributes:
        features: per-jet features, in matrix-column order (see :data:`JET_FEATURES`).
        event_features: dijet event features appended after the two jet blocks in the
            dijet matrix (``"mjj"``, ``"deta"``); empty by default, since m_jj must not
            feed a model used for an m_jj bump hunt.
        jet_radius: R0 of N-subjettiness and soft drop (the fat-jet radius).
        nsub_beta: angular exponent β of N-subjettiness.
        nsub_axes: fastjet N-subjettiness axes definition.
        softdrop_beta: soft-drop β.
        softdrop_zcut: soft-drop z_cut.
        tau_source: ``"constituents"`` recomputes τ_N with fastjet; ``"nanoaod"`` reads
            the jets' stored ``tau1..tau4``.
        mass_source: ``"constituents"`` takes the mass of the constituent sum and the
            recomputed soft-drop mass; ``"nanoaod"`` the jets' ``mass``/``msoftdrop``.
        order_by: per-jet feature that orders the two jets of a dijet event (descending).
    """

    features: tuple[str, ...] = JET_FEATURES
    event_features: tuple[str, ...] = ()
    jet_radius: float = 0.8
    nsub_beta: float = 1.0
    nsub_axes: str = "OnePass_KT_Axes"
    softdrop_beta: float = 0.0
    softdrop_zcut: float = 0.1
    tau_source: Source = "constituents"
    mass_source: Source = "constituents"
    order_by: str = "mass"

    def __post_init__(self) -> None:
        if isinstance(self.features, str) or isinstance(self.event_features, str):
            raise ConfigError("features and event_features must be sequences of names")
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "event_features", tuple(self.event_features))
        if not self.features:
            raise ConfigError("features must name at least one feature")
        unknown = [f for f in (*self.features, self.order_by) if f not in JET_FEATURES]
        if unknown:
            raise ConfigError(
                f"unknown jet feature(s): {', '.join(unknown)}; known: {', '.join(JET_FEATURES)}"
            )
        unknown = [f for f in self.event_features if f not in DIJET_EVENT_FEATURES]
        if unknown:
            raise ConfigError(
                f"unknown event feature(s): {', '.join(unknown)}; "
                f"known: {', '.join(DIJET_EVENT_FEATURES)}"
            )
        for name in ("jet_radius", "nsub_beta", "softdrop_zcut"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{name} must be a positive number, not {value!r}")
        if not isinstance(self.softdrop_beta, (int, float)) or self.softdrop_beta < 0:
            raise ConfigError(f"softdrop_beta must be >= 0, not {self.softdrop_beta!r}")
        for name in ("tau_source", "mass_source"):
            if getattr(self, name) not in ("constituents", "nanoaod"):
                raise ConfigError(
                    f"{name} must be 'constituents' or 'nanoaod', not {getattr(self, name)!r}"
                )

    @property
    def dijet_columns(self) -> tuple[str, ...]:
        """Column names of the dijet matrix: ``j1_*``, then ``j2_*``, then event features."""
        return (
            *(f"j1_{f}" for f in self.features),
            *(f"j2_{f}" for f in self.features),
            *self.event_features,
        )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> FeatureConfig:
        """A paper's feature set by name (see :data:`FEATURE_SETS`), with overrides."""
        if name not in FEATURE_SETS:
            raise ConfigError(
                f"unknown feature set {name!r}; known: {', '.join(sorted(FEATURE_SETS))}"
            )
        return dataclasses.replace(cls(features=FEATURE_SETS[name]), **overrides)
