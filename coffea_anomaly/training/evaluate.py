"""Score labelled samples with an exported model and measure how well it separates them.

Torch-free: the model runs in onnxruntime through
:class:`~coffea_anomaly.inference.onnx_model.OnnxModel` (which checks the input against the
card), its input is built from its own card (representation kind and config) by the
training data reader, and the ROC/AUC is computed in numpy. This is what
``coffea-anomaly evaluate`` calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..plotting.style import styled
from .metrics import roc_auc, roc_curve

__all__ = ["Evaluation", "evaluate_model", "evaluate_models", "figures_of_merit", "plot_roc", "plot_sculpting",
           "sample_name", "seed_spread", "training_selection"]

#: ε_B floor of the maximum significance improvement (below it ε_B is statistical noise)
SIC_FLOOR = 1e-3
#: least background-like fractions whose background mass shape is compared with the full one
SCULPT_FRACTIONS = (0.05, 0.01)


def figures_of_merit(
    signal: np.ndarray, background: np.ndarray, signal_weights: np.ndarray | None = None,
    background_weights: np.ndarray | None = None, background_mass: np.ndarray | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The papers' figures of merit of one score (larger = more anomalous).

    Returns:
        ``auc``; ``rejection_at_eps_s_0.2`` (1/ε_B at ε_S = 0.2); ``e10``, ``e100`` (ε_S at
        ε_B = 10 %, 1 %: Farina et al.'s E10, E100); ``max_sic`` with its ``eps_s``,
        ``eps_b`` and the ``eps_b_floor``; with the background masses, ``jsd_top_0.05`` and
        ``jsd_top_0.01`` (base-2 Jensen–Shannon divergence of the background mass shape of
        the 5 % / 1 % least background-like items against all, 30 equal bins) and
        ``mean_mass_by_score_decile`` (most background-like decile first).
    """
    from ..metrics import (background_rejection_at, mass_by_score_quantile, mass_sculpting_jsd,
                           max_significance_improvement, signal_efficiency_at)  # fmt: skip

    ws, wb = signal_weights, background_weights
    sic, eps_s, eps_b = max_significance_improvement(signal, background, ws, wb, SIC_FLOOR)
    out: dict[str, Any] = {
        "auc": roc_auc(signal, background, ws, wb),
        "rejection_at_eps_s_0.2": background_rejection_at(signal, background, 0.2, ws, wb),
        "e10": signal_efficiency_at(signal, background, 0.1, ws, wb),
        "e100": signal_efficiency_at(signal, background, 0.01, ws, wb),
        "max_sic": {"value": sic, "eps_s": eps_s, "eps_b": eps_b, "eps_b_floor": SIC_FLOOR},
    }
    if background_mass is not None:
        for f in SCULPT_FRACTIONS:
            out[f"jsd_top_{f:g}"] = mass_sculpting_jsd(background_mass, background, f, weights=wb)
        out["mean_mass_by_score_decile"] = mass_by_score_quantile(background_mass, background, 10, wb)
    return out


@dataclass
class Evaluation:
    """Result of :func:`evaluate_model`.

    Attributes:
        aucs: score name -> area under the ROC curve (signal vs background; larger score
            = signal), for every score the model returns, in the card's order.
        n_signal, n_background: items scored.
        signal_scores, background_scores: score name -> the scores.
        signal_weights, background_weights: per-item weights used (None: unweighted).
        roc_png: where the ROC plot was written (None: not written).
        json_path: where ``evaluation.json`` was written (None: not written).
        signal_name, background_name: the samples' names (plot legend, JSON).
        merits: score name -> :func:`figures_of_merit`.
        background_mass: the background items' jet mass (``m_jj`` for event-level models).
        model_name: the card's name.
    """

    aucs: dict[str, float]
    n_signal: int
    n_background: int
    signal_scores: dict[str, np.ndarray]
    background_scores: dict[str, np.ndarray]
    signal_weights: np.ndarray | None = None
    background_weights: np.ndarray | None = None
    roc_png: Path | None = None
    json_path: Path | None = None
    signal_name: str = "signal"
    background_name: str = "background"
    merits: dict[str, dict[str, Any]] | None = None
    background_mass: np.ndarray | None = None
    model_name: str = ""

    @property
    def auc(self) -> float:
        """The AUC of the model's first (default) score."""
        return next(iter(self.aucs.values()))


