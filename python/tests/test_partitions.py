"""doudi.distributed.evaluate_partitions: a population cut into Parquet pairs on disk, each read by
a Ray worker itself. The rows (returned, or written by the workers) and the programme totals equal
one machine's, exactly, whatever the number of partitions and workers.

Skipped when Ray is not installed, unless DOUDI_REQUIRE_RAY is set (as .ci/run sets it)."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import JIAN
from test_distributed import PERIOD, cli_totals, generated, printed, read_pair

import doudi

if os.environ.get("DOUDI_REQUIRE_RAY"):
    import ray
else:
    ray = pytest.importorskip("ray")

import doudi.distributed as dd  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated(tmp_path_factory.mktemp("population"), 700)


@pytest.mark.parametrize(("parts", "workers"), [(1, 1), (3, 2), (5, 4)])
def test_partitions_on_disk_equal_one_machine(
    tmp_path: Path, population: Path, parts: int, workers: int
) -> None:
    households, persons = read_pair(population)
    # Persons reversed: each partition still gets all of its households' persons.
    persons = persons.take(pa.array(list(reversed(range(persons.num_rows)))))
    dirs = dd.write_partitions(households, persons, tmp_path / "parts", parts)
    assert [d.name for d in dirs] == [f"part-{k:05d}" for k in range(parts)]
    policy = doudi.Policy.load(JIAN)
    alone = policy.evaluate(*read_pair(population), PERIOD)
    want_totals = cli_totals(population)

    result = dd.evaluate_partitions(policy, dirs, PERIOD, workers=workers)
    assert result.table is not None and result.table.equals(alone)
    assert sum(result.households) == households.num_rows and len(result.households) == parts
    assert {k: printed(v) for k, v in result.totals.items()} == want_totals
    assert 1 <= result.workers <= workers

    out = tmp_path / "out"
    written = dd.evaluate_partitions(policy, dirs, PERIOD, workers=workers, out=out)
    assert written.table is None
    files = sorted(os.listdir(out))
    assert files == [f"part-{k:05d}.parquet" for k in range(parts)]
    rows = pa.concat_tables([pq.read_table(out / f) for f in files])
    assert rows.equals(alone)
    assert written.totals == result.totals


def test_a_bad_partition_names_its_file(tmp_path: Path, population: Path) -> None:
    households, persons = read_pair(population)
    dirs = dd.write_partitions(households, persons, tmp_path / "parts", 2)
    bad = pq.read_table(dirs[1] / "persons.parquet")
    ages = bad.column("age").to_pylist()
    ages[4] = "two hundred"
    pq.write_table(bad.set_column(bad.schema.get_field_index("age"), "age", pa.array(ages)),
                   dirs[1] / "persons.parquet")
    with pytest.raises(doudi.DataError) as e:
        dd.evaluate_partitions(JIAN, dirs, PERIOD, workers=2)
    assert e.value.file == str(dirs[1] / "persons.parquet")
    assert e.value.row == 5 and e.value.field == "age"
    assert str(e.value).startswith(str(dirs[1] / "persons.parquet"))
    (dirs[0] / "households.parquet").unlink()
    with pytest.raises(doudi.DataError, match="no such file"):
        dd.evaluate_partitions(JIAN, dirs, PERIOD, workers=2)
