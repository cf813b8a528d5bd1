"""The jet and the dijet selection: one definition for training, the processors and ``score()``.

A model must see in production exactly what it saw in training, so the cuts live here
once, as frozen dataclasses (stored in the model card) and pure mask functions on
coffea/awkward arrays (eager, virtual or dask-awkward; no Python loop over events).

Edge convention, everywhere: lower edges are inclusive and upper edges exclusive,

* ``pt_min <= pT < pt_max`` (``pt_max`` None: no upper edge),
* ``|eta| < eta_max``, ``|Δη| < deta_max``,
* ``mjj_min <= m_jj < mjj_max`` (``mjj_max`` None: no upper edge).

The dijet event is built from the **two leading fat jets of the event**, and *then* the
cuts are applied to both (``pair="leading"``, the LHC Olympics and CMS dijet convention:
a forward leading jet vetoes the event instead of promoting the third jet). The other
order, cut every jet first and take the two leading survivors, is ``pair="leading_selected"``.

Jets that cannot be scored are dropped before anything else sees them, whatever the
selection (:func:`jet_quality`): jets with a non-finite ``pt, eta, phi`` or ``mass``,
jets without stored constituents and jets with a non-finite constituent. No NaN or inf
reaches fastjet or onnxruntime, and a jet without constituents never gets the score of
an empty input. The checks need the constituents: callers that pass
``constituents=None`` get the kinematic cuts only.

Example:
    >>> sel = DijetSelection(jet_pt_min=300, lead_pt_min=1200, eta_max=2.5, deta_max=1.3)
    >>> steps = dijet_steps(events.FatJet, sel)            # doctest: +SKIP
    >>> list(steps)                                          # doctest: +SKIP
    ['>= 2 fat jets', 'jets pT, |eta|', 'leading jet pT', '|delta eta|', 'm_jj range']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import awkward as ak
import numpy as np

from .errors import ConfigError, MissingCollectionError

__all__ = [
    "JET_QUALITY",
    "PAIRINGS",
    "PAIR_QUALITY",
    "DijetSelection",
    "JetSelection",
    "Selection",
    "dijet_pair",
    "dijet_steps",
    "finite_constituents",
    "finite_kinematics",
    "has_constituents",
    "jet_mask",
    "jet_quality",
    "looser_than",
    "scorable_jets",
    "select_dijets",
    "select_jets",
    "selection_from_dict",
    "selection_to_dict",
]

#: how the two jets of a dijet event are chosen
PAIRINGS = ("leading", "leading_selected")

#: the jet quality checks, in order; a jet failing several is counted at the first
JET_QUALITY = (
    "jets with non-finite kinematics",
    "jets without constituents",
    "jets with non-finite constituents",
)

#: the dijet steps of the same checks on the pair (events kept after each)
PAIR_QUALITY = ("pair: finite kinematics", "pair: constituents stored", "pair: finite constituents")

#: the fields checked for finiteness, on the jets and on their constituents
KINEMATIC_FIELDS = ("pt", "eta", "phi", "mass")


def _check_window(lo: float, hi: float | None, what: str) -> None:
    if lo < 0 or (hi is not None and hi <= lo):
        raise ConfigError(f"need 0 <= {what}_min < {what}_max, got {lo}, {hi}")


@dataclass(frozen=True)
class JetSelection:
    """Which fat jets a jet-level model scores.

    Attributes:
        pt_min, pt_max: pT window in GeV, ``pt_min <= pT < pt_max`` (None: no upper edge).
        eta_max: ``|eta| < eta_max``.
        truth_match: keep only jets with ``FatJet.truthMatch == 1`` (generated samples).
        max_jets: at most this many leading *selected* jets per event (0: all).
    """

    kind: ClassVar[str] = "jet"

    pt_min: float = 0.0
    pt_max: float | None = None
    eta_max: float = 2.0
    truth_match: bool = False
    max_jets: int = 0

    def __post_init__(self) -> None:
        _check_window(self.pt_min, self.pt_max, "pt")
        if self.eta_max <= 0:
            raise ConfigError(f"eta_max must be positive, got {self.eta_max}")
        if self.max_jets < 0:
            raise ConfigError(f"max_jets must be >= 0, got {self.max_jets}")


@dataclass(frozen=True)
class DijetSelection:
    """Which events an event-level model scores, and on which two jets.

    Attributes:
        jet_pt_min: ``pT >= jet_pt_min`` for both jets of the pair (GeV).
        lead_pt_min: ``pT >= lead_pt_min`` for the leading jet of the pair (GeV).
        eta_max: ``|eta| < eta_max`` for both jets.
        deta_max: ``|Δη| < deta_max`` between the two jets (None: no cut).
        mjj_min, mjj_max: ``mjj_min <= m_jj < mjj_max`` (``mjj_max`` None: no upper edge).
        truth_match: both jets must have ``FatJet.truthMatch == 1``.
        pair: ``"leading"`` (the two leading jets of the event, then the cuts) or
            ``"leading_selected"`` (the jet cuts first, then the two leading survivors).
    """

    kind: ClassVar[str] = "dijet"

    jet_pt_min: float = 0.0
    lead_pt_min: float = 0.0
    eta_max: float = 2.5
    deta_max: float | None = None
    mjj_min: float = 0.0
    mjj_max: float | None = None
    truth_match: bool = False
    pair: str = "leading"

    def __post_init__(self) -> None:
        if self.jet_pt_min < 0 or self.lead_pt_min < 0:
            raise ConfigError("pT thresholds must be >= 0")
        if self.eta_max <= 0 or (self.deta_max is not None and self.deta_max <= 0):
            raise ConfigError("eta_max and deta_max must be positive")
        _check_window(self.mjj_min, self.mjj_max, "mjj")
        if self.pair not in PAIRINGS:
            raise ConfigError(f"pair must be one of {', '.join(PAIRINGS)}, not {self.pair!r}")


Selection = JetSelection | DijetSelection


def selection_to_dict(sel: Selection) -> dict[str, Any]:
    """The selection as plain JSON, with its kind: what a model card stores."""
    return {"kind": sel.kind, **dataclasses.asdict(sel)}


def selection_from_dict(data: dict[str, Any], kind: str | None = None) -> Selection:
    """Rebuild a selection from :func:`selection_to_dict` (or plain options and ``kind``).

    Raises:
        ConfigError: unknown kind or options, or invalid values.
    """
    from .config import config_from_dict

    data = dict(data)
    kind = str(data.pop("kind", kind))
    classes = {"jet": JetSelection, "dijet": DijetSelection}
    if kind not in classes:
        raise ConfigError(f"selection kind must be 'jet' or 'dijet', not {kind!r}")
    return config_from_dict(classes[kind], data)  # type: ignore[return-value]


def looser_than(sel: Selection, reference: Selection) -> list[str]:
    """The ways in which ``sel`` keeps jets/events that ``reference`` would not.

    Returns:
        one short phrase per looser cut (empty: ``sel`` is at least as tight).
    """
    if type(sel) is not type(reference):
        return [f"a {sel.kind} selection where the model was trained with a {reference.kind} one"]
    out = []
    for f in dataclasses.fields(sel):
        mine, ref = getattr(sel, f.name), getattr(reference, f.name)
        if mine == ref:
            continue
        if f.name in ("pair", "max_jets"):
            loose = True if f.name == "pair" else ref != 0 and (mine == 0 or mine > ref)
        elif f.name == "truth_match":
            loose = ref and not mine
        elif f.name.endswith("_min"):
            loose = mine < ref
        else:  # upper edges: None is no edge
            loose = ref is not None and (mine is None or mine > ref)
        if loose:
            out.append(f"{f.name}={mine} (trained with {ref})")
    return out


def _all_finite(array: Any, fields: tuple[str, ...]) -> Any:
    present = [f for f in fields if f in (array.fields or [])]
    if not present:
        raise MissingCollectionError(list(fields), where="the jets or constituents to check")
    mask = None
    for f in present:
        ok = np.isfinite(array[f])
        mask = ok if mask is None else mask & ok
    return mask


def finite_kinematics(jets: Any) -> Any:
    """Mask (same nesting as ``jets``): ``pt, eta, phi, mass`` are finite (those present)."""
    return _all_finite(jets, KINEMATIC_FIELDS)


def has_constituents(constituents: Any) -> Any:
    """Mask per jet (one nesting level less than ``constituents``): a constituent is stored."""
    return ak.num(constituents, axis=constituents.ndim - 1) > 0


def finite_constituents(constituents: Any) -> Any:
    """Mask per jet: every constituent's ``pt, eta, phi, mass`` (those present) is finite.

    True for a jet without constituents (nothing non-finite): see :func:`has_constituents`.
    """
    return ak.all(_all_finite(constituents, KINEMATIC_FIELDS), axis=constituents.ndim - 1)


def jet_quality(jets: Any, constituents: Any) -> tuple[Any, dict[str, Any]]:
    """Which jets can be scored, and which check drops each of the others.

    Args:
        jets: jets (events × jets or flat), eager or dask-awkward.
        constituents: their constituents (one nesting level more), or None: then only
            the kinematics are checked.

    Returns:
        ``(good, dropped)``: ``good`` masks the jets that pass every check; ``dropped``
        maps each name of :data:`JET_QUALITY` (checks done) to the mask of the jets that
        fail it and passed the checks before it, so every jet is in at most one of them.
    """
    good = finite_kinematics(jets)
    dropped = {JET_QUALITY[0]: ~good}
    if constituents is not None:
        checks = (has_constituents(constituents), finite_constituents(constituents))
        for name, ok in zip(JET_QUALITY[1:], checks, strict=True):
            dropped[name] = good & ~ok
            good = good & ok
    return good, dropped


def scorable_jets(jets: Any, constituents: Any) -> Any:
    """Mask of the jets a model can score: finite kinematics, constituents stored and finite."""
    return jet_quality(jets, constituents)[0]


def _truth(jets: Any) -> Any:
    if "truthMatch" not in jets.fields:
        raise MissingCollectionError(["FatJet_truthMatch"], where="the jets (truth matching asked for)")
    return jets.truthMatch == 1


def _pt_eta(jets: Any, pt_min: float, pt_max: float | None, eta_max: float) -> Any:
    mask = (jets.pt >= pt_min) & (abs(jets.eta) < eta_max)
    if pt_max is not None:
        mask = mask & (jets.pt < pt_max)
    return mask


def jet_mask(fatjets: Any, sel: JetSelection) -> Any:
    """Events × jets mask of the jets in the pT window and |eta| range (and truth-matched).

    ``max_jets`` is not a mask: :func:`select_jets` applies it after masking.
    """
    mask = _pt_eta(fatjets, sel.pt_min, sel.pt_max, sel.eta_max)
    return mask & _truth(fatjets) if sel.truth_match else mask


def select_jets(
    fatjets: Any, constituents: Any, sel: JetSelection
) -> tuple[Any, Any, dict[str, Any]]:
    """The selected jets (events × jets), their constituents, and the cutflow steps.

    With constituents, the jets that fail :func:`jet_quality` are dropped first.

    Returns:
        ``(jets, constituents, steps)`` where ``steps`` maps a cut name to an events ×
        jets mask for counting: for the quality checks (names in :data:`JET_QUALITY`,
        only when ``constituents`` is given) the jets *dropped* there, for the cuts that
        follow the jets still *kept* after them. Every jet read is dropped at exactly one
        step or kept to the end. ``constituents`` may be None.
    """
    steps: dict[str, Any] = {}
    kin = _pt_eta(fatjets, sel.pt_min, sel.pt_max, sel.eta_max)
    if constituents is not None:
        good, steps = jet_quality(fatjets, constituents)
        kin = good & kin
    steps["jets pT, |eta|"] = kin
    mask = kin
    if sel.truth_match:
        mask = mask & _truth(fatjets)
        steps["jets truth-matched"] = mask
    jets = fatjets[mask]
    cons = constituents[mask] if constituents is not None else None
    if sel.max_jets:
        jets = jets[:, : sel.max_jets]
        cons = cons[:, : sel.max_jets] if cons is not None else None
        steps[f"jets leading {sel.max_jets}"] = ak.ones_like(jets.pt, dtype=bool)
    return jets, cons, steps


def dijet_pair(fatjets: Any, constituents: Any, sel: DijetSelection) -> tuple[Any, Any]:
    """Events × (at most 2) jets: the pair the selection looks at (``sel.pair``), and the
    same jets' constituents (None when ``constituents`` is None). No cut is applied."""
    if sel.pair == "leading_selected":
        good = _pt_eta(fatjets, sel.jet_pt_min, None, sel.eta_max)
        fatjets = fatjets[good]
        constituents = constituents[good] if constituents is not None else None
    return fatjets[:, :2], constituents[:, :2] if constituents is not None else None


