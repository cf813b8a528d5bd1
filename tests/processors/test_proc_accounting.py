"""Nothing is lost silently: every event read is in the cutflow; bad inputs are named.

Truncated file, file missing FatJet, file without constituents, empty file, a model whose
card does not match the data, and jets without constituents (the real v15 file has them).
"""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from coffea_anomaly.errors import ConfigError, InputDataError, ShapeMismatchError
from coffea_anomaly.runner import RunConfig, run_analysis
from coffea_anomaly.selection import JET_QUALITY


def _good_file(small_samples: dict[str, Path]) -> str:
    (spec,) = json.loads(small_samples["qcd_jets"].read_text()).values()
    return next(iter(spec["files"]))


def _rewrite(src: str, dst: Path, drop_prefixes: tuple[str, ...] = (), n: int | None = None) -> str:
    """Copy an Events tree keeping the NanoAOD layout, without some collections or events."""
    tree = uproot.open(src)["Events"]
    arrays = tree.arrays(library="ak")
    if n is not None:
        arrays = arrays[:n]
    groups: dict[str, dict[str, ak.Array]] = {}
    flat: dict[str, ak.Array] = {}
    for field in arrays.fields:
        if field.startswith("n") and field[1:2].isupper():
            continue
        coll, _, name = field.partition("_")
        if coll.startswith(drop_prefixes):
            continue
        if name and arrays[field].ndim == 2:
            groups.setdefault(coll, {})[name] = arrays[field]
        else:
            flat[field] = arrays[field]
    data = {**flat, **{c: ak.zip(f) for c, f in groups.items()}}
    with uproot.recreate(dst) as f:
        f.mktree("Events", {k: v.type for k, v in data.items()})
        if len(arrays):
            f["Events"].extend(data)
    return str(dst)


