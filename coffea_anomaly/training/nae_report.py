"""Symmetric tagging (NAE paper, §3, Fig. 4) and the NAE's training-health curves.

Torch-free: the models run in onnxruntime through :func:`coffea_anomaly.score` (via
:func:`~coffea_anomaly.training.evaluate.evaluate_model` with ``through_score=True``: the
numbers an analyst gets in a processor), the ROC and 1/ε_B in numpy.

* :func:`symmetric_tagging` — for every model pair (one trained on QCD, one on tops): tops
  tagged in QCD and QCD tagged in tops; one figure with a panel per direction, ROC curves
  as 1/ε_B against ε_S, and a JSON with AUC and 1/ε_B(ε_S = 0.2) per model and direction.
  With them, a model-free yardstick (:data:`REFERENCE`): the energy of an autoencoder that
  reconstructs nothing, the mean squared pixel of the image. QCD jets are peakier than tops,
  so this one observable already tags QCD in tops (AUC 0.86 on our 40×40 test images) and,
  with the same sign, cannot tag tops in QCD (AUC 0.14): a model's QCD-in-tops number means
  something only above it.
* :func:`plot_energy_curves` — positive and negative energies per epoch of an NAE/WNAE
  model, read from its card's training history (with the collapse flags).

Example:
    >>> result = symmetric_tagging(                                     # doctest: +SKIP
    ...     {"AE": ("models/image_cnn_ae.onnx", "ae_top.onnx"),
    ...      "NAE": ("models/nae_qcd.onnx", "models/nae_top.onnx")},
    ...     qcd="data/train/nae_qcd_test", top="data/train/nae_top_test", out_dir="report")
    >>> result["NAE"]["qcd_in_top"]["auc"]                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..plotting.style import styled

__all__ = ["DIRECTIONS", "PAPER_NUMBERS", "REFERENCE", "empty_reconstruction_energy", "plot_energy_curves",
           "symmetric_tagging"]

#: direction -> (what it tags, in what): the first model of a pair is trained on QCD
DIRECTIONS = {"top_in_qcd": ("top", "qcd"), "qcd_in_top": ("qcd", "top")}

#: the paper's Fig. 4 table: AUC and 1/ε_B at ε_S = 0.2 (the AE is the NAE's pre-training)
PAPER_NUMBERS = {
    "AE": {"top_in_qcd": {"auc": 0.875, "rejection": 68.0}, "qcd_in_top": {"auc": 0.579, "rejection": 12.0}},
    "NAE": {"top_in_qcd": {"auc": 0.914, "rejection": 80.0}, "qcd_in_top": {"auc": 0.89, "rejection": 350.0}},
}


#: label of the model-free yardstick in the results of :func:`symmetric_tagging`
REFERENCE = "no model: mean pixel²"


def empty_reconstruction_energy(images: np.ndarray) -> np.ndarray:
    """Per-image MSE of a reconstruction that is all zeros, the mean squared pixel.

    For images that sum to one it measures how concentrated the energy is: high for a
    single hard prong (QCD), lower for three (tops). The yardstick of :func:`symmetric_tagging`.
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"empty_reconstruction_energy needs images (n, ...pixels), got shape {x.shape}")
    return (x**2).mean(axis=tuple(range(1, x.ndim)))


def _spec(sample: Any, label: str, truth_match: bool, model_path: str | Path) -> Any:
    """A SampleSpec for a path (the model's training selection; tops truth-matched)."""
    import dataclasses

    from .evaluate import training_selection
    from .settings import SampleSpec

    if hasattr(sample, "selection"):
        return sample
    sel = training_selection(model_path)
    if hasattr(sel, "truth_match"):
        sel = dataclasses.replace(sel, truth_match=truth_match)
    return SampleSpec(path=str(sample), selection=sel, label=label)