def dijet_steps(fatjets: Any, sel: DijetSelection, constituents: Any = None) -> dict[str, Any]:
    """Cumulative per-event masks of the dijet selection, in order; the last one is the selection.

    Every mask has one entry per event (no missing values), so it can index the events.
    With ``constituents``, the quality checks of :func:`jet_quality` on the pair end the
    selection (:data:`PAIR_QUALITY`): the cuts before them judge finite numbers only, so
    a pair with a NaN or inf is counted where it is dropped, at ``pair: finite kinematics``.
    """
    pair, pair_cons = dijet_pair(fatjets, constituents, sel)
    two = ak.num(pair, axis=1) == 2
    padded = ak.pad_none(pair, 2, axis=1, clip=True)
    j1, j2 = padded[:, 0], padded[:, 1]
    steps: dict[str, Any] = {">= 2 fat jets": two}
    # with the quality checks, a non-finite pair passes the cuts and is dropped by them
    bad = ~ak.all(finite_kinematics(pair), axis=1) if constituents is not None else False
    jets_ok = ak.all(_pt_eta(pair, sel.jet_pt_min, None, sel.eta_max), axis=1)
    if sel.truth_match:
        jets_ok = jets_ok & ak.all(_truth(pair), axis=1)
    steps["jets pT, |eta|"] = mask = two & (jets_ok | bad)
    steps["leading jet pT"] = mask = mask & (ak.fill_none(j1.pt >= sel.lead_pt_min, False) | bad)
    if sel.deta_max is not None:
        ok = ak.fill_none(abs(j1.eta - j2.eta) < sel.deta_max, False)
        steps["|delta eta|"] = mask = mask & (ok | bad)
    if sel.mjj_min > 0 or sel.mjj_max is not None:
        mjj = (j1 + j2).mass
        ok = mjj >= sel.mjj_min
        if sel.mjj_max is not None:
            ok = ok & (mjj < sel.mjj_max)
        steps["m_jj range"] = mask = mask & (ak.fill_none(ok, False) | bad)
    if constituents is not None:
        _, dropped = jet_quality(pair, pair_cons)
        for name, failed in zip(PAIR_QUALITY, dropped.values(), strict=True):
            steps[name] = mask = mask & ~ak.any(failed, axis=1)
    return steps


def select_dijets(
    fatjets: Any, constituents: Any, sel: DijetSelection
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """The selected events' two jets, their constituents, the event mask and the steps.

    Returns:
        ``(jets, constituents, keep, steps)``: ``jets`` is selected events × 2 (the
        pair, in pT order), ``constituents`` the same jets' constituents (or None),
        ``keep`` the per-event mask and ``steps`` the cumulative masks of
        :func:`dijet_steps` (with the quality checks when ``constituents`` is given).
    """
    steps = dijet_steps(fatjets, sel, constituents)
    keep = list(steps.values())[-1]
    pair, cons = dijet_pair(fatjets, constituents, sel)
    return pair[keep], cons[keep] if cons is not None else None, keep, steps
