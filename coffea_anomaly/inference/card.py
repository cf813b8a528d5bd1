"""The model card: what an exported ONNX model is, stored inside the model (Contract 3).

Every model coffea-anomaly exports carries a JSON card under the ONNX metadata key
``coffea_anomaly.card``. The card says how to build the model's input (representation kind
and its full config), what goes in and comes out (names, shapes, dtypes, meanings), how it
was trained, what was measured at export, and the background score quantiles that give
fixed thresholds for "least background-like x %" slices after a job.

Example:
    >>> card = ModelCard(
    ...     name="toy", family="autoencoder", paper="", level="jet",
    ...     representation=RepresentationSpec("jet_image", {"npix": 40}),
    ...     inputs=(TensorSpec("x", (None, 40, 40)),),
    ...     outputs=(TensorSpec("score", (None,), meaning="MSE per jet"),),
    ...     score_names=("score",),
    ...     background_quantiles={"score": {"q": [0.5, 0.99], "value": [0.1, 0.7]}},
    ... )
    >>> card.threshold("score", 0.99)
    0.7
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .._version import __version__
from ..config import config_from_dict, config_to_dict
from ..errors import ConfigError, InputDataError, ModelCardError
from ..selection import Selection, selection_from_dict

__all__ = [
    "CARD_KEY",
    "CARD_VERSION",
    "ModelCard",
    "RepresentationSpec",
    "TensorSpec",
    "check_card_against_graph",
    "format_shape",
    "load_onnx",
    "read_card",
    "read_model_file",
    "write_card",
]

#: ONNX metadata key under which the card's JSON is stored.
CARD_KEY = "coffea_anomaly.card"
#: The card format this code writes and reads.
CARD_VERSION = 1

_LEVELS = ("jet", "event")
_DTYPES = ("float16", "float32", "float64", "int32", "int64")


def _plain_json(value: Any, what: str) -> Any:
    """Return ``value`` as it comes back from strict JSON (tuples become lists, ...)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = config_to_dict(value)
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ModelCardError(f"model card field '{what}' is not plain JSON: {err}") from err


def format_shape(shape: tuple[int | None, ...] | list[int | None]) -> str:
    """A shape as Python writes it, with ``N`` for free dimensions: ``(N, 40, 40)``, ``(N,)``."""
    dims = ["N" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output as the card declares it.

    Args:
        name: the ONNX graph input/output name.
        shape: dimensions; ``None`` for the batch dimension (first) or any free one.
        dtype: numpy dtype name (``"float32"``, ...).
        meaning: one sentence for outputs, e.g. "reconstruction MSE per jet".
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"
    meaning: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ModelCardError("model card tensor needs a non-empty 'name'")
        shape = tuple(self.shape)
        if not shape:
            raise ModelCardError(f"model card tensor '{self.name}' needs a shape with a batch axis")
        for d in shape:
            if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1):
                raise ModelCardError(
                    f"model card tensor '{self.name}' has invalid dimension {d!r} in {list(shape)}"
                )
        object.__setattr__(self, "shape", shape)
        if self.dtype not in _DTYPES:
            raise ModelCardError(
                f"model card tensor '{self.name}' has dtype {self.dtype!r}; "
                f"known: {', '.join(_DTYPES)}"
            )

    def shape_str(self) -> str:
        """The shape as text, ``None`` written as ``N``: ``(N, 40, 40)``."""
        return format_shape(self.shape)


