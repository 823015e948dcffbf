"""Evaluation of a population already cut into partitions on disk (one Parquet pair each), read by
the workers themselves: the driver never holds the households, only each partition's exact partial
programme totals (and, when no output directory is given, the output rows).

A partition is a directory holding ``households.parquet`` and ``persons.parquet`` (the columns of
the CSV pair, docs/DATA.md), as ``doudi generate --format parquet`` or :func:`write_partitions`
writes them. Every household's persons are in its partition: that is the partitioner's promise,
and a person whose household is not in its partition is an error naming the partition.

What each worker checks is what ``doudi eval --data`` checks on that pair (ids unique within the
partition, every person's household present, every value of its declared type and range). What
no partition can see, household and person ids unique *across* partitions, is not checked: the
driver would need every id of the population. Partitions written by :func:`write_partitions` from
one checked table satisfy it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pyarrow as pa

from ._policy import _period
from .errors import DataError

HOUSEHOLDS = "households.parquet"
PERSONS = "persons.parquet"


@dataclass(frozen=True)
class PartitionsResult:
    """What ``evaluate_partitions`` returns."""

    #: The rows of every partition in partition order, or ``None`` when they were written to
    #: ``out`` (one ``part-NNNNN.parquet`` a partition).
    table: pa.Table | None
    #: The programme definitions over all partitions (exact), merged in partition order.
    totals: dict[str, Any]
    #: Households evaluated in each partition, in partition order.
    households: list[int]
    #: The distinct worker processes that evaluated partitions.
    workers: int


def write_partitions(
    households: Any, persons: Any, out: str | os.PathLike[str], parts: int
) -> list[Path]:
    """Cuts a population into ``parts`` partitions of consecutive households (each with all its
    persons) and writes each as a Parquet pair in ``out/part-NNNNN/``; returns the directories in
    order. The tables are checked first as ``doudi.distributed.evaluate`` checks them (ids unique,
    every person's household present)."""
    import pyarrow.parquet as pq

    from .distributed import nest, unnest

    if parts < 1:
        raise ValueError("parts must be at least 1")
    nested = nest(households, persons)
    n = nested.num_rows
    dirs = []
    for k in range(parts):
        start, end = n * k // parts, n * (k + 1) // parts
        h, p, _ = unnest(nested.slice(start, end - start))
        d = Path(out) / f"part-{k:05d}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(h, d / HOUSEHOLDS)
        pq.write_table(p, d / PERSONS)
        dirs.append(d)
    return dirs


class _PartitionEvaluator:
    """A Ray actor: the policy loaded once, then one partition at a time, read from disk."""

    def __init__(self, policy: Any, period: str, outputs: Sequence[str] | None) -> None:
        self.policy = policy
        self.period = period
        self.outputs = list(outputs) if outputs is not None else None

    def run(self, k: int, part: str, out: str | None) -> tuple[int, int, bytes, int, Any]:
        import pyarrow.parquet as pq

        tables = []
        for name in (HOUSEHOLDS, PERSONS):
            path = os.path.join(part, name)
            if not os.path.isfile(path):
                raise DataError(f"{path}: no such file (a partition holds {HOUSEHOLDS} and "
                                f"{PERSONS})", file=path)
            tables.append(pq.read_table(path))
        try:
            table, partial = self.policy.evaluate_partial(
                tables[0], tables[1], self.period, outputs=self.outputs
            )
        except DataError as e:
            raise _in_partition(e, part) from None
        rows = None
        if out is not None:
            pq.write_table(table, os.path.join(out, f"part-{k:05d}.parquet"))
        else:
            rows = table
        return k, table.num_rows, partial, os.getpid(), rows


def _in_partition(e: DataError, part: str) -> DataError:
    """A partition's data error, naming the partition's file instead of the bare table."""
    name = {"households": HOUSEHOLDS, "persons": PERSONS}.get(e.file)
    if name is None:
        return e
    path = os.path.join(part, name)
    message = e.message.replace(e.file, path, 1) if e.message.startswith(e.file) else e.message
    return DataError(message, file=path, row=e.row, field=e.field, expected=e.expected)


def evaluate_partitions(
    policy: Any,
    partitions: Sequence[str | os.PathLike[str]],
    period: str,
    *,
    outputs: Sequence[str] | None = None,
    set: Mapping[str, Any] | None = None,
    workers: int = 2,
    out: str | os.PathLike[str] | None = None,
) -> PartitionsResult:
    """Evaluates ``policy`` on partitions on disk with ``workers`` Ray actors, each reading its
    partitions itself; merges the partial programme totals in partition order.

    With ``out``, each partition's rows are written to ``out/part-NNNNN.parquet`` by the worker
    (the driver holds only the totals); without, they come back and are concatenated in partition
    order. The rows and totals equal ``Policy.evaluate`` and ``doudi eval --totals`` on the
    partitions' households concatenated in order, on one machine.
    """
    import ray
    from ray.util import ActorPool

    from . import Policy

    if not isinstance(policy, Policy):
        policy = Policy.load(policy)
    if set:
        policy = policy.with_params(set)
    period = _period(period)
    parts = [os.path.abspath(os.fspath(p)) for p in partitions]
    out_dir = None
    if out is not None:
        out_dir = os.path.abspath(os.fspath(out))
        os.makedirs(out_dir, exist_ok=True)
    if not ray.is_initialized():
        ray.init(log_to_driver=False, include_dashboard=False)
    actor = ray.remote(_PartitionEvaluator).options(num_cpus=1)
    actors = [actor.remote(policy, period, outputs) for _ in range(max(1, min(workers, len(parts))))]
    try:
        pool = ActorPool(actors)
        done = list(pool.map(lambda a, kp: a.run.remote(kp[0], kp[1], out_dir), enumerate(parts)))
    except ray.exceptions.RayTaskError as e:
        if isinstance(e.cause, DataError):
            raise e.cause from None
        raise
    finally:
        for a in actors:
            ray.kill(a)
    done.sort(key=lambda r: r[0])
    totals = policy.merge_totals([r[2] for r in done], period)
    table = None
    if out_dir is None:
        tables = [r[4] for r in done]
        table = pa.concat_tables(tables) if tables else None
    return PartitionsResult(table, totals, [r[1] for r in done], len({r[3] for r in done}))
