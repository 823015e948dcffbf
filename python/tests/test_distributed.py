"""doudi on Ray (doudi.distributed): a local Ray cluster with several worker processes evaluates and
simulates partitioned by households, and the results equal the single-machine results exactly:
the rows and the programme totals of `doudi eval --totals`, and every file of the report of
`doudi simulate`, byte for byte, with 1, 2 and 4 workers.

Skipped when Ray is not installed, unless DOUDI_REQUIRE_RAY is set (.ci/run installs Ray and sets
it, so CI cannot skip them)."""

from __future__ import annotations

import decimal
import filecmp
import os
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import JIAN, POPULATION, ROOT, doudi_cli, population_arrow

import doudi

if os.environ.get("DOUDI_REQUIRE_RAY"):
    import ray
else:
    ray = pytest.importorskip("ray")

import doudi.distributed as dd  # noqa: E402

PERIOD = "2024-01"
SCENARIO = ROOT / "tests/data/simulate/blocks.toml"


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """A local Ray cluster with room for four worker processes (logical CPUs: the workers share
    this machine's cores)."""
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def cli_totals(data: Path) -> dict[str, str]:
    """`doudi eval --totals` on one machine: programme definition → the printed value."""
    out = doudi_cli(
        "eval", "--policy", str(JIAN), "--data", str(data), "--period", PERIOD,
        "--format", "csv", "--totals",
    )
    assert out.returncode == 0, out.stderr
    totals = {}
    for line in out.stderr.splitlines():
        if line.startswith("  ") and " = " in line:
            name = line.split()[0]
            totals[name] = line.rsplit(" = ", 1)[1]
    assert totals, out.stderr
    return totals


def generated(tmp: Path, households: int) -> Path:
    """A generated population (`doudi generate`), as a CSV pair in `tmp`."""
    out = doudi_cli(
        "generate", "--spec", "scenarios/populations/jian.toml", "--households", str(households),
        "--seed", "5", "--out", str(tmp), "--policy", str(JIAN), "--period", PERIOD,
    )
    assert out.returncode == 0, out.stderr
    return tmp


def read_pair(data: Path) -> tuple[pa.Table, pa.Table]:
    """A CSV pair with every cell as text (as doudi's own reader sees it)."""
    import pyarrow.csv as pv

    def read(path: Path) -> pa.Table:
        header = path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
        opts = pv.ConvertOptions(column_types={c: pa.string() for c in header})
        return pv.read_csv(path, convert_options=opts)

    return read(data / "households.csv"), read(data / "persons.csv")


def printed(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_evaluate_on_ray_equals_one_machine(tmp_path: Path, workers: int) -> None:
    data = generated(tmp_path, 900)
    households, persons = read_pair(data)
    # Persons shuffled: the driver nests each household's persons into its row.
    persons = persons.take(pa.array(list(reversed(range(persons.num_rows)))))
    policy = doudi.Policy.load(JIAN)
    result = dd.evaluate(policy, households, persons, PERIOD, workers=workers, batch_size=50)
    alone = policy.evaluate(*read_pair(data), PERIOD)
    assert result.table.equals(alone)
    assert result.batches == 18
    assert result.workers == workers or (workers == 4 and result.workers >= 2)
    assert {k: printed(v) for k, v in result.totals.items()} == cli_totals(data)
    assert isinstance(result.totals["dibao_payment_total"], decimal.Decimal)


def test_evaluate_on_ray_the_example_population() -> None:
    households, persons = population_arrow()
    policy = doudi.Policy.load(JIAN)
    result = dd.evaluate(policy, households, persons, PERIOD, workers=2, batch_size=7)
    assert result.table.equals(policy.evaluate(households, persons, PERIOD))
    assert {k: printed(v) for k, v in result.totals.items()} == cli_totals(POPULATION)


def test_what_a_partition_cannot_see_is_checked_by_the_driver() -> None:
    households, persons = population_arrow()
    twice = pa.concat_tables([persons, persons.slice(3, 1)])
    with pytest.raises(doudi.DataError) as e:
        dd.nest(households, twice)
    assert e.value.row == persons.num_rows + 2 and e.value.field == "person_id"
    orphan = persons.set_column(1, "household_id", pa.array(["H999"] * persons.num_rows))
    with pytest.raises(doudi.DataError, match="H999"):
        dd.nest(households, orphan)


def test_partial_totals_of_another_month_are_refused() -> None:
    households, persons = population_arrow()
    policy = doudi.Policy.load(JIAN)
    _, partial = policy.evaluate_partial(households, persons, "2024-01")
    with pytest.raises(doudi.EvalError, match="2024-02"):
        policy.merge_totals([partial], "2024-02")


def same_files(a: Path, b: Path) -> list[str]:
    """The files that differ between two report directories (or exist in one only)."""
    cmp = filecmp.dircmp(a, b)
    assert not cmp.left_only and not cmp.right_only, (cmp.left_only, cmp.right_only)
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return mismatch + errors


@pytest.fixture(scope="module")
def single_machine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("single") / "report"
    doudi.simulate(SCENARIO, out=out)
    return out


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_simulate_on_ray_writes_the_single_machine_report(
    tmp_path: Path, single_machine: Path, workers: int
) -> None:
    out = tmp_path / "report"
    report = dd.simulate(SCENARIO, workers=workers, out=out)
    assert report.workers == workers
    # Each actor built and held only its block's households (the plan's ranges, which cover the
    # population once).
    from doudi import _native

    plan = _native.SimBlockDriver(str(SCENARIO), workers).plan
    assert report.block_households == [b - a for a, b in plan]
    if workers > 1:
        assert max(report.block_households) < sum(report.block_households)
    files = sorted(os.listdir(out))
    assert "summary.json" in files and "report.html" in files
    assert same_files(single_machine, out) == []