@dataclass(frozen=True)
class RepresentationSpec:
    """How to build the model input: a representation kind and its full config (a dict)."""

    kind: str
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind:
            raise ModelCardError("model card representation needs a non-empty 'kind'")
        cfg = _plain_json(self.config, "representation.config")
        if not isinstance(cfg, dict):
            raise ModelCardError("model card representation 'config' must be a mapping")
        object.__setattr__(self, "config", cfg)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ModelCard:
    """The description an exported ONNX model carries (Contract 3).

    ``from_dict(card.to_dict()) == card`` for every valid card; all dict-valued fields are
    normalised to plain JSON on construction, so what you build is what you read back.

    Args:
        name: model name (also the shipped file name without ``.onnx``).
        family: model family, e.g. ``"autoencoder"``, ``"vae"``, ``"nae"``, ``"pca"``.
        paper: paper key (file stem in the shared papers folder) or ``""``.
        level: ``"jet"`` (one score per jet) or ``"event"`` (one score per event).
        representation: the input's representation kind and config.
        inputs: graph inputs (exactly those the graph declares; inference feeds the first).
        outputs: graph outputs, with shape, dtype and meaning.
        score_names: outputs that are anomaly scores (larger = more anomalous).
        training: training facts (sample, n_train, seed, epochs, ...), plain JSON.
        metrics: numbers measured at export (e.g. ``{"auc_top_vs_qcd": 0.89}``).
        background_quantiles: per score name ``{"q": [...], "value": [...]}``, the score
            values below which a fraction ``q`` of the training background lies.
        selection: the jet or dijet selection the model was trained with, as
            :func:`coffea_anomaly.selection.selection_to_dict` writes it (``{}``: unknown);
            the processors and ``score()`` default to it.
        package_version: coffea-anomaly version that wrote the card.
        created: ISO-8601 UTC time of export.
        card_version: card format version.
    """

    name: str
    family: str
    paper: str
    level: str
    representation: RepresentationSpec
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    score_names: tuple[str, ...]
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    background_quantiles: dict[str, Any] = field(default_factory=dict)
    selection: dict[str, Any] = field(default_factory=dict)
    package_version: str = __version__
    created: str = field(default_factory=_now)
    card_version: int = CARD_VERSION

    def __post_init__(self) -> None:
        for attr in ("name", "family", "paper", "package_version", "created"):
            if not isinstance(getattr(self, attr), str):
                raise ModelCardError(f"model card field '{attr}' must be a string")
        if not self.name:
            raise ModelCardError("model card field 'name' must not be empty")
        if self.card_version != CARD_VERSION:
            raise ModelCardError(
                f"model card version {self.card_version!r} is not supported "
                f"(this coffea-anomaly reads version {CARD_VERSION})"
            )
        if self.level not in _LEVELS:
            raise ModelCardError(
                f"model card level must be one of {', '.join(_LEVELS)}, not {self.level!r}"
            )
        if not isinstance(self.representation, RepresentationSpec):
            raise ModelCardError("model card 'representation' must be a RepresentationSpec")
        for attr in ("inputs", "outputs"):
            specs = tuple(getattr(self, attr))
            if not specs or not all(isinstance(s, TensorSpec) for s in specs):
                raise ModelCardError(f"model card '{attr}' must be a non-empty list of tensors")
            object.__setattr__(self, attr, specs)
        names = tuple(self.score_names)
        if not names:
            raise ModelCardError("model card 'score_names' must name at least one output")
        outs = [o.name for o in self.outputs]
        unknown = [n for n in names if n not in outs]
        if unknown:
            raise ModelCardError(
                f"model card score name(s) {', '.join(unknown)} are not outputs "
                f"(outputs: {', '.join(outs)})"
            )
        object.__setattr__(self, "score_names", names)
        for attr in ("training", "metrics", "background_quantiles", "selection"):
            value = _plain_json(getattr(self, attr), attr)
            if not isinstance(value, dict):
                raise ModelCardError(f"model card field '{attr}' must be a mapping")
            object.__setattr__(self, attr, value)
        for score_name, table in self.background_quantiles.items():
            _check_quantiles(score_name, table, names)
        if self.selection:
            want = "jet" if self.level == "jet" else "dijet"
            try:
                sel = selection_from_dict(self.selection)
            except ConfigError as err:
                raise ModelCardError(f"model card 'selection' is invalid: {err}") from err
            if sel.kind != want:
                raise ModelCardError(f"a {self.level}-level model card needs a {want} selection, not {sel.kind}")

    def score_keys(self, model_name: str) -> dict[str, str]:
        """How this model's scores are named in records, histograms and summaries.

        ``{"<model>": score}`` for a single-score model, ``{"<model>.<score>": score}`` for
        each score of a multi-score one: the one naming used by ``score()``, bundles, the
        processors and the runner.
        """
        if len(self.score_names) == 1:
            return {model_name: self.score_names[0]}
        return {f"{model_name}.{s}": s for s in self.score_names}

    @property
    def trained_selection(self) -> Selection | None:
        """The selection the model was trained with (None: the card does not record it)."""
        return selection_from_dict(self.selection) if self.selection else None

    @property
    def input(self) -> TensorSpec:
        """The input inference feeds (the first declared input)."""
        return self.inputs[0]

    def output(self, name: str) -> TensorSpec:
        """The declared output called ``name``."""
        for o in self.outputs:
            if o.name == name:
                return o
        raise ModelCardError(
            f"model '{self.name}' has no output {name!r} "
            f"(outputs: {', '.join(o.name for o in self.outputs)})"
        )

    def threshold(self, score_name: str, quantile: float) -> float:
        """Score value below which a fraction ``quantile`` of the training background lies.

        Interpolates linearly between the stored quantiles; ``threshold(s, 0.99)`` is the
        cut that keeps the least background-like 1 %.

        Raises:
            ModelCardError: no quantiles stored for ``score_name``, or ``quantile`` outside
                the stored range.
        """
        table = self.background_quantiles.get(score_name)
        if table is None:
            have = ", ".join(sorted(self.background_quantiles)) or "none"
            raise ModelCardError(
                f"model '{self.name}' stores no background quantiles for {score_name!r} "
                f"(stored: {have})"
            )
        q = np.asarray(table["q"], dtype=float)
        v = np.asarray(table["value"], dtype=float)
        if not q[0] <= quantile <= q[-1]:
            raise ModelCardError(
                f"quantile {quantile} is outside the range stored in the card of "
                f"'{self.name}' for {score_name!r} ([{q[0]}, {q[-1]}])"
            )
        return float(np.interp(quantile, q, v))

    def to_dict(self) -> dict[str, Any]:
        """The card as plain JSON-able dict (the exact form stored in the ONNX metadata)."""
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """Build a card from its dict form; a missing or unknown key is a ModelCardError."""
        if not isinstance(data, dict):
            raise ModelCardError(f"model card must be a JSON object, not {type(data).__name__}")
        required = [f.name for f in dataclasses.fields(cls) if _is_required(f)]
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelCardError(f"model card is missing field(s): {', '.join(missing)}")
        try:
            return config_from_dict(cls, data)
        except ConfigError as err:
            raise ModelCardError(f"invalid model card: {err}") from err

    def to_json(self) -> str:
        """The card as JSON text (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """Parse a card from JSON text."""
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ModelCardError(f"model card is not valid JSON: {err}") from err
        return cls.from_dict(data)


def _is_required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _check_quantiles(score_name: str, table: Any, score_names: tuple[str, ...]) -> None:
    where = f"background_quantiles[{score_name!r}]"
    if score_name not in score_names:
        raise ModelCardError(
            f"model card {where} names no score (scores: {', '.join(score_names)})"
        )
    if not isinstance(table, dict) or set(table) != {"q", "value"}:
        raise ModelCardError(f'model card {where} must be {{"q": [...], "value": [...]}}')
    q, v = table["q"], table["value"]
    if not isinstance(q, list) or not isinstance(v, list) or len(q) != len(v) or not q:
        raise ModelCardError(f"model card {where} needs non-empty 'q' and 'value' of equal length")
    if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (*q, *v)):
        raise ModelCardError(f"model card {where} must hold finite numbers")
    if any(not 0.0 <= x <= 1.0 for x in q) or any(b <= a for a, b in zip(q, q[1:])):
        raise ModelCardError(f"model card {where}: 'q' must increase strictly within [0, 1]")
    if any(b < a for a, b in zip(v, v[1:])):
        raise ModelCardError(f"model card {where}: 'value' must not decrease")


def read_model_file(path: str | Path) -> bytes:
    """The bytes of a model file, with one clear InputDataError when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as err:
        raise InputDataError(f"model file {path} does not exist") from err
    except IsADirectoryError as err:
        raise InputDataError(f"model path {path} is a directory, not an ONNX file") from err
    except OSError as err:
        raise InputDataError(f"cannot read model {path}: {err.strerror or err}") from err