def training_selection(model_path: str | Path, **changes: Any) -> Any:
    """The selection a model was trained with (from its card), with some options changed.

    Args:
        model_path: the ``.onnx`` file.
        **changes: selection options to replace (None values are ignored), e.g.
            ``pt_min=500``.

    Returns:
        a :class:`~coffea_anomaly.selection.JetSelection` or
        :class:`~coffea_anomaly.selection.DijetSelection` (the level's defaults when the
        card records none).
    """
    import dataclasses

    from ..inference.card import read_card
    from .settings import resolve_selection

    card = read_card(model_path)
    sel = card.trained_selection or resolve_selection({}, card.level)
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        return dataclasses.replace(sel, **changes) if changes else sel
    except TypeError as err:
        from ..errors import ConfigError

        raise ConfigError(f"the {sel.kind} selection of {card.name!r} has no option: {err}") from err


def sample_name(spec: Any) -> str:
    """A short name for a sample: its ``label`` unless generic, else from its path
    (``.../top_jets/fileset.json`` and ``.../top_jets/`` give ``top_jets``, ``a.root`` gives ``a``)."""
    from .data import sample_name as path_name

    if getattr(spec, "label", "") and spec.label not in ("signal", "background"):
        return str(spec.label)
    return path_name(getattr(spec, "path", spec))


def _sample_facts(spec: Any, name: str, n: int) -> dict[str, Any]:
    from ..selection import selection_to_dict

    sel = spec.selection
    return {"name": name, "path": spec.path if isinstance(spec.path, tuple) else str(spec.path), "items": n, "max_items": spec.max_items,
            "weighted": spec.weighted,
            "selection": selection_to_dict(sel) if hasattr(sel, "kind") else dict(sel or {})}


@styled
def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path, *,
             signal_name: str | None = None, background_name: str | None = None) -> Path:
    """Plot ROC curves as background rejection 1/eps_B against signal efficiency eps_S.

    Args:
        curves: legend label -> (fpr, tpr).
        path: PNG to write.
        signal_name, background_name: the samples' names, shown as the legend title
            ("signal: S, background: B").
    """
    from ..plotting.style import label, new_figure, save

    fig, ax = new_figure()
    for name, (fpr, tpr) in curves.items():
        keep = fpr > 0
        ax.plot(tpr[keep], 1.0 / fpr[keep], label=name)
    ax.plot(np.linspace(0.01, 1, 100), 1.0 / np.linspace(0.01, 1, 100), ls=":", color="grey",
            label="random")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel(r"signal efficiency $\epsilon_S$")
    ax.set_ylabel(r"background rejection $1/\epsilon_B$")
    names = [f"{what}: {n}" for what, n in (("signal", signal_name), ("background", background_name)) if n]
    longest = max([len(n) for n in (*curves, *names)] or [0])
    size = "small" if longest <= 36 else "x-small" if longest <= 52 else "xx-small"
    ax.legend(title="\n".join(names) or None, fontsize=size, title_fontsize=size, loc="upper right")
    label(ax)
    return save(fig, path)


