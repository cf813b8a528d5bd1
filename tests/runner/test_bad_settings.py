"""Bad settings stop a run before any work, in one line that names the field (issue 13, item 4).

String-as-bool, wrong types, out-of-range values and reversed pairs in run configs;
YAML too large or with aliases that expand without bound; ``inspect`` on a card that
contradicts its graph, and on a shipped model's name; ``--debug`` after the subcommand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from coffea_anomaly.cli.main import main
from coffea_anomaly.config import MAX_YAML_NODES, config_from_dict, load_yaml
from coffea_anomaly.errors import ConfigError, ModelCardError
from coffea_anomaly.runner import RunConfig, load_run_config, run_analysis


def _yaml(tmp_path: Path, extra: str) -> Path:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"processor: jet\nfileset: {{a: [/nonexistent.root]}}\nmodels: [image_cnn_ae]\n{extra}\n")
    return cfg


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('skip_bad_files: "false"', r"RunConfig option 'skip_bad_files': expected true or false, got 'false' \(str\)"),
        ('plots: "no"', r"RunConfig option 'plots': expected true or false, got 'no' \(str\)"),
        ("plots: 1", r"option 'plots': expected true or false, got 1 \(int\)"),
        ('workers: "2"', r"option 'workers': expected an integer, got '2' \(str\)"),
        ("chunksize: 1.5", r"option 'chunksize': expected an integer, got 1.5"),
        ("max_chunks: true", r"option 'max_chunks': expected an integer or null, got True"),
        ("chunksize: 0", r"chunksize must be >= 1, got 0"),
        ("executor: 3", r"option 'executor': expected a string"),
        ("models: 42", r"option 'models': expected a shipped model name or ONNX path.*got 42 \(int\)"),
        ("models: [image_cnn_ae, [1]]", r"option 'models'.*got \[1\] \(list\)"),
        ("selection: [1, 2]", r"option 'selection': expected a mapping, got \[1, 2\] \(list\)"),
        ("mjj_range: [8000, 1000]", r"option 'mjj_range': expected \[low, high\] with low < high, got \[8000.0, 1000.0\]"),
        ("mjj_range: [1000, 2000, 3000]", r"option 'mjj_range': expected a list of 2 values"),
        ('mjj_range: [1000, "8 TeV"]', r"option 'mjj_range': expected a list of 2 values \(a number, a number\)"),
        ("model_options: {batch_size: 0}", r"option 'model_options.batch_size': must be >= 1, got 0"),
        ('model_options: {batch_size: "64"}', r"option 'model_options.batch_size': expected an integer"),
        ("model_options: {threads: 2}", r"option 'model_options': unknown option\(s\) threads; known: batch_size"),
        ("model_options: {providers: CPUExecutionProvider}", r"option 'model_options.providers': expected a list"),
        ("fileset: 42", r"option 'fileset': expected a path to a fileset JSON or a mapping"),
    ],
)
def test_bad_value_is_named(extra: str, message: str, tmp_path: Path) -> None:
    # the later key wins in YAML, so 'fileset' and 'models' can be overridden too
    with pytest.raises(ConfigError, match=message) as info:
        load_run_config(_yaml(tmp_path, extra))
    assert "\n" not in str(info.value)


def test_string_as_bool_through_the_cli_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _yaml(tmp_path, 'skip_bad_files: "false"')
    with pytest.raises(SystemExit) as exc:
        main(["run", str(cfg), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 1
    assert err == ("coffea-anomaly: error: RunConfig option 'skip_bad_files': expected true or false, "
                   "got 'false' (str)")  # fmt: skip
    assert not (tmp_path / "o").exists()


def test_real_bools_still_work(tmp_path: Path) -> None:
    cfg = load_run_config(_yaml(tmp_path, "skip_bad_files: false\nplots: no\nmjj_range: [1500, 6000]\nworkers: 3"))
    assert cfg.skip_bad_files is False and cfg.plots is False  # YAML 1.1 'no' is a real bool
    assert cfg.mjj_range == (1500.0, 6000.0) and cfg.workers == 3
    # and the programmatic form: a list is taken as the pair, a reversed one is refused
    assert RunConfig(fileset={"a": ["x.root"]}, mjj_range=[1000, 2000]).mjj_range == (1000, 2000)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'mjj_range'"):
        RunConfig(fileset={"a": ["x.root"]}, mjj_range=(2000.0, 2000.0))
    with pytest.raises(ConfigError, match="option 'workers'"):
        RunConfig(fileset={"a": ["x.root"]}).with_overrides(workers="4")


def test_bad_selection_option_names_the_field_before_any_file_is_read(tmp_path: Path) -> None:
    cfg = RunConfig(fileset={"a": ["/nonexistent.root"]}, models=["image_cnn_ae"], selection={"pt_min": "550"})
    with pytest.raises(ConfigError, match=r"JetSelection option 'pt_min': expected a number, got '550' \(str\)"):
        run_analysis(cfg, tmp_path / "o")


@dataclass(frozen=True)
class _Typed:
    flag: bool = False
    n: int = 1
    x: float = 1.0
    pair: tuple[float, float] = (0.0, 1.0)
    names: tuple[str, ...] = ()
    maybe: int | None = None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"flag": "true"}, r"_Typed option 'flag': expected true or false, got 'true' \(str\)"),
        ({"n": True}, r"_Typed option 'n': expected an integer, got True \(bool\)"),
        ({"x": "1e3"}, r"_Typed option 'x': expected a number, got '1e3' \(str\)"),
        ({"pair": [1.0]}, r"_Typed option 'pair': expected a list of 2 values"),
        ({"names": ["a", 2]}, r"_Typed option 'names': expected a list of a string"),
        ({"maybe": "3"}, r"_Typed option 'maybe': expected an integer or null"),
        ({"flag": None}, r"_Typed option 'flag': expected true or false, got null"),
    ],
)
def test_config_from_dict_checks_every_field_type(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_dict(_Typed, data)
    ok = config_from_dict(_Typed, {"flag": True, "n": 2, "x": 3, "pair": [1, 2], "names": ["a"], "maybe": None})
    assert ok == _Typed(True, 2, 3.0, (1.0, 2.0), ("a",), None)


def test_nested_aliases_are_refused(tmp_path: Path) -> None:
    # ~500 bytes that expand to 10**9 values (each level repeats the one before ten times)
    lines = ["processor: jet", "models: [image_cnn_ae]", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    lines.append("fileset: {qcd: {files: [/x.root], metadata: {bomb: *a8}}}")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    assert bomb.stat().st_size < 1000
    with pytest.raises(ConfigError, match=rf"bomb\.yaml: YAML anchors/aliases expand to more than {MAX_YAML_NODES}"):
        load_run_config(bomb)


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &sel {pt_min: 550.0}\nother: *sel\n")
    assert load_yaml(path) == {"base": {"pt_min": 550.0}, "other": {"pt_min": 550.0}}


def test_recursive_alias_and_huge_file_are_refused(tmp_path: Path) -> None:
    rec = tmp_path / "rec.yaml"
    rec.write_text("a: &a [1, *a]\n")
    with pytest.raises(ConfigError, match="rec.yaml"):
        load_yaml(rec)
    big = tmp_path / "big.yaml"
    big.write_text("x: [" + ", ".join(["1"] * 600_000) + "]\n")
    with pytest.raises(ConfigError, match=r"big\.yaml is \d+ bytes; config files are limited to 1048576 bytes"):
        load_yaml(big)


def test_debug_after_the_subcommand_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _yaml(tmp_path, "processor: nope")
    # --debug anywhere: the error propagates with its traceback instead of click's "No such option"
    with pytest.raises(ConfigError, match="processor must be 'jet' or 'dijet'"):
        main(["run", str(cfg), "--debug", "--out", str(tmp_path / "o")])
    with pytest.raises(ConfigError, match="processor must be"):
        main(["--debug", "run", str(cfg), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as exc:
        main(["run", str(cfg), "--out", str(tmp_path / "o")])
    assert exc.value.code == 1
    assert capsys.readouterr().err.strip().endswith("error: invalid RunConfig: processor must be 'jet' or 'dijet', got 'nope'")
    with pytest.raises(SystemExit) as exc:  # a usage error stays click's message, even with --debug
        main(["run", "--debug", "--no-such-option"])
    assert exc.value.code == 2 and "No such option '--no-such-option'" in capsys.readouterr().err


def test_inspect_refuses_a_card_that_contradicts_the_graph(tmp_path: Path) -> None:
    import onnx
    from toy_models import image_toy

    from coffea_anomaly.inference.card import CARD_KEY, read_card

    path = image_toy(tmp_path / "toy.onnx")
    proto = onnx.load(str(path))
    card = read_card(proto).to_dict()
    card["inputs"][0]["shape"] = [None, 37, 37]  # the graph takes 40x40
    import json

    for prop in proto.metadata_props:
        if prop.key == CARD_KEY:
            prop.value = json.dumps(card)
    bad = tmp_path / "bad.onnx"
    onnx.save(proto, str(bad))
    for args in ([str(bad)], [str(bad), "--json"]):
        result = CliRunner().invoke(main_cli(), ["inspect", *args])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, ModelCardError)
        assert "declares input 'x' with shape (N, 37, 37) but the graph has (N, 40, 40)" in str(result.exception)


def test_inspect_takes_shipped_names(capsys: pytest.CaptureFixture[str]) -> None:
    main(["inspect", "image_cnn_ae"])
    out = capsys.readouterr().out
    assert out.startswith("file: ") and "image_cnn_ae.onnx" in out and "model: image_cnn_ae" in out
    with pytest.raises(SystemExit) as exc:
        main(["inspect", "no_such_model"])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("coffea-anomaly: error: model 'no_such_model' is neither a file nor a shipped model")
    assert len(err.splitlines()) == 1


def main_cli():  # type: ignore[no-untyped-def]
    from coffea_anomaly.cli.main import cli

    return cli
