"""Jet images and jet features: vectorised representations vs a per-jet numpy loop (1 core).

The baseline is written here, independently and straightforwardly: one Python iteration
per jet, numpy on that jet's constituents (``np.linalg.eigh`` for the principal axis,
``np.histogram2d`` for the pixels, ``scipy.ndimage.gaussian_filter`` per image), and for
the features one fastjet call per jet. Before any ratio is reported the baseline's
output is compared with the library's on the same jets.

    python -m benchmarks representations [--n-jets 50000] [--preset qcd_or_what]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from tqdm import tqdm

from coffea_anomaly.config import config_to_dict
from coffea_anomaly.nanoaod import open_events
from coffea_anomaly.representations import (
    FeatureConfig,
    ImageConfig,
    fatjet_constituents,
    jet_features,
    jet_images,
)

__all__ = ["main", "per_jet_features", "per_jet_image"]

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "data" / "train" / "qcd_jets", ROOT / "data" / "dev")
FIELDS = ("pt", "eta", "phi", "mass", "charge")


# --------------------------------------------------------------------------- input jets
def _files(source: Path) -> list[Path]:
    fileset = source / "fileset.json"
    if fileset.is_file():
        spec = json.loads(fileset.read_text())
        return [Path(f) for ds in spec.values() for f in ds["files"]]
    return sorted(source.rglob("*.root"))


def load_jets(n_jets: int, source: Path | None = None) -> tuple[ak.Array, ak.Array, str]:
    """At least ``n_jets`` fat jets (flat) and their constituents from generated samples."""
    files: list[Path] = []
    for folder in [source] if source else SOURCES:
        files = _files(folder) if folder.exists() else []
        if files:
            break
    if not files:
        raise SystemExit(f"no generated samples under {', '.join(map(str, SOURCES))}")
    jets_parts, const_parts, have = [], [], 0
    for path in tqdm(files, desc="reading", file=sys.stderr, disable=not sys.stderr.isatty()):
        events = open_events(path)
        constituents = fatjet_constituents(events)
        jets_parts.append(ak.flatten(events.FatJet[["pt", "eta", "phi", "mass"]], axis=1))
        const_parts.append(ak.flatten(constituents[list(FIELDS)], axis=1))
        have += len(jets_parts[-1])
        if have >= n_jets:
            break
    jets = ak.to_packed(ak.concatenate(jets_parts))
    constituents = ak.to_packed(ak.concatenate(const_parts))
    read = len(jets)
    origin = f"{files[0].parent.relative_to(ROOT)} ({read} jets from {len(jets_parts)} files"
    if read < n_jets:
        repeat = math.ceil(n_jets / read)
        jets = ak.concatenate([jets] * repeat)
        constituents = ak.concatenate([constituents] * repeat)
        origin += f", repeated x{repeat}"
    origin += ")"
    return jets[:n_jets], constituents[:n_jets], origin


# ------------------------------------------------------------------- per-jet baselines
def _wrap(phi: np.ndarray) -> np.ndarray:
    return (phi + np.pi) % (2 * np.pi) - np.pi


def per_jet_image(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    jet_eta: float,
    jet_phi: float,
    config: ImageConfig,
) -> np.ndarray:
    """One jet's image, step by step in numpy (the straightforward implementation)."""
    from scipy.ndimage import gaussian_filter

    image = np.zeros((config.npix, config.npix))
    if len(pt):
        lead = int(np.argmax(pt))
        x, y = eta.astype(float), _wrap(phi - phi[lead])
        if config.center == "centroid":
            cx, cy = np.average(x, weights=pt), np.average(y, weights=pt)
        elif config.center == "leading":
            cx, cy = x[lead], 0.0
        else:
            cx, cy = jet_eta, _wrap(np.array(jet_phi - phi[lead]))
        x, y = x - cx, y - cy
        if config.rotate and len(pt) > 1:
            cov = np.cov(np.stack([x, y]), aweights=pt, bias=True)
            values, vectors = np.linalg.eigh(cov)
            if values[1] > values[0]:
                major = vectors[:, 1]
                alpha = np.pi / 2 - np.arctan2(major[1], major[0])
                c, s = np.cos(alpha), np.sin(alpha)
                x, y = c * x - s * y, s * x + c * y
        sx, sy = {
            "upper_right": (1, 1),
            "upper_left": (-1, 1),
            "lower_left": (-1, -1),
            "lower_right": (1, -1),
        }[config.quadrant]
        if config.flip == "hardest":
            fx, fy = x[lead], y[lead]
        elif config.flip == "half":
            fx, fy = np.sum(pt * np.sign(x)), np.sum(pt * np.sign(y))
        else:
            fx = fy = 0.0
        x = -x if fx * sx < 0 else x
        y = -y if fy * sy < 0 else y
        # rows from +φ' (top) down, columns along +η'
        image, _, _ = np.histogram2d(
            -y,
            x,
            bins=config.npix,
            weights=pt,
            range=[[-config.phi_range, config.phi_range], [-config.eta_range, config.eta_range]],
        )
    if config.pt_power != 1.0:
        image = image**config.pt_power
    if config.gaussian_sigma > 0:
        image = gaussian_filter(image, config.gaussian_sigma, mode="constant")
    if config.normalize and image.sum() > 0:
        image = image / image.sum()
    if config.pad_to:
        extra = config.pad_to - config.npix
        image = np.pad(image, (extra // 2, extra - extra // 2))
    return image.astype(np.float32)


def per_jet_features(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    mass: np.ndarray,
    charge: np.ndarray,
    config: FeatureConfig,
) -> dict[str, float]:
    """One jet's features: numpy kinematics and one fastjet cluster sequence per jet."""
    import fastjet

    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    total = np.array([e.sum(), px.sum(), py.sum(), pz.sum()])
    out = {
        "mass": float(np.sqrt(max(total[0] ** 2 - np.sum(total[1:] ** 2), 0.0))),
        "n_constituents": len(pt),
        "n_charged": int(np.count_nonzero(charge)),
    }
    taus, msd = np.zeros(4), 0.0
    if len(pt):
        event = ak.unflatten(
            ak.zip({"px": px, "py": py, "pz": pz, "E": e}, with_name="Momentum4D"), [len(pt)]
        )
        cs = fastjet.ClusterSequence(
            event, fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0)
        )
        taus = np.asarray(
            cs.njettiness(
                njets=[1, 2, 3, 4],
                beta=config.nsub_beta,
                R0=config.jet_radius,
                axes_definition=config.nsub_axes,
            )[0]
        )
        if "msoftdrop" in config.features:
            msd = float(
                cs.exclusive_jets_softdrop_grooming(
                    njets=1,
                    beta=config.softdrop_beta,
                    symmetry_cut=config.softdrop_zcut,
                    R0=config.jet_radius,
                ).msoftdrop[0]
            )
    out["msoftdrop"] = msd
    for k in range(4):
        out[f"tau{k + 1}"] = float(taus[k])
    for k in (2, 3, 4):
        out[f"tau{k}{k - 1}"] = float(taus[k - 1] / taus[k - 2]) if taus[k - 2] > 0 else 0.0
    return out


# -------------------------------------------------------------------------- the timings
@dataclass
class Timing:
    """Throughput of the vectorised code and of the baseline on the same kind of jets."""

    name: str
    n_vectorised: int
    t_vectorised: float
    n_baseline: int
    t_baseline: float
    check: str

    @property
    def ratio(self) -> float:
        return (self.n_vectorised / self.t_vectorised) / (self.n_baseline / self.t_baseline)

    def line(self) -> str:
        return (
            f"{self.name:28s} vectorised {self.n_vectorised / self.t_vectorised:11.0f} jets/s "
            f"({self.n_vectorised} in {self.t_vectorised:.2f} s) | per-jet "
            f"{self.n_baseline / self.t_baseline:9.0f} jets/s ({self.n_baseline} in "
            f"{self.t_baseline:.2f} s) | x{self.ratio:.1f} | {self.check}"
        )


def _columns(constituents: ak.Array, jets: ak.Array) -> dict[str, Any]:
    offsets = np.zeros(len(jets) + 1, dtype=np.int64)
    np.cumsum(ak.to_numpy(ak.num(constituents)), out=offsets[1:])
    cols = {f: ak.to_numpy(ak.flatten(constituents[f])).astype(np.float64) for f in FIELDS}
    cols["offsets"] = offsets
    cols["jet_eta"] = ak.to_numpy(jets.eta).astype(np.float64)
    cols["jet_phi"] = ak.to_numpy(jets.phi).astype(np.float64)
    return cols


def bench_images(
    jets: ak.Array, constituents: ak.Array, config: ImageConfig, name: str, n_baseline: int
) -> Timing:
    # a first full-size call compiles the kernels and pays the operating system's first
    # touch of the large output pages (seconds on a loaded machine); then best of 3
    images = jet_images(jets, constituents, config)
    t_vec = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        images = jet_images(jets, constituents, config)
        t_vec = min(t_vec, time.perf_counter() - t0)
    cols = _columns(constituents[:n_baseline], jets[:n_baseline])
    off = cols["offsets"]
    t0 = time.perf_counter()
    baseline = np.stack(
        [
            per_jet_image(
                cols["pt"][off[j] : off[j + 1]],
                cols["eta"][off[j] : off[j + 1]],
                cols["phi"][off[j] : off[j + 1]],
                cols["jet_eta"][j],
                cols["jet_phi"][j],
                config,
            )
            for j in tqdm(
                range(n_baseline),
                desc=f"per-jet {name}",
                file=sys.stderr,
                disable=not sys.stderr.isatty(),
            )
        ]
    )
    t_base = time.perf_counter() - t0
    diff = np.abs(baseline - images[:n_baseline]).reshape(n_baseline, -1).max(axis=1)
    differing = int((diff > 1e-5).sum())
    check = f"images differ in {differing}/{n_baseline} jets (max |diff| {diff.max():.1e})"
    if differing > n_baseline // 1000:
        raise SystemExit(f"baseline and library disagree: {check}")
    return Timing(f"images [{name}]", len(jets), t_vec, n_baseline, t_base, check)


def bench_features(
    jets: ak.Array, constituents: ak.Array, config: FeatureConfig, label: str, n_baseline: int
) -> Timing:
    t0 = time.perf_counter()
    feats = jet_features(jets, constituents, config)
    t_vec = time.perf_counter() - t0
    cols = _columns(constituents[:n_baseline], jets[:n_baseline])
    off = cols["offsets"]
    t0 = time.perf_counter()
    baseline = [
        per_jet_features(*(cols[f][off[j] : off[j + 1]] for f in FIELDS), config)
        for j in tqdm(
            range(n_baseline),
            desc="per-jet features",
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
        )
    ]
    t_base = time.perf_counter() - t0
    worst = 0.0
    for name in config.features:
        if name in ("pt", "eta", "phi"):
            continue
        ours = ak.to_numpy(feats[name][:n_baseline]).astype(np.float64)
        theirs = np.array([b[name] for b in baseline], dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-9))))
    check = f"features agree to {worst:.1e} (relative)"
    if worst > 1e-6:
        raise SystemExit(f"baseline and library disagree: {check}")
    return Timing(f"features [{label}]", len(jets), t_vec, n_baseline, t_base, check)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks representations", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--n-jets", type=int, default=50_000)
    parser.add_argument(
        "--baseline-jets",
        type=int,
        default=5_000,
        help="jets for the (slow) per-jet image baseline",
    )
    parser.add_argument("--feature-baseline-jets", type=int, default=1_000)
    parser.add_argument(
        "--preset",
        action="append",
        default=None,
        help="image preset(s) to time (default: qcd_or_what and nae)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="folder of generated files (default: data/train/qcd_jets, else data/dev)",
    )
    parser.add_argument("--skip-features", action="store_true")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "results" / "bench_representations.json"
    )
    args = parser.parse_args(argv)

    jets, constituents, origin = load_jets(args.n_jets, args.source)
    n_const = int(ak.sum(ak.num(constituents)))
    print(f"input: {len(jets)} jets, {n_const / len(jets):.1f} constituents/jet, from {origin}")
    timings = []
    for preset in args.preset or ["qcd_or_what", "nae"]:
        config = ImageConfig.preset(preset)
        timings.append(
            bench_images(jets, constituents, config, preset, min(args.baseline_jets, len(jets)))
        )
        print(timings[-1].line(), flush=True)
    if not args.skip_features:
        n_base = min(args.feature_baseline_jets, len(jets))
        for label, config in [("all 14", FeatureConfig()), ("quak", FeatureConfig.preset("quak"))]:
            timings.append(bench_features(jets, constituents, config, label, n_base))
            print(timings[-1].line(), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "input": origin,
                "n_jets": len(jets),
                "constituents_per_jet": n_const / len(jets),
                "image_configs": {
                    p: config_to_dict(ImageConfig.preset(p))
                    for p in args.preset or ["qcd_or_what", "nae"]
                },
                "timings": [{**t.__dict__, "ratio": t.ratio} for t in timings],
            },
            indent=2,
        )
    )
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