def evaluate_model(
    model_path: str | Path,
    signal: Any,
    background: Any,
    out_dir: str | Path | None = None,
    progress: bool | None = None,
    *,
    signal_name: str | None = None,
    background_name: str | None = None,
    through_score: bool = False,
) -> Evaluation:
    """Score a signal and a background sample with an exported model; AUCs and ROC plot.

    Every score the model returns is evaluated (one AUC and one ROC curve each).

    The input representation and its config come from the model's card; the samples are
    read and selected exactly as in training (:func:`coffea_anomaly.training.data.load_inputs`).

    Args:
        model_path: the ``.onnx`` file (with its model card).
        signal: a :class:`~coffea_anomaly.training.settings.SampleSpec` for the signal.
        background: a :class:`~coffea_anomaly.training.settings.SampleSpec` for the background.
        out_dir: folder for ``roc.png`` and ``evaluation.json`` (None: neither is written).
            ``evaluation.json`` holds the AUC per score, ``n_signal``, ``n_background``, the
            model (name, path, sha256) and both samples (name, path, selection).
        progress: show progress bars (default: when stderr is a terminal).
        signal_name, background_name: names for the plot and the JSON (default:
            :func:`sample_name` of each sample).
        through_score: score with :func:`coffea_anomaly.score` on the selected NanoEvents
            jets (what a user's processor gets) instead of the model on the built inputs.

    Raises:
        ModelCardError: the model has no valid card, or its input does not match the data.
        InputDataError: unreadable samples, or nothing selected.
    """
    from ..inference.onnx_model import OnnxModel
    from .data import load_inputs
    from .settings import RepresentationChoice

    model = OnnxModel(model_path)
    card = model.card
    rep = RepresentationChoice(card.representation.kind, dict(card.representation.config))
    scores: dict[str, tuple[dict[str, np.ndarray], np.ndarray | None]] = {}
    mass_key = "mass" if card.level == "jet" else "mjj"
    bkg_mass: np.ndarray | None = None
    for what, spec in (("signal", signal), ("background", background)):
        if through_score:
            data = load_inputs(spec, rep, card.level, progress=progress, scorer=model)
            out = {n: data.x[:, i] for i, n in enumerate(card.score_names)}
        else:
            data = load_inputs(spec, rep, card.level, progress=progress)
            out = model.score_numpy(data.x)
        scores[what] = ({n: np.asarray(out[n]) for n in card.score_names}, data.weights)
        if what == "background":
            bkg_mass = data.aux.get(mass_key)
    (s, ws), (b, wb) = scores["signal"], scores["background"]
    aucs = {n: roc_auc(s[n], b[n], ws, wb) for n in card.score_names}
    merits = {n: figures_of_merit(s[n], b[n], ws, wb, bkg_mass) for n in card.score_names}
    sig_name = signal_name or sample_name(signal)
    bkg_name = background_name or sample_name(background)
    n_sig, n_bkg = len(next(iter(s.values()))), len(next(iter(b.values())))
    roc_png = json_path = None
    if out_dir is not None:
        curves = {}
        for n in card.score_names:
            fpr, tpr, _ = roc_curve(s[n], b[n], ws, wb)
            label = card.name if len(card.score_names) == 1 else f"{card.name} {n}"
            curves[f"{label} (AUC {aucs[n]:.3f})"] = (fpr, tpr)
        roc_png = plot_roc(curves, Path(out_dir) / "roc.png", signal_name=sig_name, background_name=bkg_name)
        sculpt_png = None
        if bkg_mass is not None:
            sculpt_png = plot_sculpting({card.name: (bkg_mass, b[card.score_names[0]], wb)},
                                        Path(out_dir) / "sculpting.png", mass_label=mass_key)  # fmt: skip
        from ..fileio import write_json

        json_path = write_json(Path(out_dir) / "evaluation.json", {
            "model": {"name": card.name, "path": str(model_path), "sha256": model.sha256},
            "scored_with": "coffea_anomaly.score" if through_score else "OnnxModel.score_numpy",
            "aucs": aucs,
            "n_signal": n_sig,
            "n_background": n_bkg,
            "samples": {"signal": _sample_facts(signal, sig_name, n_sig),
                        "background": _sample_facts(background, bkg_name, n_bkg)},
            "figures_of_merit": merits,
            "roc_png": roc_png.name,
            "sculpting_png": None if sculpt_png is None else sculpt_png.name,
        })
    return Evaluation(aucs, n_sig, n_bkg, s, b, ws, wb, roc_png, json_path, sig_name, bkg_name,
                      merits, bkg_mass, card.name)  # fmt: skip


@styled
def plot_sculpting(models: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]], path: str | Path, *,
                   fractions: tuple[float, ...] = SCULPT_FRACTIONS, mass_label: str = "mass") -> Path:  # fmt: skip
    """Background mass shape, all items and the least background-like ``fractions``, one panel
    per model (side by side, at most three to a row).

    Args:
        models: model name -> (background mass, background score, weights or None).
        path: PNG to write.
    """
    import matplotlib.pyplot as plt

    from ..metrics import mass_sculpting_jsd
    from ..plotting.style import save

    ncols = min(3, len(models))
    nrows = -(-len(models) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6 * ncols, 4.8 * nrows), squeeze=False, sharey=True)
    for ax, (name, (mass, score, w)) in zip(axes.flat, models.items()):
        edges = np.histogram_bin_edges(mass, bins=30)
        ax.hist(mass, edges, weights=w, density=True, histtype="step", color="black", label="all")
        order = np.argsort(score, kind="stable")
        for f in fractions:
            keep = order[len(order) - int(np.ceil(f * len(order))):]
            jsd = mass_sculpting_jsd(mass, score, f, edges, w)
            ax.hist(mass[keep], edges, weights=None if w is None else w[keep], density=True,
                    histtype="step", label=f"{f:.0%} least bkg-like, JSD {jsd:.3f}")  # fmt: skip
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel(f"background {mass_label} [GeV]", fontsize="small")
        ax.legend(fontsize="x-small", loc="upper right")
    for ax in axes.flat[len(models):]:
        ax.set_axis_off()
    for row in axes:
        row[0].set_ylabel("density")
    fig.tight_layout()
    return save(fig, path)


