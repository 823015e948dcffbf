"""doudi on Ray: evaluation and simulation partitioned by households, merged exactly.

doudi does not run a cluster of its own. These functions run inside a Ray cluster that the user
already operates (``ray.init()`` connects to it; without one, Ray starts a local one), with the
``doudi`` package installed on every node and the policy (and scenario) directories readable at
the same path on every node (a shared file system, or Ray's ``runtime_env={"working_dir": ...}``).

Why Ray and not Spark (docs/SCALE.md has the longer answer): the analysts of this field work in
Python with Arrow and pandas; Ray Data's ``map_batches`` hands a worker a ``pyarrow.Table`` with no
JVM in between and no serialisation beyond Arrow's, Ray installs with ``pip`` alone, and its actors
keep a loaded policy (or a simulator block) alive between calls.

What makes the results exact:

* a household's outputs depend only on the policy, the household and the month, so households can
  be evaluated anywhere;
* a household never spans two partitions: the driver nests each household's persons into its row
  (an Arrow list of structs), and the workers unnest them;
* programme totals travel as exact partial totals (``Policy.evaluate_partial``), merged by the
  driver in household order (``Policy.merge_totals``): the same figures, digit for digit, as one
  process's ``doudi eval --totals``;
* rows come back in input order (each carries its input row number).

>>> import doudi.distributed as dd
>>> dd.EVALUATE_BATCH
4096
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._partitions import PartitionsResult, evaluate_partitions, write_partitions
from ._policy import _period
from .errors import DataError

__all__ = [
    "EVALUATE_BATCH",
    "DistributedResult",
    "PartitionsResult",
    "evaluate",
    "evaluate_partitions",
    "nest",
    "simulate",
    "unnest",
    "write_partitions",
]

#: Households per batch handed to a worker by ``evaluate`` (a batch is the unit of work).
EVALUATE_BATCH = 4096

_ROW = "__doudi_row"
_PERSONS = "__doudi_persons"
_TOTALS = "__doudi_totals"
_WORKER = "__doudi_worker"


@dataclass(frozen=True)
class DistributedResult:
    """What ``evaluate`` returns: the rows, the programme totals, and who computed them."""

    #: One row per household, in input order, as ``Policy.evaluate`` gives them.
    table: pa.Table
    #: The programme definitions over all households (exact: ``decimal.Decimal``, ``int``, ``bool``).
    totals: dict[str, Any]
    #: Batches evaluated, and the distinct worker processes that evaluated them.
    batches: int
    workers: int


def _as_table(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    return pa.Table.from_pandas(data, preserve_index=False)


def _first_duplicate(column: pa.ChunkedArray) -> tuple[int, str] | None:
    """The first row (0-based) whose value appeared before, and the value."""
    counts = pc.value_counts(column)
    dup = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(dup) == 0:
        return None
    rows = pc.indices_nonzero(pc.is_in(column, value_set=dup)).to_numpy()
    seen: set[str] = set()
    values = column.take(pa.array(rows)).to_pylist()
    for row, value in zip(rows, values):
        if value in seen:
            return int(row), str(value)
        seen.add(value)
    return None


def nest(households: Any, persons: Any) -> pa.Table:
    """The households with their persons nested in each row (so no household spans partitions),
    and each row's input position.

    Checks what a partition cannot see on its own: household ids and person ids unique across the
    whole input, and every person's household present. Row numbers in messages count the header
    as line 1, as the CSV reader's do.
    """
    households = _as_table(households)
    persons = _as_table(persons)
    for name, table in (("households", households), ("persons", persons)):
        if "household_id" not in table.column_names:
            raise DataError(f"{name}: no `household_id` column", file=name, field="household_id")
    for name, table, field in (
        ("households", households, "household_id"),
        ("persons", persons, "person_id"),
    ):
        if field in table.column_names:
            dup = _first_duplicate(table.column(field))
            if dup is not None:
                row, value = dup
                raise DataError(
                    f"{name} row {row + 2}: {field} `{value}` appears twice",
                    file=name,
                    row=row + 2,
                    field=field,
                )
    index = pc.index_in(persons.column("household_id"), value_set=households.column("household_id"))
    if index.null_count:
        row = int(pc.indices_nonzero(pc.is_null(index))[0].as_py())
        hid = persons.column("household_id")[row].as_py()
        raise DataError(
            f"persons row {row + 2}: household_id `{hid}` is not in households",
            file="persons",
            row=row + 2,
            field="household_id",
        )
    order = pc.sort_indices(index)  # stable: a household's persons keep their input order
    grouped = persons.take(order).combine_chunks()
    counts = np.bincount(index.to_numpy(zero_copy_only=False), minlength=households.num_rows)
    offsets = np.zeros(households.num_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    members = pa.StructArray.from_arrays(
        [grouped.column(c).combine_chunks() for c in grouped.column_names],
        names=grouped.column_names,
    )
    nested = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), members)
    return households.append_column(_PERSONS, nested).append_column(
        _ROW, pa.array(np.arange(households.num_rows, dtype=np.int64))
    )


def unnest(batch: pa.Table) -> tuple[pa.Table, pa.Table, pa.Array]:
    """A nested batch back into (households, persons, input rows)."""
    lists = batch.column(_PERSONS).combine_chunks()
    persons = pa.Table.from_struct_array(lists.flatten())
    households = batch.drop_columns([_PERSONS, _ROW])
    return households, persons, batch.column(_ROW).combine_chunks()


class _Evaluator:
    """A Ray actor's work: the policy loaded once, then one nested batch at a time."""

    def __init__(self, policy: Any, period: str, outputs: Sequence[str] | None) -> None:
        self.policy = policy
        self.period = period
        self.outputs = list(outputs) if outputs is not None else None

    def __call__(self, batch: pa.Table) -> pa.Table:
        households, persons, rows = unnest(batch)
        table, partial = self.policy.evaluate_partial(
            households, persons, self.period, outputs=self.outputs
        )
        n = table.num_rows
        totals = pa.array([partial] + [None] * (n - 1), pa.binary()) if n else pa.array([], pa.binary())
        return (
            table.append_column(_ROW, rows)
            .append_column(_TOTALS, totals)
            .append_column(_WORKER, pa.array([os.getpid()] * n, pa.int64()))
        )


