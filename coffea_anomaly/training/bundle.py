"""QUAK bundles: several priors trained one by one, exported as **one** ONNX graph.

A bundle config names the priors (each an ordinary training config, e.g. one ``nfvae``
per sample: the QCD background, a two-prong and a three-prong signal) and the independent
background and signal samples the bundle is measured on::

    name: quak
    family: quak
    paper: quak_quasi_anomalous_knowledge
    priors:                      # output name -> training config (file or shipped name)
      background: quak_background
      wprime_2prong: quak_wprime_2prong
    test: {path: data/train/qcd_dijet_flat_test, label: qcd, selection: {...}}
    signals:
      - {path: data/train/wprime_3000_400_150, label: wprime3000, selection: {...}}

Every prior is trained exactly as ``coffea-anomaly train <its config>`` would (same
seed, same split; :func:`~coffea_anomaly.training.pipeline.fit_from_config`); then the
graph ``x -> (one loss per prior)`` is exported once, checked output by output against
each prior's own prediction, and written with a card whose outputs are named after the
priors and which lists each prior's training sample. The card's quantile table of every
output is measured on the bundle's background ``test`` sample (the data a QUAK space is
binned for), not on each prior's own sample.

The priors must share the level, the representation and the selection: one graph reads
one input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..config import config_from_dict, config_to_dict, load_yaml
from ..errors import ConfigError
from ..metrics import max_significance_improvement
from ..selection import selection_to_dict
from .data import load_inputs, sample_name
from .metrics import DEFAULT_QUANTILES, roc_auc, score_quantiles
from .onnx_io import check_parity, save_onnx
from .pipeline import (
    SIC_MIN_BACKGROUND_EFFICIENCY,
    Fitted,
    TrainingReport,
    _training_facts,
    fit_from_config,
    metric_name,
)
from .settings import SampleSpec, TrainingConfig, load_training_config, resolve_selection

__all__ = ["BundleConfig", "is_bundle_config", "load_bundle_config", "train_bundle"]


@dataclass(frozen=True)
class BundleConfig:
    """A QUAK bundle: priors (output name -> training config) and evaluation samples.

    Attributes:
        name: card name (shipped as ``<name>.onnx``).
        priors: output name -> path of the prior's training config, in output order.
        test: independent background sample: the card's quantiles and AUCs.
        signals: signal samples; each prior's loss gets an AUC against ``test``.
        paper: paper key for the card.
        family: model family for the card.
    """

    name: str
    priors: dict[str, str]
    test: SampleSpec
    signals: tuple[SampleSpec, ...] = ()
    paper: str = ""
    family: str = "quak"

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a bundle config needs a 'name'")
        if not self.priors:
            raise ConfigError("a bundle config needs at least one prior")
        bad = [k for k in self.priors if not k.isidentifier()]
        if bad:
            raise ConfigError(f"prior names must be identifiers (they name ONNX outputs): {', '.join(bad)}")


def is_bundle_config(path: str | Path) -> bool:
    """Whether the YAML file is a bundle config (it has a ``priors`` mapping)."""
    return isinstance(load_yaml(path).get("priors"), dict)


def _resolve(prior: str, base: Path) -> str:
    p = Path(prior)
    if p.is_absolute() and p.exists():
        return str(p)
    for candidate in (base / p, base / f"{prior}.yaml", p):
        if candidate.is_file():
            return str(candidate)
    from ..resources import config_path

    shipped = config_path("training", f"{prior}.yaml")
    if shipped.is_file():
        return str(shipped)
    raise ConfigError(f"prior config {prior!r}: not a file next to the bundle config, nor a shipped config")


def load_bundle_config(path: str | Path) -> BundleConfig:
    """Read a bundle config; prior configs are found next to it or among the shipped ones.

    Raises:
        ConfigError: unreadable YAML, unknown keys, missing prior configs.
    """
    data = load_yaml(path)
    priors = data.get("priors")
    if not isinstance(priors, dict):
        raise ConfigError(f"{path}: a bundle config needs a 'priors' mapping")
    base = Path(path).parent
    data = {**data, "priors": {str(k): _resolve(str(v), base) for k, v in priors.items()}}
    try:
        return config_from_dict(BundleConfig, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err


def _check_compatible(fits: dict[str, Fitted]) -> None:
    first_name, first = next(iter(fits.items()))
    for name, f in fits.items():
        for what, a, b in (
            ("level", f.cfg.level, first.cfg.level),
            ("representation", (f.rep.kind, f.rep.config), (first.rep.kind, first.rep.config)),
            ("selection", config_to_dict(f.cfg.train.selection), config_to_dict(first.cfg.train.selection)),
        ):
            if a != b:
                raise ConfigError(
                    f"priors {first_name!r} and {name!r} differ in their {what}; a bundle reads one input"
                )


class _Scorer:
    """The default score of each prior, by prior name (torch, numpy: each family's own)."""

    def __init__(self, fits: dict[str, Fitted]) -> None:
        self.fits = fits
        self.score_of = {}
        for name, f in fits.items():
            outs = [o for o in f.family.score_outputs(f.model, f.cfg.level) if o.score]
            self.score_of[name] = outs[0].name

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return {name: f.family.predict(f.model, x)[self.score_of[name]] for name, f in self.fits.items()}


def _export(fits: dict[str, Fitted], scorer: _Scorer, examples: np.ndarray) -> tuple[Any, float]:
    """One graph ``x -> one loss per prior``; needs torch families."""
    from ._torch import require_torch
    from .export import to_onnx

    torch = require_torch()
    names = list(fits)
    parts = torch.nn.ModuleDict({n: f.model for n, f in fits.items()})
    parts.item_shape = next(iter(fits.values())).model.item_shape

    def scores(module: Any, x: Any) -> tuple[Any, ...]:
        return tuple(fits[n].family.scores(module[n], x)[scorer.score_of[n]] for n in names)

    proto = to_onnx(parts, scores, names)
    return proto, check_parity(proto, scorer.predict(examples), examples)


def train_bundle(
    bundle: BundleConfig, out: str | Path, progress: bool | None = None, config_source: str = "",
    **loop_overrides: Any,
) -> TrainingReport:  # fmt: skip
    """Train every prior of ``bundle`` and export them as one ONNX graph with one card.

    Args:
        bundle: the bundle config.
        out: the ``.onnx`` path to write.
        progress: show progress bars (default: when stderr is a terminal).
        config_source: where the config came from (recorded in the card).
        **loop_overrides: replace fields of every prior's ``loop`` (``epochs``, ``seed``, ...).

    Raises:
        ConfigError: a prior config is invalid, or the priors do not share level,
            representation and selection.
        ExportError: the graph does not reproduce every prior's loss.
    """
    from ..inference.card import ModelCard, RepresentationSpec, TensorSpec

    start = time.monotonic()
    cfgs: dict[str, TrainingConfig] = {
        name: load_training_config(path, **loop_overrides) for name, path in bundle.priors.items()
    }
    fits: dict[str, Fitted] = {}
    for name, cfg in cfgs.items():
        if progress:
            print(f"prior {name}: training {cfg.name} on {cfg.train.path}", flush=True)
        fits[name] = fit_from_config(cfg, progress)
        _check_compatible(fits)
    first = next(iter(fits.values()))
    level, rep = first.cfg.level, first.rep
    test_spec = replace(bundle.test, selection=resolve_selection(bundle.test.selection, level))
    sig_specs = [replace(s, selection=resolve_selection(s.selection, level)) for s in bundle.signals]
    test = load_inputs(test_spec, rep, level, progress=progress)
    signals = [load_inputs(s, rep, level, progress=progress) for s in sig_specs]

    scorer = _Scorer(fits)
    s_bkg = scorer.predict(test.x)
    bkg_label = test_spec.label or "background"
    n = len(fits)
    metrics: dict[str, float] = {}
    for name, f in fits.items():
        metrics[f"val_loss_{name}"] = f.history.best_val_loss
        metrics[metric_name("loss", "test", "", name, n)] = float(np.average(s_bkg[name], weights=test.weights))
    signal_facts: dict[str, Any] = {}
    for spec, sig in zip(sig_specs, signals):
        label = spec.label or sample_name(spec.path)
        s_sig = scorer.predict(sig.x)
        for name in fits:
            metrics[metric_name("auc", label, bkg_label, name, n)] = roc_auc(
                s_sig[name], s_bkg[name], sig.weights, test.weights)  # fmt: skip
            metrics[metric_name("max_sic", label, bkg_label, name, n)] = max_significance_improvement(
                s_sig[name], s_bkg[name], sig.weights, test.weights, SIC_MIN_BACKGROUND_EFFICIENCY)[0]  # fmt: skip
        signal_facts[label] = {"sample": spec.path, "selection": config_to_dict(spec.selection), **sig.summary()}

    examples = np.concatenate([test.x[:48], *(s.x[:16] for s in signals)])
    proto, parity = _export(fits, scorer, examples)
    item_shape = tuple(test.x.shape[1:])
    outputs = []
    for name, f in fits.items():
        meaning = next(o.meaning for o in f.family.score_outputs(f.model, level) if o.name == scorer.score_of[name])
        outputs.append(TensorSpec(name, (None,), "float32",
                                  f"prior {name!r} ({f.cfg.model.kind}, trained on {f.cfg.train.path}): {meaning}"))  # fmt: skip
    priors_facts = {
        name: {"config": bundle.priors[name], "name": f.cfg.name, "score": scorer.score_of[name],
               **_training_facts(f.cfg, f.family, f.model, f.data, f.history)}  # fmt: skip
        for name, f in fits.items()
    }
    card = ModelCard(
        name=bundle.name,
        family=bundle.family,
        paper=bundle.paper,
        level=level,
        representation=RepresentationSpec(rep.kind, rep.config),
        selection=selection_to_dict(first.cfg.train.selection),
        inputs=(TensorSpec("x", (None, *item_shape), "float32"),),
        outputs=tuple(outputs),
        score_names=tuple(fits),
        training={
            "config": config_source,
            "priors": priors_facts,
            "test_sample": test_spec.path,
            "quantiles_and_losses_from": f"independent sample {test_spec.path} ({len(test.x)} {level}s)",
            "signals": signal_facts,
            "onnx_torch_max_rel_diff": parity,
            "package_version": __version__,
        },
        metrics=metrics,
        background_quantiles={
            name: {"q": list(DEFAULT_QUANTILES),
                   "value": score_quantiles(s_bkg[name], DEFAULT_QUANTILES, test.weights)}  # fmt: skip
            for name in fits
        },
    )
    path = Path(out)
    save_onnx(proto, path, card)
    history = first.history
    return TrainingReport(path, card, history, metrics, time.monotonic() - start)

