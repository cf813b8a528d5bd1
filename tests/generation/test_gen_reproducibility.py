"""Same seed -> same events, whatever the number of workers; caching; no half-written output."""

from __future__ import annotations

import awkward as ak
import pytest
from gen_helpers import dataset_metadata, read_events

from coffea_anomaly.errors import ConfigError, InputDataError
from coffea_anomaly.generation import ensure_sample, generate_sample
from coffea_anomaly.generation.writer import FILESET_NAME, write_events_file

pytestmark = pytest.mark.slow

SMALL = {"block_size": 20}


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """qcd_jets, 50 events in blocks of 20: seed 5 on 1 and 2 workers, and seed 6."""
    root = tmp_path_factory.mktemp("repro")
    make = lambda name, seed, workers: generate_sample(  # noqa: E731
        "qcd_jets", 50, root / name, seed=seed, workers=workers, overrides=SMALL, progress=False)
    return make("one", 5, 1), make("two", 5, 2), make("other", 6, 1)


def _same_contents(a, b):
    assert ak.fields(a) == ak.fields(b)
    return all(ak.array_equal(a[name], b[name]) for name in ak.fields(a))


def test_same_seed_gives_identical_events_on_any_number_of_workers(three_runs):
    one, two, _ = three_runs
    assert [f.name for f in one.files] == [f.name for f in two.files] == [
        "qcd_jets_00000.root", "qcd_jets_00001.root", "qcd_jets_00002.root"]
    assert _same_contents(read_events(one), read_events(two))
    for f1, f2 in zip(one.files, two.files):  # block by block, not only in total
        assert _same_contents(read_events([f1]), read_events([f2]))
    meta_one, meta_two = dataset_metadata(one), dataset_metadata(two)
    assert meta_one["xsec_pb"] == meta_two["xsec_pb"] and meta_one["n_generated"] == meta_two["n_generated"]


def test_another_seed_gives_other_events(three_runs):
    one, _, other = three_runs
    a, b = read_events(one), read_events(other)
    assert len(a) == len(b) == 50
    assert not ak.array_equal(a.FatJet_pt, b.FatJet_pt)


def test_ensure_sample_reuses_a_matching_sample_and_regenerates_otherwise(tmp_path):
    first = ensure_sample("qcd_jets", 10, tmp_path, seed=3, overrides={"block_size": 10}, progress=False)
    assert not first.reused
    stamp = first.files[0].stat().st_mtime_ns
    again = ensure_sample("qcd_jets", 10, tmp_path, seed=3, overrides={"block_size": 10}, progress=False)
    assert again.reused and again.files == first.files and again.files[0].stat().st_mtime_ns == stamp
    more = ensure_sample("qcd_jets", 12, tmp_path, seed=3, overrides={"block_size": 10}, progress=False)
    assert not more.reused and len(read_events(more)) == 12
    assert sorted(p.name for p in tmp_path.glob("*.root")) == ["qcd_jets_00000.root", "qcd_jets_00001.root"]


def test_a_failed_run_leaves_no_fileset_and_no_complete_looking_file(tmp_path):
    generate_sample("qcd_jets", 5, tmp_path, seed=1, overrides={"block_size": 5}, progress=False)
    assert (tmp_path / FILESET_NAME).exists()
    impossible = {"filter.pt_min": 5000.0, "filter.pt_max": 6000.0, "filter.max_tries_per_event": 4}
    with pytest.raises(ConfigError, match="only 0 of 20 generated events pass the fatjet_window filter"):
        generate_sample("qcd_jets", 5, tmp_path, seed=1, overrides=impossible, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_interrupted_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "block.root"
    bad = ak.Array([{"x": 1}, {"x": "text"}])  # a union type uproot cannot write
    with pytest.raises(TypeError):
        write_events_file(target, bad, run=1, luminosity_block=1, first_event=1)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_an_input_data_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InputDataError, match="cannot create output folder"):
        generate_sample("qcd_jets", 5, blocker / "out", progress=False)