def load_onnx(source: str | Path | bytes | onnx.ModelProto) -> onnx.ModelProto:
    """Load an ONNX model (external data not loaded) with one clear error when it is not one.

    Raises:
        InputDataError: the path does not exist or cannot be read.
        ModelCardError: the content is not an ONNX model.
    """
    if isinstance(source, onnx.ModelProto):
        return source
    what = "the given bytes" if isinstance(source, bytes) else str(source)
    data = source if isinstance(source, bytes) else read_model_file(source)
    try:
        model = onnx.load_from_string(data)
    except Exception as err:  # protobuf DecodeError and friends
        raise ModelCardError(f"{what} is not an ONNX model ({type(err).__name__})") from err
    # protobuf parses some arbitrary bytes as an empty message; a real model has a graph
    if model.ir_version <= 0 or not model.graph.output:
        raise ModelCardError(f"{what} is not an ONNX model (no graph)")
    return model


def read_card(
    source: str | Path | bytes | onnx.ModelProto, *, label: str | None = None
) -> ModelCard:
    """Read and validate the model card stored in an ONNX model (a path, bytes or proto).

    Args:
        source: the model.
        label: how messages name the model (default: the path, or "the given model").

    Raises:
        ModelCardError: not an ONNX model, no card, or an invalid card.
        InputDataError: the path cannot be read.
    """
    model = load_onnx(source)
    given = isinstance(source, (bytes, onnx.ModelProto))
    what = label or ("the given model" if given else str(source))
    for prop in model.metadata_props:
        if prop.key == CARD_KEY:
            try:
                return ModelCard.from_json(prop.value)
            except ModelCardError as err:
                raise ModelCardError(f"{what}: {err}") from err
    raise ModelCardError(
        f"{what} has no model card (ONNX metadata key '{CARD_KEY}'); "
        "export it with coffea-anomaly or add one with write_card()"
    )


