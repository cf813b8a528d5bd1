"""The demo: the whole chain on the embedded default samples, in a few minutes on 2 cores.

1. generate (or reuse, cached under ``data/demo/``) small Pythia samples: QCD and top jets
   (14 TeV, 550-650 GeV) and emulated dijet "data" (unweighted QCD dijets with a 5 % W' -> XY
   signal injected, per-event truth label);
2. run both processors with the shipped models on a Dask LocalCluster of worker processes;
3. run the bump hunt on the dijet m_jj histograms, in categories of the dijet model's score;
4. write ``results/demo/`` (histograms, summaries, plots, ``report.md``) and print a summary.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fileio import atomic_write, write_json

__all__ = ["DEMO_SAMPLES", "DemoResult", "run_demo"]

#: name -> (process, events, seed, overrides, role)
DEMO_SAMPLES: dict[str, tuple[str, int, int, dict[str, Any], str]] = {
    "qcd_jets": ("qcd_jets", 1500, 101, {}, "background"),
    "top_jets": ("top_jets", 500, 102, {}, "signal"),
    "dijet_data": ("mixed", 3000, 103, {"background.bias_power": 0.0, "signal_fraction": 0.05}, "data"),
}


@dataclass
class DemoResult:
    """Where the demo wrote things and the headline numbers."""

    out_dir: Path
    summary: dict[str, Any] = field(default_factory=dict)


def _log(msg: str, echo: Any) -> None:
    if echo is not None:
        echo(msg)


def _fileset(results: dict[str, Any], names: list[str]) -> dict[str, Any]:
    fs: dict[str, Any] = {}
    for name in names:
        data = json.loads(Path(results[name].fileset).read_text())
        (spec,) = data.values()
        meta = dict(spec.get("metadata") or {})
        meta["role"] = DEMO_SAMPLES[name][4]
        fs[name] = {"files": spec["files"], "metadata": meta}
    return fs


def run_demo(
    out_dir: str | Path = "results/demo",
    data_dir: str | Path = "data/demo",
    *,
    workers: int = 2,
    progress: bool = True,
    echo: Any = print,
    jet_model: str = "image_cnn_ae",
    dijet_model: str = "dijet_dense_ae",
    scale: float = 1.0,
) -> DemoResult:
    """Run the demo; see the module docstring.

    Args:
        out_dir: where results go.
        data_dir: sample cache (reused when the recipe, size and seed match).
        workers: worker processes for generation and the Dask LocalCluster.
        progress: progress bars.
        echo: where the summary lines go (None: silent).
        jet_model, dijet_model: shipped model names or ONNX paths.
        scale: multiply the sample sizes (for quick checks).
    """
    from .generation import ensure_sample
    from .runner import RunConfig, run_analysis
    from .runner.execute import dask_client

    out = Path(out_dir)
    data = Path(data_dir)
    t_start = time.perf_counter()
    headline: dict[str, Any] = {}

    _log(f"[1/4] samples (cached under {data})", echo)
    samples = {}
    for name, (process, n, seed, overrides, _role) in DEMO_SAMPLES.items():
        n = max(1, round(n * scale))
        res = ensure_sample(process, n, data / name, seed=seed, workers=workers, overrides=overrides,
                            progress=progress)
        samples[name] = res
        how = "reused" if res.reused else f"generated at {res.events_per_s:.0f} events/s"
        _log(f"      {name}: {res.n_events} events of {process} ({how})", echo)
    headline["samples"] = {k: {"events": v.n_events, "fileset": str(v.fileset)} for k, v in samples.items()}

    _log(f"[2/4] processors on a Dask LocalCluster with {workers} worker processes", echo)
    with dask_client(workers, None) as client:
        jet_cfg = RunConfig(
            processor="jet", fileset=_fileset(samples, ["qcd_jets", "top_jets"]),
            models=[_model(jet_model)], executor="dask", workers=workers, chunksize=2000,
        )
        jets = run_analysis(jet_cfg, out / "jets", client=client)
        dijet_cfg = RunConfig(
            processor="dijet", fileset=_fileset(samples, ["dijet_data"]),
            models=[_model(dijet_model)], executor="dask", workers=workers, chunksize=2000,
            mjj_range=(1000.0, 8000.0), selection={"mjj_min": 1500.0, "mjj_max": 8000.0},
        )
        dijets = run_analysis(dijet_cfg, out / "dijet", client=client)
    headline["jets"] = _run_headline(jets.summary)
    headline["dijet"] = _run_headline(dijets.summary)
    _log(
        f"      jets: {jets.summary['events_read']} events, {jets.summary['items_scored']} jets scored "
        f"({jets.summary['items_scored_per_s']:.0f} jets/s)", echo,
    )
    for model, m in (jets.summary.get("metrics") or {}).items():
        for key, val in m.items():
            if key.startswith("auc_vs_"):
                for ds, auc in val.items():
                    _log(f"      AUC {model}: {ds} vs {key[7:]} = {auc:.3f}", echo)
    auc = _dijet_truth_auc(dijets.hists)
    if auc:
        headline["dijet"]["auc_signal_vs_background"] = auc
        for k, v in auc.items():
            _log(f"      AUC {k}: injected W' vs QCD (truth label) = {v:.3f}", echo)

    _log("[3/4] bump hunt on the dijet m_jj histograms", echo)
    headline["bumphunt"] = _bumphunt(dijets, out / "bumphunt", echo)

    _log("[4/4] report", echo)
    headline["wall_time_s"] = time.perf_counter() - t_start
    write_json(out / "demo_summary.json", headline, default=str)
    _write_report(out, headline, jets, dijets)
    _log(f"done in {headline['wall_time_s']:.0f} s; report: {out / 'report.md'}, plots: {out}/*/plots/", echo)
    return DemoResult(out_dir=out, summary=headline)


def _model(spec: str) -> str:
    from .resources import model_path

    return spec if spec.endswith(".onnx") else str(model_path(spec))


def _run_headline(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("events_read", "items_scored", "wall_time_s", "events_per_s", "items_scored_per_s",
            "all_events_accounted", "metrics")
    return {k: summary.get(k) for k in keys}


def _dijet_truth_auc(hists: dict[str, Any]) -> dict[str, float]:
    from .metrics import auc_from_counts

    out = {}
    for name, h in hists.items():
        if not name.startswith("mjj_score_"):
            continue
        hd = h[{"dataset": sum, "mjj": sum}]
        import hist

        sig = hd[{"label": hist.loc(1)}].values(flow=True)
        bkg = hd[{"label": hist.loc(0)}].values(flow=True)
        if sig.sum() > 0 and bkg.sum() > 0:
            out[name[len("mjj_score_"):]] = auc_from_counts(sig, bkg)
    return out


def _bumphunt(dijets: Any, out: Path, echo: Any) -> dict[str, Any]:
    """Bump hunt on m_jj of the dijet 'data', in 3 uniformly populated categories of the
    dijet model's score (QUAK-style categories along one score), 500 pseudo-experiments."""
    from .stats import BumpHuntConfig, run_bumphunt, write_report

    name = next((k for k in sorted(dijets.hists) if k.startswith("mjj_score_")), None)
    if name is None:
        _log("      no m_jj x score histogram: bump hunt skipped", echo)
        return {}
    config = BumpHuntConfig(categories=(3,), n_toys=500, seed=1)
    result = run_bumphunt(dijets.hists[name], config, dataset="dijet_data")
    paths = write_report(result, out)
    head = (
        f"best mass {result.best_mass:.0f} GeV, local significance {result.local_z:.2f} sigma, "
        f"global {result.global_z:.2f} sigma ({config.headline} combination of {len(result.categories)} "
        f"categories of {name[len('mjj_score_'):]}; injected W' mass 3500 GeV)"
    )
    _log(f"      {head}", echo)
    return {
        "histogram": name,
        "best_mass": result.best_mass,
        "local_z": result.local_z,
        "global_z": result.global_z,
        "headline": head,
        "json": str(paths.get("json", out / "bumphunt.json")),
        "plots": [str(p) for k, p in paths.items() if str(p).endswith(".png")],
    }


