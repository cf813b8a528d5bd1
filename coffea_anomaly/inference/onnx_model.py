"""`OnnxModel`: an ONNX anomaly model behind coffea's ``numpy_call_wrapper`` interface.

The model reads its own card (Contract 3), builds its input from the card's representation
(Contract 2, ``coffea_anomaly.representations.registry.build_input``), checks the input
against the card, and runs onnxruntime in bounded-memory batches. It works on eager or
virtual awkward arrays and on dask-awkward arrays (mapped over partitions), and on plain
numpy input via :meth:`OnnxModel.score_numpy`.

The base class is :class:`~coffea_anomaly.inference.numpy_call.NumpyCallWrapper`, our own
class with the interface of ``coffea.ml_tools.numpy_call_wrapper`` (``prepare_awkward`` /
``validate_numpy_input`` / ``numpy_call`` / ``postprocess_awkward``). Inheriting from
coffea's would import ``coffea.ml_tools`` and with it torch, which scoring never needs:
importing, constructing, calling and unpickling an ``OnnxModel`` never imports torch.

One ``InferenceSession`` is kept per worker process, in a module-level cache keyed by the
model's sha256 and the session options. The session is never pickled: the model bytes
travel with the object and each process builds its session on first use.

Example:
    >>> model = OnnxModel("image_cnn_ae", batch_size=1024)       # doctest: +SKIP
    >>> scores = model(events.FatJet, constituents)             # doctest: +SKIP
    >>> scores.type   # events x jets, one float per jet          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import onnx

from ..errors import InputDataError, ModelCardError, ShapeMismatchError
from ..representations._dask import is_dask, map_eager
from .card import (
    ModelCard,
    TensorSpec,
    check_card_against_graph,
    format_shape,
    load_onnx,
    read_card,
    read_model_file,
)
from .numpy_call import NumpyCallWrapper

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "InputBuilder",
    "OnnxModel",
    "SessionSettings",
    "default_providers",
    "model_bytes",
]

#: Items (jets or events) per onnxruntime call unless told otherwise.
DEFAULT_BATCH_SIZE = 4096

#: ``builder(jets, constituents) -> np.ndarray`` (n_items, ...) overriding the card's
#: representation, for models whose input coffea-anomaly does not know how to build.
InputBuilder = Callable[[Any, Any], np.ndarray]


def model_bytes(source: str | Path | bytes | onnx.ModelProto) -> tuple[bytes, str]:
    """Return the serialised model and a label for messages.

    ``source`` is a path, the model's bytes, a ``ModelProto`` or the name of a shipped model
    (``coffea_anomaly.resources.shipped_models()``).

    Raises:
        InputDataError: the path does not exist and names no shipped model.
    """
    if isinstance(source, bytes):
        return source, "<bytes>"
    if isinstance(source, onnx.ModelProto):
        return source.SerializeToString(), f"<model {source.graph.name}>"
    path = Path(source)
    if not path.exists() and path.suffix != ".onnx" and path.name == str(source):
        from ..resources import model_path, shipped_models

        shipped = model_path(str(source))
        if not shipped.exists():
            known = ", ".join(shipped_models()) or "none"
            raise InputDataError(
                f"model {source!r} is neither a file nor a shipped model (shipped: {known})"
            )
        path = shipped
    return read_model_file(path), str(path)


def default_providers() -> tuple[str, ...]:
    """CUDA then CPU when onnxruntime has the CUDA provider, else CPU only."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return ("CUDAExecutionProvider", "CPUExecutionProvider")
    return ("CPUExecutionProvider",)


@dataclass(frozen=True)
class SessionSettings:
    """onnxruntime session options; part of the per-process session cache key.

    Args:
        intra_op_threads: threads inside one operator (0 = onnxruntime's default).
        inter_op_threads: threads across operators (0 = onnxruntime's default).
        providers: execution providers in order of preference; empty = :func:`default_providers`.
    """

    intra_op_threads: int = 0
    inter_op_threads: int = 0
    providers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("intra_op_threads", "inter_op_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, not {value!r}")
        object.__setattr__(self, "providers", tuple(self.providers))


