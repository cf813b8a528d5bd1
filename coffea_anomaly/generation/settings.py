"""Frozen configuration dataclasses of a generation recipe.

A recipe (``configs/samples/<process>.yaml``) is a :class:`SampleRecipe`; its nested
parts say how jets are built (:class:`JetConfig`), what the toy detector does
(:class:`DetectorConfig`), which events are kept (:class:`FilterConfig`) and, for the
``mixed`` process, how a signal is injected into a background (:class:`MixConfig`).
All of them round-trip through :func:`coffea_anomaly.config.config_to_dict` /
:func:`coffea_anomaly.config.config_from_dict`.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DetectorConfig", "FilterConfig", "JetConfig", "MixConfig", "SampleRecipe"]

FILTER_KINDS = ("none", "fatjet_window", "dijet")
#: stands for "no upper limit" (finite, so recipes serialise to strict JSON)
NO_LIMIT = 1.0e9


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class JetConfig:
    """How fat jets (and AK4 jets) are clustered and which are stored.

    Attributes:
        fatjet_radius: anti-kT distance parameter of fat jets.
        fatjet_min_pt: fat jets below this pT (GeV) are not stored.
        jet_radius: anti-kT distance parameter of the small-radius ``Jet`` collection.
        jet_min_pt: small-radius jets below this pT (GeV) are not stored.
        softdrop_beta: soft-drop angular exponent (0 = modified mass drop).
        softdrop_zcut: soft-drop symmetry cut.
        nsubjettiness_beta: angular exponent of N-subjettiness.
        store_all_pfcands: store every PF candidate, not only fat-jet constituents.
    """

    fatjet_radius: float = 0.8
    fatjet_min_pt: float = 170.0
    jet_radius: float = 0.4
    jet_min_pt: float = 15.0
    softdrop_beta: float = 0.0
    softdrop_zcut: float = 0.1
    nsubjettiness_beta: float = 1.0
    store_all_pfcands: bool = False

    def __post_init__(self) -> None:
        for name in ("fatjet_radius", "jet_radius"):
            value = getattr(self, name)
            _require(_finite_number(value) and 0 < value <= 2.0, f"{name} must be in (0, 2], got {value!r}")
        for name in ("fatjet_min_pt", "jet_min_pt", "softdrop_beta", "nsubjettiness_beta"):
            value = getattr(self, name)
            _require(_finite_number(value) and value >= 0, f"{name} must be a number >= 0, got {value!r}")
        _require(
            _finite_number(self.softdrop_zcut) and 0 <= self.softdrop_zcut < 0.5,
            f"softdrop_zcut must be in [0, 0.5), got {self.softdrop_zcut!r}",
        )
        _require(isinstance(self.store_all_pfcands, bool), "store_all_pfcands must be true or false")


@dataclass(frozen=True)
class DetectorConfig:
    """The toy detector that turns stable visible particles into PF candidates.

    Charged particles inside the tracker keep their momentum; everything measured by
    the calorimeters alone (photons, neutral hadrons, charged particles beyond the
    tracker) has its pT smeared by a Gaussian of relative width
    ``sqrt((stochastic / sqrt(E))**2 + constant**2)``. See docs/GENERATION.md.

    Attributes:
        tracker_abs_eta: tracker acceptance |eta| for charged particles.
        calo_abs_eta: calorimeter acceptance |eta| for everything else.
        min_pt: PF candidates below this pT (GeV, after smearing) are dropped.
        em_stochastic: stochastic term of the electromagnetic resolution (GeV^0.5).
        em_constant: constant term of the electromagnetic resolution.
        had_stochastic: stochastic term of the hadronic resolution (GeV^0.5).
        had_constant: constant term of the hadronic resolution.
    """

    tracker_abs_eta: float = 2.5
    calo_abs_eta: float = 5.0
    min_pt: float = 0.5
    em_stochastic: float = 0.05
    em_constant: float = 0.005
    had_stochastic: float = 1.0
    had_constant: float = 0.05

    def __post_init__(self) -> None:
        for f in ("tracker_abs_eta", "calo_abs_eta", "min_pt", "em_stochastic", "em_constant",
                  "had_stochastic", "had_constant"):
            value = getattr(self, f)
            _require(_finite_number(value) and value >= 0, f"{f} must be a number >= 0, got {value!r}")
        _require(self.calo_abs_eta > 0, "calo_abs_eta must be > 0")


@dataclass(frozen=True)
class FilterConfig:
    """Generator-level event filter; ``--events N`` counts events that pass it.

    Kinds:
        ``none``: keep every event.
        ``fatjet_window``: keep events with a fat jet in ``[pt_min, pt_max]`` and
            ``|eta| < abs_eta_max`` (and truth-matched if ``require_truth_match``).
        ``dijet``: keep events with two fat jets, the leading one above ``leading_pt_min``
            and their invariant mass in ``[mjj_min, mjj_max]``.

    Attributes:
        kind: one of ``none``, ``fatjet_window``, ``dijet``.
        pt_min: lower edge of the fat-jet pT window (GeV).
        pt_max: upper edge of the fat-jet pT window (GeV).
        abs_eta_max: |eta| limit of the window jet.
        require_truth_match: the window jet must be truth-matched.
        leading_pt_min: leading fat-jet pT threshold of the dijet filter (GeV).
        mjj_min: lower edge of the dijet mass window (GeV).
        mjj_max: upper edge of the dijet mass window (GeV).
        max_tries_per_event: give up when more than this many events per requested
            event were generated (protects against a filter nothing passes).
    """

    kind: str = "none"
    pt_min: float = 0.0
    pt_max: float = NO_LIMIT
    abs_eta_max: float = NO_LIMIT
    require_truth_match: bool = False
    leading_pt_min: float = 0.0
    mjj_min: float = 0.0
    mjj_max: float = NO_LIMIT
    max_tries_per_event: int = 1000

    def __post_init__(self) -> None:
        _require(self.kind in FILTER_KINDS, f"filter kind must be one of {', '.join(FILTER_KINDS)}, got {self.kind!r}")
        for name in ("pt_min", "pt_max", "abs_eta_max", "leading_pt_min", "mjj_min", "mjj_max"):
            value = getattr(self, name)
            _require(
                isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0,
                f"{name} must be a number >= 0, got {value!r}",
            )
        _require(self.pt_min < self.pt_max, f"pt_min ({self.pt_min}) must be below pt_max ({self.pt_max})")
        _require(self.mjj_min < self.mjj_max, f"mjj_min ({self.mjj_min}) must be below mjj_max ({self.mjj_max})")
        _require(isinstance(self.require_truth_match, bool), "require_truth_match must be true or false")
        _require(
            isinstance(self.max_tries_per_event, int) and self.max_tries_per_event >= 1,
            f"max_tries_per_event must be an integer >= 1, got {self.max_tries_per_event!r}",
        )


@dataclass(frozen=True)
class MixConfig:
    """A background recipe with a signal recipe injected at a fixed fraction.

    Attributes:
        background: name of the background recipe.
        signal: name of the signal recipe.
        signal_fraction: fraction of signal events, in [0, 1].
        background_overrides: ``--set`` overrides passed to the background recipe.
        signal_overrides: ``--set`` overrides passed to the signal recipe.
    """

    background: str = "qcd_dijet"
    signal: str = "wprime_xy"
    signal_fraction: float = 0.01
    background_overrides: dict[str, Any] = field(default_factory=dict)
    signal_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(
            _finite_number(self.signal_fraction) and 0.0 <= self.signal_fraction <= 1.0,
            f"signal_fraction must be in [0, 1], got {self.signal_fraction!r}",
        )
        _require(self.background != "mixed" and self.signal != "mixed", "mixed cannot nest itself")


@dataclass(frozen=True)
class SampleRecipe:
    """Everything needed to generate one process reproducibly.

    Attributes:
        process: the recipe's name (``qcd_jets``, ``top_jets``, ...).
        description: one line for humans.
        truth_label: value of the ``truthLabel`` branch (1 signal, 0 background).
        parameters: named physics options; ``{name}`` in ``pythia`` lines is replaced
            by their values, and ``--set name=value`` changes them.
        pythia: Pythia 8 settings, one ``readString`` line each.
        truth_ids: |pdgId| of hard-process particles that fat jets are matched to.
        block_size: events per block (one block = one file = one seed stream).
        jets: jet clustering and storage.
        detector: the toy detector model.
        filter: generator-level event filter.
        mix: only for the ``mixed`` process.
    """

    process: str
    description: str = ""
    truth_label: int = 0
    parameters: dict[str, Any] = field(default_factory=dict)
    pythia: tuple[str, ...] = ()
    truth_ids: tuple[int, ...] = ()
    block_size: int = 500
    jets: JetConfig = field(default_factory=JetConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    mix: MixConfig | None = None

    def __post_init__(self) -> None:
        _require(isinstance(self.process, str) and self.process != "", "process must be a non-empty name")
        _require(self.truth_label in (0, 1), f"truth_label must be 0 or 1, got {self.truth_label!r}")
        _require(
            isinstance(self.block_size, int) and not isinstance(self.block_size, bool) and self.block_size >= 1,
            f"block_size must be an integer >= 1, got {self.block_size!r}",
        )
        _require(all(isinstance(i, int) for i in self.truth_ids), "truth_ids must be integers")
        _require(self.mix is None or isinstance(self.mix, MixConfig), "mix must be a mapping of MixConfig fields")
        for name, value in self.parameters.items():
            _require(
                isinstance(value, (int, float, str, bool)),
                f"parameter {name} must be a number, string or boolean, got {value!r}",
            )

    @property
    def is_mixed(self) -> bool:
        """Whether this recipe injects a signal recipe into a background recipe."""
        return self.mix is not None

    def pythia_lines(self) -> list[str]:
        """The Pythia settings with ``{expression}`` placeholders filled in.

        A placeholder is a parameter name or simple arithmetic on parameters
        (``{m_x}``, ``{1 - r_inv}``, ``{2 * m_qv}``); booleans become ``on``/``off``.
        """
        out = []
        for line in self.pythia:
            try:
                out.append(_PLACEHOLDER.sub(lambda m: _format(_evaluate(m.group(1), self.parameters)), line))
            except (KeyError, ValueError, SyntaxError, ZeroDivisionError) as err:
                raise ValueError(f"recipe {self.process}: cannot fill in Pythia line {line!r}: {err}") from err
        return out


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _evaluate(expression: str, parameters: dict[str, Any]) -> Any:
    """Evaluate a placeholder: a parameter name, a number, or + - * / of those."""

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Name):
            if node.id not in parameters:
                raise KeyError(f"unknown parameter {node.id!r}")
            return parameters[node.id]
        if isinstance(node, ast.Constant) and _finite_number(node.value):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unsupported expression {expression!r}")

    return walk(ast.parse(expression.strip(), mode="eval"))


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return repr(value)
    return str(value)