def evaluate_models(
    model_paths: list[str | Path], signal: Any, background: Any, out_dir: str | Path | None = None,
    progress: bool | None = None, *, signal_name: str | None = None, background_name: str | None = None,
) -> list[Evaluation]:  # fmt: skip
    """:func:`evaluate_model` for several models on the same samples; with ``out_dir``, one
    ROC figure with every model's default score, one sculpting figure with a panel per model
    and one ``evaluation.json`` (``models``: each model's own record).

    Every model scores the same samples (the caller's selection), each built into the
    model's own representation.
    """
    results = [evaluate_model(p, signal, background, None, progress, signal_name=signal_name,
                              background_name=background_name) for p in model_paths]  # fmt: skip
    if out_dir is None:
        return results
    out = Path(out_dir)
    curves, sculpt, records = {}, {}, []
    for path, r, label in zip(model_paths, results, plot_labels(model_paths, [r.model_name for r in results])):
        first = next(iter(r.aucs))
        fpr, tpr, _ = roc_curve(r.signal_scores[first], r.background_scores[first], r.signal_weights,
                                r.background_weights)  # fmt: skip
        curves[f"{label} (AUC {r.aucs[first]:.3f})"] = (fpr, tpr)
        if r.background_mass is not None:
            sculpt[label] = (r.background_mass, r.background_scores[first], r.background_weights)
        records.append({"name": r.model_name, "path": str(path), "aucs": r.aucs, "n_signal": r.n_signal,
                        "n_background": r.n_background, "figures_of_merit": r.merits})  # fmt: skip
    roc_png = plot_roc(curves, out / "roc.png", signal_name=results[0].signal_name,
                       background_name=results[0].background_name)  # fmt: skip
    sculpt_png = plot_sculpting(sculpt, out / "sculpting.png") if sculpt else None
    from ..fileio import write_json

    json_path = write_json(out / "evaluation.json", {
        "models": records, "signal": results[0].signal_name, "background": results[0].background_name,
        "roc_png": roc_png.name, "sculpting_png": None if sculpt_png is None else sculpt_png.name,
    })  # fmt: skip
    for r in results:
        r.roc_png, r.json_path = roc_png, json_path
    return results


def plot_labels(paths: list[str | Path], names: list[str]) -> list[str]:
    """One legend label per model: its card name, with the file name added where several
    models share a name (two λ of one config, runs of one seed scan), so none hides another."""
    repeated = {n for n in names if names.count(n) > 1}
    labels = [f"{n} ({Path(p).stem})" if n in repeated and Path(p).stem != n else n for p, n in zip(paths, names)]
    return [f"{lab} #{i + 1}" if labels.count(lab) > 1 else lab for i, lab in enumerate(labels)]


#: the scalar figures of merit that :func:`seed_spread` summarises
SPREAD_MERITS = ("auc", "rejection_at_eps_s_0.2", "e10", "e100", "max_sic", "jsd_top_0.05", "jsd_top_0.01")


def seed_spread(results: list[Evaluation]) -> dict[str, dict[str, dict[str, Any]]]:
    """Mean and spread of the figures of merit of one model trained with several seeds.

    ``results`` are evaluations of the runs (the same samples, the same score names).

    Returns:
        score name -> figure of merit -> ``{"mean", "std" (sample standard deviation,
        ddof = 1), "min", "max", "values"}``, for the figures in :data:`SPREAD_MERITS`
        that every run has.

    Raises:
        ConfigError: fewer than two runs, or runs with different scores.
    """
    from ..errors import ConfigError

    if len(results) < 2:
        raise ConfigError("--seeds needs at least two runs of the model")
    names = list(results[0].aucs)
    if any(list(r.aucs) != names for r in results):
        raise ConfigError("--seeds: the runs do not have the same scores: " +
                          "; ".join(f"{r.model_name}: {', '.join(r.aucs)}" for r in results))  # fmt: skip
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name in names:
        per_merit: dict[str, dict[str, Any]] = {}
        for merit in SPREAD_MERITS:
            values = []
            for r in results:
                m = (r.merits or {}).get(name, {"auc": r.aucs[name]})
                v = m.get(merit)
                values.append(v["value"] if isinstance(v, dict) else v)
            if any(v is None for v in values):
                continue
            arr = np.asarray(values, dtype=float)
            per_merit[merit] = {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)), "min": float(arr.min()),
                                "max": float(arr.max()), "values": [float(v) for v in arr]}  # fmt: skip
        out[name] = per_merit
    return out