def evaluate(
    policy: Any,
    households: Any,
    persons: Any,
    period: str,
    *,
    outputs: Sequence[str] | None = None,
    set: Mapping[str, Any] | None = None,
    workers: int = 2,
    batch_size: int = EVALUATE_BATCH,
) -> DistributedResult:
    """Evaluates ``policy`` on the households with Ray Data's ``map_batches`` on ``workers``
    actors (worker processes), and merges the programme totals in household order.

    ``policy`` is a ``doudi.Policy`` (pickled to the workers as its path and overrides) or a path.
    The rows and the totals equal ``policy.evaluate`` and ``doudi eval --totals`` on one machine.
    """
    import ray

    from . import Policy

    if not isinstance(policy, Policy):
        policy = Policy.load(policy)
    if set:
        policy = policy.with_params(set)
    period = _period(period)
    nested = nest(households, persons)
    if not ray.is_initialized():
        ray.init(log_to_driver=False, include_dashboard=False)
    # One block per batch of households: the partitions are explicit, and every actor gets work.
    blocks = [nested.slice(i, batch_size) for i in range(0, nested.num_rows, max(batch_size, 1))]
    ds = ray.data.from_arrow(blocks or [nested]).map_batches(
        _Evaluator,
        fn_constructor_args=(policy, period, outputs),
        batch_format="pyarrow",
        batch_size=None,
        concurrency=workers,
        zero_copy_batch=True,
    )
    parts = [t for t in ray.get(ds.to_arrow_refs()) if t.num_rows]
    table = pa.concat_tables(parts) if parts else None
    if table is None:
        empty = policy.evaluate(households, persons, period, outputs=outputs)
        return DistributedResult(empty, policy.merge_totals([], period), 0, 0)
    table = table.take(pc.sort_indices(table.column(_ROW)))
    partials = [p for p in table.column(_TOTALS).to_pylist() if p is not None]
    workers_seen = len(np.unique(table.column(_WORKER).to_numpy()))
    totals = policy.merge_totals(partials, period)
    rows = table.drop_columns([_ROW, _TOTALS, _WORKER])
    return DistributedResult(rows, totals, len(partials), workers_seen)