@pytest.fixture(scope="module")
def bad_files(small_samples: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("bad")
    good = _good_file(small_samples)
    raw = Path(good).read_bytes()
    truncated = base / "truncated.root"
    truncated.write_bytes(raw[: len(raw) // 2])
    return {
        "good": good,
        "truncated": str(truncated),
        "no_fatjet": _rewrite(good, base / "no_fatjet.root", drop_prefixes=("FatJet",)),
        "no_constituents": _rewrite(good, base / "no_constituents.root", drop_prefixes=("PFCand", "FatJetPFCand")),
        "empty": _rewrite(good, base / "empty.root", n=0),
    }


@pytest.mark.slow  # bad_files starts from a generated (Pythia) sample
def test_bad_file_stops_the_run_with_its_name(bad_files: dict[str, str], toy_models: dict[str, Path],
                                               tmp_path: Path) -> None:
    cfg = RunConfig(fileset={"qcd": [bad_files["good"], bad_files["no_fatjet"]]},
                    models=[str(toy_models["image"])], plots=False)
    with pytest.raises(InputDataError, match=r"no_fatjet\.root: missing collection FatJet"):
        run_analysis(cfg, tmp_path)


@pytest.mark.slow  # bad_files starts from a generated (Pythia) sample
def test_skip_bad_files_names_every_skipped_file(bad_files: dict[str, str], toy_models: dict[str, Path],
                                                 tmp_path: Path) -> None:
    files = [bad_files[k] for k in ("good", "truncated", "no_fatjet", "no_constituents", "empty")]
    cfg = RunConfig(fileset={"qcd": files}, models=[str(toy_models["image"])], skip_bad_files=True,
                    chunksize=64, plots=False)
    res = run_analysis(cfg, tmp_path)
    ds = res.summary["datasets"]["qcd"]
    reasons = {Path(s["path"]).name: s["reason"] for s in ds["skipped_files"]}
    assert set(reasons) == {"truncated.root", "no_fatjet.root", "no_constituents.root"}
    assert "truncated" in reasons["truncated.root"] or "unreadable" in reasons["truncated.root"]
    assert "FatJet" in reasons["no_fatjet.root"]
    assert "PFCand" in reasons["no_constituents.root"]
    assert ds["empty_files"] == [bad_files["empty"]]
    n_good = uproot.open(bad_files["good"])["Events"].num_entries
    assert ds["events_read"] == n_good == ds["cutflow"]["events"]
    assert ds["events_read"] + ds["events_in_skipped_files"] == ds["events_in_files"]
    assert ds["all_events_accounted"] and res.summary["all_events_accounted"]
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["datasets"]["qcd"]["skipped_files"] == ds["skipped_files"]


def test_event_model_in_jet_processor_is_refused(toy_models: dict[str, Path], tmp_path: Path) -> None:
    cfg = RunConfig(fileset={"a": ["/nonexistent.root"]}, models=[str(toy_models["dijet"])])
    with pytest.raises(ConfigError, match="event-level.*needs jet-level"):
        run_analysis(cfg, tmp_path)


@pytest.mark.slow  # bad_files starts from a generated (Pythia) sample
def test_card_that_does_not_match_the_data(bad_files: dict[str, str], tmp_path: Path) -> None:
    from toy_models import mean_square_model

    # the card promises 40x40 inputs but its representation makes 37x37 images
    model = mean_square_model(tmp_path / "bad.onnx", name="bad", kind="jet_image", config={"npix": 37},
                              shape=(40, 40), level="jet")
    cfg = RunConfig(fileset={"qcd": [bad_files["good"]]}, models=[str(model)], plots=False)
    with pytest.raises(ShapeMismatchError, match=r"40, 40.*37, 37|37, 37.*40, 40"):
        run_analysis(cfg, tmp_path / "out")


@pytest.mark.slow  # 10-50 s: the real files' jets, imaged and scored one by one
@pytest.mark.parametrize("which", ["pfnano", "v15"])
def test_real_cms_files(which: str, cms_files: dict[str, Path], toy_models: dict[str, Path], tmp_path: Path) -> None:
    cfg = RunConfig(fileset={which: [str(cms_files[which])]}, models=[str(toy_models["image"])],
                    selection={"pt_min": 170.0, "pt_max": 5000.0, "eta_max": 4.0}, plots=False)
    res = run_analysis(cfg, tmp_path)
    ds = res.summary["datasets"][which]
    flow = ds["cutflow"]
    assert ds["all_events_accounted"]
    assert flow["events"] == uproot.open(cms_files[which])["Events"].num_entries
    assert flow["jets scored"] == flow["jets pT, |eta|"] > 0
    # the score histogram holds every selected jet that has constituents, with its
    # event's genWeight (checked with uproot)
    tree = uproot.open(cms_files[which])["Events"]
    arrays = tree.arrays(["FatJet_pt", "FatJet_eta", "genWeight"])
    stored = _stored_constituents(tree, which)
    sel = (arrays.FatJet_pt >= 170.0) & (arrays.FatJet_pt < 5000.0) & (abs(arrays.FatJet_eta) < 4.0)
    expected = float(ak.sum(ak.broadcast_arrays(arrays.genWeight, arrays.FatJet_pt)[0][sel & stored]))
    h = res.hists["score_toy_image"][{"dataset": which}]
    assert h.sum(flow=True).value == pytest.approx(expected, rel=1e-6)
    assert int(ak.sum(sel & stored)) == flow["jets scored"]
    # every jet read is dropped at one quality check, dropped by the cuts, or scored
    assert flow["fat jets"] == int(ak.sum(ak.num(arrays.FatJet_pt, axis=1)))
    assert flow["fat jets"] - sum(flow[k] for k in JET_QUALITY) - flow["jets scored"] == int(ak.sum(~sel & stored))
    assert flow["jets with non-finite kinematics"] == flow["jets with non-finite constituents"] == 0
    assert flow["jets without constituents"] == int(ak.sum(~stored))
    if which == "v15":
        # the skimmed v15 file stores no constituents for two forward fat jets (|eta| > 3.4):
        # they are dropped and counted, never scored on an all-zero image
        assert flow["jets without constituents"] == 2
        assert ak.all(abs(ak.flatten(arrays.FatJet_eta[~stored])) > 3.3)


def _stored_constituents(tree: uproot.TTree, which: str) -> ak.Array:
    """Per fat jet: at least one constituent link in the file (read with uproot)."""
    links = "FatJetPFCands_jetIdx" if which == "pfnano" else "FatJetPFCand_jetIdx"
    arrays = tree.arrays(["FatJet_pt", links])
    jet_idx = ak.local_index(arrays.FatJet_pt, axis=1)
    pairs = ak.cartesian([jet_idx, arrays[links]], axis=1, nested=True)
    return ak.any(pairs["0"] == pairs["1"], axis=2)


@pytest.mark.slow  # bad_files starts from a generated (Pythia) sample
def test_histograms_readable_without_our_package(bad_files: dict[str, str], toy_models: dict[str, Path],
                                                 tmp_path: Path) -> None:
    cfg = RunConfig(fileset={"qcd": [bad_files["good"]]}, models=[str(toy_models["image"])], plots=True)
    res = run_analysis(cfg, tmp_path)
    with uproot.open(tmp_path / "hists.root") as f:
        h = f["qcd/mass_score_toy_image"]
        values = h.values()
    assert values.shape[0] == 100 and np.sum(values) > 0
    ref = res.hists["mass_score_toy_image"][{"dataset": "qcd"}].values()
    np.testing.assert_allclose(values, ref)
    from coffea_anomaly.runner import load_hists_json

    back = load_hists_json(tmp_path / "hists.json")
    assert back["mass_score_toy_image"] == res.hists["mass_score_toy_image"]
    assert all((tmp_path / p).exists() for p in res.summary["plots"])