def write_card(
    model: str | Path | onnx.ModelProto,
    card: ModelCard,
    out: str | Path | None = None,
) -> onnx.ModelProto:
    """Store ``card`` in ``model``'s metadata (replacing any older card) after checking it.

    The card's input and output names must be graph inputs/outputs and their ranks and
    fixed dimensions must agree with the graph's.

    Args:
        model: an ONNX ``ModelProto`` (modified in place) or a path to one.
        card: the card to store.
        out: where to save the model; defaults to ``model`` itself when it is a path, and
            to not saving when it is a proto.

    Returns:
        The model proto carrying the card.
    """
    proto = load_onnx(model)
    check_card_against_graph(card, proto)
    kept = [p for p in proto.metadata_props if p.key != CARD_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    proto.metadata_props.add(key=CARD_KEY, value=card.to_json())
    target = out if out is not None else (None if isinstance(model, onnx.ModelProto) else model)
    if target is not None:
        onnx.save(proto, str(target))
    return proto


def _graph_shapes(values: Any) -> dict[str, tuple[int | None, ...]]:
    shapes: dict[str, tuple[int | None, ...]] = {}
    for v in values:
        dims = v.type.tensor_type.shape.dim
        shapes[v.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims)
    return shapes


def check_card_against_graph(card: ModelCard, model: onnx.ModelProto) -> None:
    """Raise ModelCardError where the card's tensors disagree with the ONNX graph."""
    init_names = {i.name for i in model.graph.initializer}
    graph_in = _graph_shapes(v for v in model.graph.input if v.name not in init_names)
    graph_out = _graph_shapes(model.graph.output)
    checks = (("input", card.inputs, graph_in), ("output", card.outputs, graph_out))
    for kind, specs, graph in checks:
        for spec in specs:
            if spec.name not in graph:
                raise ModelCardError(
                    f"card of '{card.name}' declares {kind} '{spec.name}' but the graph's "
                    f"{kind}s are: {', '.join(graph) or 'none'}"
                )
            gshape = graph[spec.name]
            if not gshape:  # graph without shape information: nothing to compare
                continue
            agree = len(gshape) == len(spec.shape) and all(
                g is None or s is None or g == s for g, s in zip(gshape, spec.shape)
            )
            if not agree:
                raise ModelCardError(
                    f"card of '{card.name}' declares {kind} '{spec.name}' with shape "
                    f"{spec.shape_str()} but the graph has {format_shape(gshape)}"
                )
