"""High-level jet and dijet features: masses, N-subjettiness, charged multiplicity, m_jj.

Example:
    >>> feats = jet_features(events.FatJet, fatjet_constituents(events))   # doctest: +SKIP
    >>> feats.tau21                      # events × jets, like events.FatJet   # doctest: +SKIP
    >>> dijet = dijet_features(events, FeatureConfig.preset("vae_latent"))  # doctest: +SKIP
    >>> x = dijet_matrix(dijet, FeatureConfig.preset("vae_latent"))          # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from ..errors import InputDataError
from ._dask import apply
from ._flat import (
    FlatConstituents,
    check_aligned,
    flat_constituents,
    flat_jets,
    select_columns,
    unflatten_like,
)
from .feature_config import FeatureConfig
from .kinematics import four_momenta, invariant_mass, sum_by_jet
from .substructure import nsubjettiness, softdrop_mass

__all__ = [
    "dijet_features",
    "dijet_features_from_jets",
    "dijet_matrix",
    "feature_matrix",
    "jet_features",
]

#: |pdgId| of charged particles, used when constituents carry no ``charge``
CHARGED_PDGIDS = (11, 13, 15, 211, 321, 2212, 3112, 3222, 3312, 3334)

_TAU_ORDER = {"tau1": 1, "tau2": 2, "tau3": 3, "tau4": 4, "tau21": 2, "tau32": 3, "tau43": 4}
_P4 = ("pt", "eta", "phi", "mass")


def _needed(config: FeatureConfig) -> set[str]:
    return {*config.features, config.order_by}


def _columns(jets: Any, constituents: Any, config: FeatureConfig) -> tuple[Any, Any]:
    needed = _needed(config)
    jet_names = list(_P4)
    if config.mass_source == "nanoaod" and "msoftdrop" in needed:
        jet_names.append("msoftdrop")
    if config.tau_source == "nanoaod":
        n_max = max((_TAU_ORDER.get(f, 0) for f in needed), default=0)
        jet_names += [f"tau{k}" for k in range(1, n_max + 1)]
    const_names = list(_P4)
    if "n_charged" in needed:
        fields = constituents.fields
        if "charge" in fields:
            const_names.append("charge")
        elif "pdgId" in fields:
            const_names.append("pdgId")
        else:
            raise InputDataError("n_charged needs a 'charge' or 'pdgId' field on the constituents")
    return select_columns(constituents, const_names), select_columns(jets, jet_names)


def jet_features(jets: Any, constituents: Any, config: FeatureConfig | None = None) -> Any:
    """Per-jet high-level features as an awkward record array aligned with ``jets``.

    Args:
        jets: ``(n_jets,)`` or events × jets with ``pt, eta, phi, mass`` (and
            ``msoftdrop``/``tau1..4`` for ``"nanoaod"`` sources).
        constituents: aligned constituents (``pt, eta, phi, mass``; ``charge`` or
            ``pdgId`` for ``n_charged``).
        config: which features and how; default :class:`FeatureConfig` (all features).

    Returns:
        Records with ``pt, eta, phi, mass, n_constituents`` plus the configured features,
        nested like ``jets`` (lazy for dask input). τ ratios are 0 where the
        denominator is 0 (a jet with fewer constituents than prongs).
    """
    config = config or FeatureConfig()
    parts = _columns(jets, constituents, config)
    return apply(_jet_features_eager, *parts, label="jet-features", config=config)


def _jet_features_eager(constituents: ak.Array, jets: ak.Array, config: FeatureConfig) -> ak.Array:
    flat = flat_constituents(constituents, constituents.fields)
    jet = flat_jets(jets, jets.fields)
    check_aligned(jet, flat)
    values = _compute(flat, jet, config)
    return unflatten_like(ak.zip(values, depth_limit=1), jets)


def _compute(
    flat: FlatConstituents, jet: dict[str, np.ndarray], config: FeatureConfig
) -> dict[str, np.ndarray]:
    needed = _needed(config)
    cols = flat.columns
    out: dict[str, np.ndarray] = {k: jet[k] for k in ("pt", "eta", "phi")}
    if config.mass_source == "nanoaod":
        out["mass"] = jet["mass"]
    else:
        p = four_momenta(cols["pt"], cols["eta"], cols["phi"], cols["mass"])
        out["mass"] = invariant_mass(sum_by_jet(p, flat.jet_index(), flat.n_jets))
    if "msoftdrop" in needed:
        out["msoftdrop"] = (
            jet["msoftdrop"]
            if config.mass_source == "nanoaod"
            else softdrop_mass(flat, config.softdrop_beta, config.softdrop_zcut, config.jet_radius)
        )
    n_max = max((_TAU_ORDER.get(f, 0) for f in needed), default=0)
    if n_max:
        if config.tau_source == "nanoaod":
            taus = np.stack([jet[f"tau{k}"] for k in range(1, n_max + 1)], axis=1)
        else:
            taus = nsubjettiness(flat, n_max, config.nsub_beta, config.jet_radius, config.nsub_axes)
        for k in range(1, n_max + 1):
            out[f"tau{k}"] = taus[:, k - 1]
        for k in range(2, n_max + 1):
            num, den = taus[:, k - 1], taus[:, k - 2]
            ratio = np.zeros_like(num)
            np.divide(num, den, out=ratio, where=den > 0)
            out[f"tau{k}{k - 1}"] = ratio
    out["n_constituents"] = flat.counts
    if "n_charged" in needed:
        if "charge" in cols:
            charged = cols["charge"] != 0
        else:
            charged = np.isin(np.abs(cols["pdgId"]), CHARGED_PDGIDS)
        out["n_charged"] = np.bincount(
            flat.jet_index(), weights=charged, minlength=flat.n_jets
        ).astype(np.int64)
    return out


def dijet_features(events: Any, config: FeatureConfig | None = None) -> Any:
    """Dijet features of the two leading-pT fat jets of each event.

    Args:
        events: NanoEvents with ``FatJet`` and fat-jet constituents (either convention).
        config: per-jet features and how; default :class:`FeatureConfig`.

    Returns:
        One record per event (``None`` where the event has fewer than two fat jets):
        ``mjj``, ``deta`` and the per-jet records ``j1`` (larger ``config.order_by``,
        i.e. the heavier jet by default) and ``j2``.
    """
    from .constituents import fatjet_constituents

    return dijet_features_from_jets(events.FatJet, fatjet_constituents(events), config)


def dijet_features_from_jets(
    jets: Any, constituents: Any, config: FeatureConfig | None = None
) -> Any:
    """Like :func:`dijet_features`, from events × jets and their constituents."""
    config = config or FeatureConfig()
    parts = _columns(jets, constituents, config)
    return apply(_dijet_eager, *parts, label="dijet-features", config=config)


def _dijet_eager(constituents: ak.Array, jets: ak.Array, config: FeatureConfig) -> ak.Array:
    if jets.ndim != 2 or constituents.ndim != 3:
        raise InputDataError("dijet features need events × jets and events × jets × constituents")
    n_events = len(jets)
    has_two = np.asarray(ak.to_numpy(ak.num(jets, axis=1)) >= 2)
    jets, constituents = jets[has_two], constituents[has_two]
    by_pt = ak.argsort(jets.pt, axis=1, ascending=False)[:, :2]
    jets, constituents = jets[by_pt], constituents[by_pt]
    per_jet = _jet_features_eager(constituents, jets, config)
    order = ak.argsort(per_jet[config.order_by], axis=1, ascending=False, stable=True)
    per_jet, jets = per_jet[order], jets[order]
    p = [four_momenta(*(_column(jets, f, k) for f in _P4)) for k in (0, 1)]
    record = ak.zip(
        {
            "mjj": invariant_mass(p[0] + p[1]),
            "deta": np.abs(_column(jets, "eta", 0) - _column(jets, "eta", 1)),
            "j1": per_jet[:, 0],
            "j2": per_jet[:, 1],
        },
        depth_limit=1,
    )
    index = np.full(n_events, -1, dtype=np.int64)
    index[has_two] = np.arange(int(has_two.sum()))
    option = ak.contents.IndexedOptionArray(ak.index.Index64(index), record.layout)
    return ak.Array(option)


def _column(jets: ak.Array, name: str, k: int) -> np.ndarray:
    return np.asarray(ak.to_numpy(jets[name][:, k]), dtype=np.float64)


def feature_matrix(features: Any, names: tuple[str, ...] | list[str]) -> Any:
    """The named per-jet features as a float32 matrix ``(n_jets, len(names))``.

    Args:
        features: output of :func:`jet_features` (flat or events × jets).
        names: feature names, in column order.
    """
    return apply(_feature_matrix, features, label="feature-matrix", names=tuple(names))


def _feature_matrix(features: ak.Array, names: tuple[str, ...]) -> np.ndarray:
    missing = [n for n in names if n not in features.fields]
    if missing:
        raise InputDataError(
            f"features lack {', '.join(missing)}; compute them with a FeatureConfig naming them"
        )
    cols = flat_jets(features, names)
    return np.stack([cols[n] for n in names], axis=1).astype(np.float32).reshape(-1, len(names))


def dijet_matrix(dijet: Any, config: FeatureConfig | None = None) -> Any:
    """The dijet matrix ``(n_events, len(config.dijet_columns))``, float32.

    Columns: ``config.features`` of the first jet, of the second, then
    ``config.event_features``. Events without two jets (``None``) are left out.
    """
    return apply(_dijet_matrix, dijet, label="dijet-matrix", config=config or FeatureConfig())


def _dijet_matrix(dijet: ak.Array, config: FeatureConfig) -> np.ndarray:
    dijet = ak.drop_none(dijet, axis=0)
    blocks = [_feature_matrix(dijet[j], config.features) for j in ("j1", "j2")]
    if config.event_features:
        blocks.append(_feature_matrix(dijet, config.event_features))
    return np.concatenate(blocks, axis=1)
