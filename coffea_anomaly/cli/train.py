"""``coffea-anomaly train CONFIG.yaml --out MODEL.onnx``: train a model and export it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

__all__ = ["command"]


def _config_file(config: str) -> Path:
    """A YAML path, or the name of a shipped training config (``image_cnn_ae``)."""
    p = Path(config)
    if p.exists() or p.suffix in (".yaml", ".yml"):
        return p
    from ..resources import config_path

    shipped = config_path("training", f"{config}.yaml")
    if not shipped.is_file():
        from ..errors import ConfigError

        raise ConfigError(f"no training config {config!r}: not a file, nor a shipped config name")
    return shipped


def _train_bundle(path: Path, out: str, progress: bool | None, **overrides: object) -> None:
    """Train every prior of a QUAK bundle config and write one graph (:mod:`..training.bundle`)."""
    from ..training.bundle import load_bundle_config, train_bundle

    bundle = load_bundle_config(path)
    loop = {k: v for k, v in overrides.items() if v is not None}
    report = train_bundle(bundle, out, progress=progress, config_source=str(path), **loop)
    click.echo(f"wrote {report.path} ({report.path.stat().st_size / 1024:.0f} kB): "
               f"{len(bundle.priors)} priors ({', '.join(bundle.priors)}), wall {report.wall_s:.0f} s")  # fmt: skip
    for prior, facts in report.card.training["priors"].items():
        click.echo(f"  {prior}: {facts['n_train']} events of {facts['sample']}, {facts['epochs']} epochs "
                   f"(best {facts['best_epoch']}, stop: {facts['stop_reason']})")  # fmt: skip
    for metric, value in report.metrics.items():
        click.echo(f"  {metric} = {value:.6g}")


def _contamination(cfg: object, sample: str | None, fraction: float | None) -> object:
    """The config's contamination with --contaminate / --contamination applied."""
    from ..errors import ConfigError
    from ..training.settings import Contamination, SampleSpec

    if sample is None and fraction is None:
        return cfg.contamination
    if sample is None and cfg.contamination is None:
        raise ConfigError("--contamination needs --contaminate SIGNAL_SAMPLE (the config names none)")
    if fraction is None:
        raise ConfigError("--contaminate needs --contamination FRACTION (e.g. 0.01)")
    spec = SampleSpec(sample, label="contamination") if sample is not None else cfg.contamination.sample
    return Contamination(spec, fraction)


@click.command("train")
@click.argument("config")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="ONNX file to write.")
@click.option("--name", default=None,
              help="Model name in the card (overrides the config's name; how runs and summaries call it).")  # fmt: skip
@click.option("--epochs", type=int, default=None, help="Maximum epochs (overrides the config).")
@click.option("--seed", type=int, default=None, help="Seed of torch, numpy and the split.")
@click.option("--batch-size", type=int, default=None, help="Minibatch size.")
@click.option("--max-time", "max_time_s", type=float, default=None, help="Stop after this many seconds.")
@click.option("--threads", type=int, default=None, help="torch threads (default from the config).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default=None,
              help="Where torch trains (default from the config, else cpu); auto: cuda when available.")  # fmt: skip
@click.option("--sample", type=str, default=None, help="Training sample (overrides the config).")
@click.option("--max-items", type=int, default=None, help="At most this many training jets/events.")
@click.option("--test", "test_sample", type=str, default=None,
              help="Independent background sample for the card's metrics and quantiles "
                   "(the card says so when it is the training sample itself).")  # fmt: skip
@click.option("--signal", "signals", multiple=True,
              help="Signal sample(s) for the AUC at export, replacing the config's in order.")  # fmt: skip
@click.option("--contaminate", "contaminate", type=str, default=None,
              help="Signal sample mixed into the training background (with --contamination; Farina et al. "
                   "§III.C), selected as the training sample.")  # fmt: skip
@click.option("--contamination", "contamination", type=float, default=None,
              help="The signal's share of the training items, e.g. 0.01 (validation and test stay background).")  # fmt: skip
@click.option("--progress/--quiet", default=None,
              help="Force progress bars on stderr, or none (default: when stderr is a terminal).")  # fmt: skip
def command(
    config: str,
    out: str,
    name: str | None,
    epochs: int | None,
    seed: int | None,
    batch_size: int | None,
    max_time_s: float | None,
    threads: int | None,
    device: str | None,
    sample: str | None,
    max_items: int | None,
    test_sample: str | None,
    signals: tuple[str, ...],
    contaminate: str | None,
    contamination: float | None,
    progress: bool | None,
) -> None:
    """Train the model described by CONFIG (a YAML file or a shipped config name) on its
    background sample and export it to ONNX with its model card.

    A bundle config (one with ``priors:``, e.g. ``quak``) trains every prior and writes
    them as one graph with one loss output per prior."""
    from ..errors import ConfigError
    from ..training.pipeline import train_from_config
    from ..training.settings import load_training_config

    path = _config_file(config)
    from ..training.bundle import is_bundle_config

    if is_bundle_config(path):
        if sample or max_items is not None or test_sample or signals or name or contaminate or contamination:
            raise ConfigError("--sample, --max-items, --test, --signal, --name and --contaminate apply to one model, "
                              f"not to the bundle {path} (edit its prior configs)")  # fmt: skip
        _train_bundle(path, out, progress, epochs=epochs, seed=seed, batch_size=batch_size,
                      max_time_s=max_time_s, threads=threads, device=device)  # fmt: skip
        return
    cfg = load_training_config(path, epochs=epochs, seed=seed, batch_size=batch_size,
                               max_time_s=max_time_s, threads=threads, device=device)  # fmt: skip
    train = cfg.train
    if sample is not None:
        train = dataclasses.replace(train, path=sample)
    if max_items is not None:
        train = dataclasses.replace(train, max_items=max_items)
    if len(signals) > len(cfg.signals):
        raise ConfigError(f"{len(signals)} --signal given but the config defines {len(cfg.signals)} signals")
    sigs = tuple(
        dataclasses.replace(s, path=signals[i]) if i < len(signals) else s
        for i, s in enumerate(cfg.signals)
    )
    test = cfg.test
    if test_sample is not None:
        base = test if test is not None else dataclasses.replace(train, max_items=0)
        test = dataclasses.replace(base, path=test_sample)
    if name is not None and not name.strip():
        raise ConfigError("--name must not be empty")
    cfg = dataclasses.replace(cfg, train=train, test=test, signals=sigs, name=(name or cfg.name).strip(),
                              contamination=_contamination(cfg, contaminate, contamination))  # fmt: skip
    report = train_from_config(cfg, out, progress=progress,
                               config_source=str(path))  # fmt: skip
    t = report.card.training
    click.echo(f"wrote {report.path} ({report.path.stat().st_size / 1024:.0f} kB)")
    click.echo(
        f"trained on {t['n_train']} {cfg.level}s (validation {t['n_validation']}, test {t['n_test']}) "
        f"for {t['epochs']} epochs (best {t['best_epoch']}, stop: {t['stop_reason']}), "
        f"wall {report.wall_s:.0f} s"
    )
    for name, value in report.metrics.items():
        click.echo(f"  {name} = {value:.6g}")