# one session per (model sha256, settings) in each process; never pickled
_SESSIONS: dict[tuple[str, SessionSettings], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(sha256: str, data: bytes, settings: SessionSettings) -> Any:
    key = (sha256, settings)
    session = _SESSIONS.get(key)
    if session is not None:
        return session
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = settings.intra_op_threads
            options.inter_op_num_threads = settings.inter_op_threads
            options.log_severity_level = 3  # errors only; warnings would go to stderr per chunk
            providers = list(settings.providers or default_providers())
            session = ort.InferenceSession(data, sess_options=options, providers=providers)
            _SESSIONS[key] = session
    return session


@dataclass(frozen=True)
class _BuildInput:
    """Picklable ``(jets, constituents) -> input`` from the card's representation.

    Eager input gives a numpy array; dask-awkward input a lazy array with one regular
    entry per item (the registry reads only the columns it needs; a custom builder runs
    per partition on all the columns it is given).
    """

    kind: str
    config: dict[str, Any]
    custom: InputBuilder | None = None

    def __call__(self, jets: Any, constituents: Any) -> Any:
        lazy = is_dask(jets)
        if self.custom is not None:
            if lazy:
                return map_eager(self.custom, jets, constituents, label="build-input-custom")
            return np.asarray(self.custom(jets, constituents))
        from ..representations.registry import build_input

        x = build_input(self.kind, self.config, jets, constituents)
        return x if lazy else np.asarray(x)


def _unflatten_like(values: ak.Array, jets: ak.Array) -> ak.Array:
    """Give flat per-jet ``values`` the events x jets structure of ``jets``."""
    return ak.unflatten(values, ak.num(jets, axis=1))


class OnnxModel(NumpyCallWrapper):
    """An ONNX model with a coffea-anomaly card, callable on awkward, dask-awkward or numpy.

    Calling the model on ``(jets, constituents)`` builds the card's representation and
    returns one score per jet, aligned with ``jets`` (events x jets when ``jets`` is jagged,
    flat when it is flat), or one per event for ``level="event"`` models. A model with
    several score outputs returns a record with one field per score name.

    Args:
        model: a path, the model's bytes, an ``onnx.ModelProto`` or a shipped model name.
        batch_size: items per onnxruntime call; bounds the memory the graph uses.
        intra_op_threads: onnxruntime threads within an operator (0: its default).
        inter_op_threads: onnxruntime threads across operators (0: its default).
        providers: execution providers; default CUDA when available, else CPU.
        input_builder: ``f(jets, constituents) -> np.ndarray`` used instead of the card's
            representation (for custom inputs); must be picklable for Dask.

    Raises:
        ModelCardError: no card, an invalid card, or a card that disagrees with the graph.
        InputDataError: the model cannot be read.
    """

    def __init__(
        self,
        model: str | Path | bytes | onnx.ModelProto,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        intra_op_threads: int = 0,
        inter_op_threads: int = 0,
        providers: Sequence[str] | None = None,
        input_builder: InputBuilder | None = None,
    ) -> None:
        super().__init__()
        data, label = model_bytes(model)
        proto = load_onnx(data)
        if any(
            t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer
        ):
            raise ModelCardError(
                f"{label} keeps weights in external data files; save it as one ONNX file"
            )
        card = read_card(proto, label=label)
        try:
            check_card_against_graph(card, proto)
        except ModelCardError as err:
            raise ModelCardError(f"{label}: {err}") from err
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        self.card: ModelCard = card
        self.source: str = label
        self.sha256: str = hashlib.sha256(data).hexdigest()
        self.batch_size: int = batch_size
        self.settings = SessionSettings(intra_op_threads, inter_op_threads, tuple(providers or ()))
        self._model_bytes = data
        rep = card.representation
        self._build = _BuildInput(rep.kind, rep.config, input_builder)
        self._session: Any = None

    # -- identity -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The model's name from its card."""
        return self.card.name

    @property
    def needs_constituents(self) -> bool:
        """True when the input is built from constituents: every card representation;
        a custom ``input_builder`` says nothing, so it gets what the caller gives."""
        return self._build.custom is None

    @property
    def level(self) -> str:
        """``"jet"`` or ``"event"``."""
        return self.card.level

    @property
    def score_names(self) -> tuple[str, ...]:
        """Names of the score outputs, in card order."""
        return self.card.score_names

    def __repr__(self) -> str:
        return (
            f"OnnxModel({self.name!r}, level={self.level!r}, "
            f"input={self.card.input.shape_str()}, scores={list(self.score_names)}, "
            f"sha256={self.sha256[:12]})"
        )

    # -- session ------------------------------------------------------------------------
    @property
    def session(self) -> Any:
        """This process's onnxruntime session for the model (created on first use)."""
        if self._session is None:
            self._session = _session(self.sha256, self._model_bytes, self.settings)
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # without the cached dask.delayed(self)
        state["_session"] = None  # sessions do not pickle; each process makes its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        # identity for dask graph keys without hashing the model bytes again
        return ("OnnxModel", self.sha256, self.settings, self.batch_size, self._build)

    # -- numpy --------------------------------------------------------------------------
    def validate_numpy_input(self, x: np.ndarray) -> None:  # type: ignore[override]
        """Check ``x`` against the card's input (rank, fixed dimensions, castable dtype).

        Raises:
            ShapeMismatchError: naming the model's and the data's shapes or dtypes.
        """
        spec: TensorSpec = self.card.input
        x = np.asarray(x)
        shape_ok = x.ndim == len(spec.shape) and all(
            d is None or d == s for d, s in zip(spec.shape[1:], x.shape[1:])
        )
        if not shape_ok:
            raise ShapeMismatchError(
                f"model '{self.name}' expects input '{spec.name}' of shape {spec.shape_str()} "
                f"but got {format_shape(x.shape)}"
            )
        if not np.can_cast(x.dtype, spec.dtype, casting="same_kind"):
            raise ShapeMismatchError(
                f"model '{self.name}' expects input '{spec.name}' of dtype {spec.dtype} "
                f"but got {x.dtype}, which does not convert safely"
            )

    def numpy_call(self, x: np.ndarray) -> dict[str, np.ndarray]:  # type: ignore[override]
        """Run the model on a validated input in batches of :attr:`batch_size`."""
        spec = self.card.input
        x = np.ascontiguousarray(x, dtype=spec.dtype)
        n = len(x)
        names = list(self.score_names)
        if n == 0:
            return {
                name: np.zeros(
                    (0, *(d or 1 for d in self.card.output(name).shape[1:])),
                    dtype=self.card.output(name).dtype,
                )
                for name in names
            }
        session = self.session
        pieces: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for start in range(0, n, self.batch_size):
            batch = x[start : start + self.batch_size]
            results = session.run(names, {spec.name: batch})
            for name, result in zip(names, results):
                if result.ndim == 0 or len(result) != len(batch):
                    raise ShapeMismatchError(
                        f"model '{self.name}' output '{name}' has shape "
                        f"{format_shape(result.shape)} for a batch of {len(batch)}; "
                        f"the card declares {self.card.output(name).shape_str()}"
                    )
                pieces[name].append(result)
        return {
            name: parts[0] if len(parts) == 1 else np.concatenate(parts)
            for name, parts in pieces.items()
        }

    def score_numpy(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Scores of a ready-made model input ``x`` (n_items, ...): ``{score_name: array}``.

        Raises:
            ShapeMismatchError: ``x`` does not match the card's input.
        """
        return self._call_numpy(np.asarray(x))  # type: ignore[no-any-return]

    def build_input(self, jets: Any, constituents: Any = None) -> Any:
        """The model input built from the card's representation (numpy; lazy for dask)."""
        return self._build(jets, constituents)

    # -- awkward / dask-awkward ------------------------------------------------------------
    def prepare_awkward(  # type: ignore[override]
        self, jets: Any, constituents: Any = None
    ) -> tuple[tuple[Any], dict[str, Any]]:
        """Build the representation: eagerly, or per partition for dask-awkward input."""
        if is_dask(jets):
            return (self._build(jets, constituents),), {}
        x = self._build(jets, constituents)
        expected = self._n_items(jets)
        if len(x) != expected:
            unit = "events" if self.level == "event" else "jets"
            raise ShapeMismatchError(
                f"representation '{self.card.representation.kind}' built {len(x)} inputs "
                f"for {expected} {unit} (model '{self.name}')"
            )
        return (ak.from_numpy(x),), {}

    def _n_items(self, jets: Any) -> int:
        if self.level == "event" or jets.ndim == 1:
            return len(jets)
        return int(ak.sum(ak.num(jets, axis=1)))

    def postprocess_awkward(  # type: ignore[override]
        self, return_array: Any, jets: Any, constituents: Any = None
    ) -> Any:
        """Align the scores with ``jets`` (events x jets) or events; zip several scores."""
        scores = (
            dict(return_array)
            if isinstance(return_array, dict)
            else {self.score_names[0]: return_array}
        )
        if self.level == "jet" and jets.ndim > 1:
            if is_dask(jets):
                import dask_awkward as dak

                scores = {
                    k: dak.map_partitions(_unflatten_like, v, jets, label="align_with_jets")
                    for k, v in scores.items()
                }
            else:
                scores = {k: _unflatten_like(v, jets) for k, v in scores.items()}
        if len(self.score_names) == 1:
            return scores[self.score_names[0]]
        if is_dask(jets):
            import dask_awkward as dak

            return dak.zip(scores)
        return ak.zip(scores)

    def __call__(self, jets: Any, constituents: Any = None) -> Any:
        """Scores for ``jets`` (+ ``constituents``): awkward, dask-awkward or numpy input.

        With a numpy array the input is taken as the ready-made model input (see
        :meth:`score_numpy`).
        """
        if isinstance(jets, np.ndarray):
            return self.score_numpy(jets)
        if constituents is None:
            return super().__call__(jets)
        return super().__call__(jets, constituents)
