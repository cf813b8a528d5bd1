"""Fixed blocks of events: the unit of seeding, parallelism and output files.

A sample of N events is cut into ``ceil(N / block_size)`` blocks. Block ``b`` draws all
its random numbers from seeds derived from ``(seed, b)`` only, and is written to its
own file, so the events do not depend on how many worker processes run the blocks.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from ..errors import ConfigError
from .pythia import PythiaGenerator, pythia_seed
from .reconstruct import reconstruct_batch
from .recipes import load_recipe
from .settings import SampleRecipe
from .writer import write_events_file

__all__ = ["BlockResult", "BlockTask", "ComponentStats", "derive_seed", "plan_blocks", "run_block"]

_MIN_BATCH = 20
_MAX_BATCH = 500


def derive_seed(seed: int, block: int, stream: str) -> int:
    """A 60-bit seed that depends only on (seed, block index, stream name)."""
    digest = hashlib.sha256(f"{int(seed)}/{int(block)}/{stream}".encode()).hexdigest()
    return int(digest[:15], 16)


@dataclass(frozen=True)
class BlockTask:
    """One block to generate (picklable, sent to worker processes).

    Attributes:
        recipe: the resolved recipe.
        seed: the sample's seed.
        block: block index.
        n_events: accepted events this block must hold.
        path: the output file.
    """

    recipe: SampleRecipe
    seed: int
    block: int
    n_events: int
    path: Path


@dataclass(frozen=True)
class ComponentStats:
    """Bookkeeping of one generated process within a block.

    Attributes:
        process: recipe name.
        n_accepted: events kept (after the filter, before trimming to the block size).
        n_generated: events Pythia generated.
        sum_weights_accepted: generator-weight sum of the kept events.
        sum_weights_generated: generator-weight sum of all generated events.
        sigma_pb: Pythia's cross-section estimate (sigmaGen) after this block.
        sigma_err_pb: its error.
    """

    process: str
    n_accepted: int
    n_generated: int
    sum_weights_accepted: float
    sum_weights_generated: float
    sigma_pb: float
    sigma_err_pb: float


@dataclass(frozen=True)
class BlockResult:
    """What a finished block reports back.

    Attributes:
        block: block index.
        path: the written file.
        n_events: events in the file.
        seconds: wall time of the block.
        components: per-process bookkeeping (two entries for ``mixed``).
    """

    block: int
    path: Path
    n_events: int
    seconds: float
    components: tuple[ComponentStats, ...] = field(default_factory=tuple)


def plan_blocks(n_events: int, block_size: int) -> list[int]:
    """Event counts of the blocks: full blocks and a smaller last one."""
    n_full, rest = divmod(int(n_events), int(block_size))
    return [block_size] * n_full + ([rest] if rest else [])


def _generate(recipe: SampleRecipe, n_events: int, seed: int, block: int) -> tuple[ak.Array, ComponentStats]:
    """Generate ``n_events`` accepted events of a (non-mixed) recipe."""
    generator = PythiaGenerator(recipe.pythia_lines(), pythia_seed(derive_seed(seed, block, f"pythia/{recipe.process}")))
    rng = np.random.default_rng(derive_seed(seed, block, f"detector/{recipe.process}"))
    parts: list[ak.Array] = []
    n_accepted = n_generated = 0
    sum_w_gen = 0.0
    limit = n_events * recipe.filter.max_tries_per_event
    while n_accepted < n_events:
        if n_generated >= limit:
            raise ConfigError(
                f"{recipe.process}: only {n_accepted} of {n_generated} generated events pass the "
                f"{recipe.filter.kind} filter; loosen the filter or the generator cuts"
            )
        efficiency = (n_accepted + 1) / (n_generated + 1)
        wanted = math.ceil(1.1 * (n_events - n_accepted) / efficiency) + 2
        batch_size = int(min(_MAX_BATCH, max(_MIN_BATCH, wanted), limit - n_generated))
        result = reconstruct_batch(generator.next_batch(batch_size), generator, recipe, rng)
        parts.append(result.events)
        n_accepted += len(result.events)
        n_generated += result.n_generated
        sum_w_gen += result.sum_weights_generated
    events = ak.concatenate(parts) if len(parts) > 1 else parts[0]
    sum_w_acc = float(np.sum(ak.to_numpy(events.genWeight), dtype=np.float64))
    sigma, sigma_err = generator.sigma_pb()
    stats = ComponentStats(recipe.process, n_accepted, n_generated, sum_w_acc, sum_w_gen, sigma, sigma_err)
    return events[:n_events], stats


def _signal_count(n_before: int, n_block: int, fraction: float) -> int:
    """Signal events in a block: cumulative rounding, so the total is round(f * N)."""
    return math.floor(fraction * (n_before + n_block) + 0.5) - math.floor(fraction * n_before + 0.5)


def run_block(task: BlockTask) -> BlockResult:
    """Generate one block and write it to ``task.path`` (atomically).

    Args:
        task: the block to make.

    Returns:
        The block's bookkeeping.
    """
    start = time.perf_counter()
    recipe = task.recipe
    first_event = task.block * recipe.block_size + 1
    if recipe.mix is None:
        events, stats = _generate(recipe, task.n_events, task.seed, task.block)
        components: tuple[ComponentStats, ...] = (stats,)
    else:
        mix = recipe.mix
        n_sig = _signal_count(task.block * recipe.block_size, task.n_events, mix.signal_fraction)
        pieces, stats_list = [], []
        for name, overrides, n, label in (
            (mix.background, mix.background_overrides, task.n_events - n_sig, 0),
            (mix.signal, mix.signal_overrides, n_sig, 1),
        ):
            if n == 0:
                continue
            sub = load_recipe(name, overrides)
            sub_events, stats = _generate(sub, n, task.seed, task.block)
            sub_events = ak.with_field(sub_events, np.full(n, label, dtype=np.int32), "truthLabel")
            pieces.append(sub_events)
            stats_list.append(stats)
        events = ak.concatenate(pieces) if len(pieces) > 1 else pieces[0]
        order = np.random.default_rng(derive_seed(task.seed, task.block, "mix")).permutation(len(events))
        events = events[order]
        components = tuple(stats_list)
    write_events_file(task.path, events, run=1, luminosity_block=task.block + 1, first_event=first_event)
    return BlockResult(task.block, task.path, len(events), time.perf_counter() - start, components)
