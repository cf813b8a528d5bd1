"""The ``coffea-anomaly`` command line.

Each subcommand lives in its own small module ``coffea_anomaly.cli.<name>`` that
defines a click command called ``command``; it only parses arguments and calls
library functions. Modules are imported lazily, so ``coffea-anomaly --help`` is fast
and a subcommand's heavy imports (torch, pythia) happen only when it runs.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ..errors import CoffeaAnomalyError

__all__ = ["cli", "main"]

#: subcommand name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("generate", "Generate a Pythia 8 sample as NanoAOD-style ROOT files."),
    "train": ("train", "Train a model and export it to ONNX with its model card."),
    "evaluate": ("evaluate", "Score labelled samples with a model and report ROC/AUC."),
    "characterise": ("characterise", "Latent-space characterisation of a VAE: (m_jj, z) heat maps."),
    "run": ("run", "Run a processor over a fileset (iterative, futures or Dask)."),
    "bumphunt": ("bumphunt", "Fit m_jj, scan for a resonance and compute significances."),
    "inspect": ("inspect", "Print the model card of an ONNX model."),
    "demo": ("demo", "Run the whole chain on the embedded default sample."),
}


def hoist_debug(args: list[str]) -> tuple[list[str], bool]:
    """Move every ``--debug`` (before a ``--``) to the front, where the group takes it, so
    ``coffea-anomaly run --debug ...`` works as ``coffea-anomaly --debug run ...``."""
    end = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:end]
    if not debug:
        return args, False
    rest = [a for a in args[:end] if a != "--debug"] + args[end:]
    return ["--debug", *rest], True


def one_line(err: BaseException) -> str:
    """The error's message on one line (later lines are counted, ``--debug`` shows them)."""
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    more = f" [{len(lines) - 1} more line(s): --debug shows everything]" if len(lines) > 1 else ""
    return lines[0] + more


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        module_name, short_help = SUBCOMMANDS[cmd_name]
        module = importlib.import_module(f"{__package__}.{module_name}")
        command: click.Command = module.command
        if command.short_help is None:
            command.short_help = short_help
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="coffea-anomaly")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Unsupervised anomaly detection for jets, in coffea."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: one clear line and a non-zero exit on failure."""
    args, debug = hoist_debug(list(sys.argv[1:] if argv is None else argv))
    try:
        return cli.main(args=args, prog_name="coffea-anomaly", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("coffea-anomaly: aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("coffea-anomaly: interrupted", err=True)
        sys.exit(130)
    except (CoffeaAnomalyError, OSError) as err:
        if debug:
            raise
        click.echo(f"coffea-anomaly: error: {one_line(err)}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