class _BlockActor:
    """A Ray actor holding one household block of a scenario between the phases of each run: it
    builds only its block's households (``setup``: the driver's message for it)."""

    def __init__(self, scenario: Any, setup: str, cwd: str) -> None:
        from . import _native

        os.chdir(cwd)  # a dict scenario's relative paths resolve as on the driver
        self.worker = _native.SimBlockWorker(scenario, setup)

    def census(self) -> str:
        return self.worker.census()

    def settle(self, settle: str) -> int:
        self.worker.settle(settle)
        return self.worker.households

    def measure(self, spec: str) -> str:
        return self.worker.measure(spec)

    def months(self, weights: str | None) -> str:
        return self.worker.months(weights)

    def pid(self) -> int:
        return os.getpid()


def simulate(
    scenario: Any,
    *,
    workers: int = 2,
    out: str | os.PathLike[str] | None = None,
    actor_options: Mapping[str, Any] | None = None,
) -> Any:
    """Runs a scenario in ``workers`` household blocks, one Ray actor (worker process) each, and
    returns what ``doudi.simulate`` returns (a ``Report``, with ``workers``: the distinct worker
    processes that ran the blocks, and ``block_households``: the households each held); with ``out``, writes the report there. The report is
    the single-machine report, byte for byte (docs/SIMULATOR.md, "Running in household blocks").

    First the set-up: the driver finds the population's size (and, for a generated population,
    the main sample's weight and the oversampled strata's extra households) without keeping a
    household; each actor builds only its block's households and sends back its census (sums over
    them: regions, counts, persons); the driver adds them and sends every actor the regions, the
    observed take-up and the employed share. Then the take-up fit, when the scenario asks for it
    (its trial runs go through the actors).
    Then per run: every actor simulates its block through the burn-in and measures the first
    reported month; the driver rakes the rows of every block together and sends each its weights;
    the actors simulate the reported months; the driver merges their exact sums in block order.
    """
    import ray

    from . import _native

    if isinstance(scenario, (str, os.PathLike)):
        scenario = os.path.abspath(scenario)
    if not ray.is_initialized():
        ray.init(log_to_driver=False, include_dashboard=False)
    driver = _native.SimBlockDriver(scenario, workers)
    actor = ray.remote(_BlockActor).options(**dict(actor_options or {"num_cpus": 1}))
    actors = [
        actor.remote(scenario, driver.block_setup(b), os.getcwd()) for b in range(workers)
    ]

    def measure(spec: str) -> list[str]:
        return ray.get([a.measure.remote(spec) for a in actors])

    def months(weights: list[str]) -> list[str]:
        return ray.get(
            [a.months.remote(weights[b] if weights else None) for b, a in enumerate(actors)]
        )

    try:
        settle = driver.census(ray.get([a.census.remote() for a in actors]))
        held = ray.get([a.settle.remote(settle) for a in actors])
        driver.fit(measure, months)  # the take-up fit's trial runs, when the scenario fits it
        for run in range(driver.runs):
            driver.merge(months(driver.rake(measure(driver.spec(run)))))
        pids = ray.get([a.pid.remote() for a in actors])
    finally:
        for a in actors:
            ray.kill(a)
    from ._simulate import Report

    report = Report(driver.finish(None if out is None else os.fspath(out)))
    report.workers = len(set(pids))  # type: ignore[attr-defined]
    #: The households each actor held in memory (its block's), in block order.
    report.block_households = held  # type: ignore[attr-defined]
    return report