def _write_report(out: Path, headline: dict[str, Any], jets: Any, dijets: Any) -> None:
    lines = ["# coffea-anomaly demo report", ""]
    lines.append(f"Wall time: {headline['wall_time_s']:.0f} s.")
    lines.append("")
    lines.append("## Samples")
    for name, s in headline["samples"].items():
        lines.append(f"- `{name}`: {s['events']} events ({s['fileset']})")
    for title, run in (("Jet processor (image CNN AE)", jets), ("Dijet processor (dense AE)", dijets)):
        s = run.summary
        lines += ["", f"## {title}", "",
                  f"{s['events_read']} events read, {s['items_scored']} scored in {s['wall_time_s']:.1f} s "
                  f"({s['items_scored_per_s']:.0f}/s), all events accounted: {s['all_events_accounted']}.", ""]
        for ds, info in s["datasets"].items():
            lines.append(f"- `{ds}` cutflow: " + ", ".join(f"{k} {v}" for k, v in info["cutflow"].items()))
        for p in s.get("plots", []):
            lines.append(f"\n![{p}]({run.out_dir.name}/{p})")
    bh = headline.get("bumphunt") or {}
    if bh:
        lines += ["", "## Bump hunt", "", bh.get("headline", ""), ""]
        for p in bh.get("plots", []):
            lines.append(f"![{p}](bumphunt/{Path(p).name})")
    atomic_write(out / "report.md", "\n".join(lines) + "\n")