def symmetric_tagging(
    models: Mapping[str, tuple[str | Path | None, str | Path | None]],
    qcd: Any,
    top: Any,
    out_dir: str | Path | None = None,
    *,
    eps_s: float = 0.2,
    progress: bool | None = None,
    reference: bool = True,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Tag tops in QCD and QCD in tops with each model pair; ROC figure and numbers.

    Args:
        models: legend label -> (model trained on QCD, model trained on tops), ``.onnx``
            paths, e.g. ``{"AE": (ae_qcd, ae_top), "NAE": (nae_qcd, nae_top), "WNAE":
            (wnae_qcd, None)}`` (None: no model for that direction).
        qcd, top: the QCD and top samples (independent of the training samples): a
            folder/fileset path, or a :class:`~coffea_anomaly.training.settings.SampleSpec`.
            A path gets the scoring model's training selection, tops truth-matched.
        out_dir: where ``symmetric_tagging.png`` and ``symmetric_tagging.json`` go (None:
            no files).
        eps_s: the working point of the background rejection (0.2 in the paper).
        progress: progress bars while reading (default: when stderr is a terminal).
        reference: add :data:`REFERENCE` (:func:`empty_reconstruction_energy` of the
            images of the first image model of each direction, the same selection): the
            same score in both directions, so its two AUCs add up to one.

    Returns:
        label -> direction (``top_in_qcd``, ``qcd_in_top``; those with a model) -> ``auc``, ``rejection``
        (1/ε_B at ``eps_s``), ``n_signal``, ``n_background``, ``model``, ``fpr``, ``tpr``; the
        yardstick last, under :data:`REFERENCE` (``model`` None, ``representation_of`` the model
        whose images it read).
    """
    from .evaluate import evaluate_model

    if not models:
        raise ValueError("symmetric_tagging needs at least one model pair")
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for name, (on_qcd, on_top) in models.items():
        result[name] = {}
        for direction, model in (("top_in_qcd", on_qcd), ("qcd_in_top", on_top)):
            if model is None:  # a model trained in one direction only (e.g. a WNAE on QCD)
                continue
            if direction == "top_in_qcd":
                sig, bkg = _spec(top, "top", True, model), _spec(qcd, "qcd", False, model)
            else:
                sig, bkg = _spec(qcd, "qcd", False, model), _spec(top, "top", True, model)
            ev = evaluate_model(model, sig, bkg, None, progress, through_score=True)
            first = next(iter(ev.aucs))
            s, b = ev.signal_scores[first], ev.background_scores[first]
            result[name][direction] = {"model": str(model), **_roc_numbers(s, b, ev.signal_weights,
                                                                            ev.background_weights, eps_s)}
            if reference and direction not in result.get(REFERENCE, {}):
                ref = _reference(model, sig, bkg, eps_s, progress)
                if ref is not None:
                    result.setdefault(REFERENCE, {})[direction] = ref
    if REFERENCE in result:  # last, so that the models keep their colours
        result[REFERENCE] = result.pop(REFERENCE)
    if out_dir is not None:
        out = Path(out_dir)
        _plot_symmetric(result, out / "symmetric_tagging.png", eps_s)
        from ..fileio import write_json

        write_json(out / "symmetric_tagging.json", {
            "eps_s": eps_s, "scored_with": "coffea_anomaly.score",
            "models": {n: {d: {k: v for k, v in r.items() if k not in ("fpr", "tpr")} for d, r in dirs.items()}
                       for n, dirs in result.items()},
            "paper": PAPER_NUMBERS,
        })  # fmt: skip
    return result


def _roc_numbers(s: np.ndarray, b: np.ndarray, ws: np.ndarray | None, wb: np.ndarray | None,
                 eps_s: float) -> dict[str, Any]:  # fmt: skip
    """AUC, 1/ε_B at ``eps_s``, the ROC and the sample sizes of signal scores ``s`` against ``b``."""
    from ..metrics import background_rejection_at
    from .metrics import roc_auc, roc_curve

    fpr, tpr, _ = roc_curve(s, b, ws, wb)
    return {"auc": float(roc_auc(s, b, ws, wb)), "rejection": float(background_rejection_at(s, b, eps_s, ws, wb)),
            "n_signal": len(s), "n_background": len(b), "fpr": fpr, "tpr": tpr}  # fmt: skip


def _reference(model: str | Path, sig: Any, bkg: Any, eps_s: float, progress: bool | None) -> dict[str, Any] | None:
    """:data:`REFERENCE` on the images ``model`` reads (None for a model that does not read images)."""
    from ..inference.card import read_card
    from .data import load_inputs
    from .settings import RepresentationChoice

    card = read_card(model)
    if card.representation.kind != "jet_image":
        return None
    rep = RepresentationChoice(card.representation.kind, dict(card.representation.config))
    s, b = (load_inputs(spec, rep, card.level, progress=progress) for spec in (sig, bkg))
    return {"model": None, "representation_of": str(model),
            **_roc_numbers(empty_reconstruction_energy(s.x), empty_reconstruction_energy(b.x), s.weights,
                           b.weights, eps_s)}  # fmt: skip


@styled
def _plot_symmetric(result: dict[str, dict[str, dict[str, Any]]], path: Path, eps_s: float) -> Path:
    from ..plotting.style import new_figure, save

    fig, axes = new_figure(ncols=2, figsize=(17, 10), gridspec_kw={"wspace": 0.3})
    titles = {"top_in_qcd": "tops in QCD (trained on QCD)", "qcd_in_top": "QCD in tops (trained on tops)"}
    for ax, direction in zip(axes, DIRECTIONS, strict=True):
        for i, (name, dirs) in enumerate(result.items()):
            if direction not in dirs:
                continue
            r = dirs[direction]
            keep = r["fpr"] > 0
            rej = f"= {r['rejection']:.0f}" if np.isfinite(r["rejection"]) else f"> {r['n_background']}"
            ax.plot(r["tpr"][keep], 1.0 / r["fpr"][keep], color="dimgrey" if name == REFERENCE else f"C{i}",
                    ls="-." if name == REFERENCE else "--" if name.upper().startswith("AE") else "-",
                    label=f"{name}: AUC {r['auc']:.3f}, $1/\\epsilon_B$({eps_s:g}) {rej}")  # fmt: skip
        grid = np.linspace(0.01, 1, 100)
        ax.plot(grid, 1.0 / grid, ls=":", color="grey", label="random")
        ax.axvline(eps_s, color="grey", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_title(titles[direction], fontsize="small")
        ax.set_xlabel(r"signal efficiency $\epsilon_S$")
        ax.set_ylabel(r"background rejection $1/\epsilon_B$")
        ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    return save(fig, path)


@styled
def plot_energy_curves(model_path: str | Path, path: str | Path) -> Path:
    """Positive and negative energies per energy-phase epoch of an NAE/WNAE model.

    Read from the card's history (``training.phases``; energies in units of the mean
    validation energy after pre-training): training means (lines) and the validation
    probe (markers), the kept epoch, and every epoch flagged as a sampler collapse.
    """
    from ..inference.card import read_card
    from ..plotting.style import new_figure, save

    card = read_card(model_path)
    phase = next((p for p in reversed(card.training.get("phases", [])) if "e_pos" in p.get("val", {})), None)
    if phase is None:
        raise ValueError(f"{model_path} has no energy phase with e_pos/e_neg in its history")
    fig, (ax, bx) = new_figure(nrows=2, sharex=True, height_ratios=[3, 1], figsize=(9, 9))
    epochs = np.arange(1, len(phase["val"]["e_pos"]) + 1)
    for key, color, text in (("e_pos", "C0", "positive (data)"), ("e_neg", "C3", "negative (samples)")):
        if key in phase["train"]:
            ax.plot(epochs, phase["train"][key], color=color, label=f"{text}, training mean")
        ax.plot(epochs, phase["val"][key], "o", color=color, mfc="none", label=f"{text}, validation probe")
    flagged = [e for e, c in zip(epochs, phase["val"].get("collapse", []), strict=False) if c > 0]
    for e in flagged:
        ax.axvspan(e - 0.5, e + 0.5, color="orange", alpha=0.3, lw=0)
    if phase.get("best_epoch"):
        ax.axvline(phase["best_epoch"], color="black", ls="--", lw=1, label=f"kept epoch {phase['best_epoch']}")
    ax.set_yscale("log")
    ax.set_ylabel(r"energy / $E_0$")
    e0 = phase.get("initial_val", {}).get("e0")
    ax.set_title(f"{card.name}: {phase['name']} phase, stop: {phase['stop_reason']}"
                 + (f", collapse flagged at {flagged}" if flagged else "")
                 + "\n" + r"$E_0$ = mean validation MSE after pre-training" + (f" = {e0:.3g}" if e0 else ""),
                 fontsize="small")  # fmt: skip
    ax.legend(fontsize="x-small")
    what = r"Wasserstein distance / $E_0$" if phase["name"] == "wasserstein" else r"$(E^+ - E^-)/(T E_0)$"
    bx.plot(epochs, phase["val"]["loss"], "k.-", label=f"validation loss: {what}")
    bx.axhline(0, color="grey", lw=0.8)
    bx.set_xlabel("energy-phase epoch")
    bx.set_ylabel("loss")
    bx.legend(fontsize="x-small")
    return save(fig, path)
