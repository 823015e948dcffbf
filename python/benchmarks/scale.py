"""The measurements of docs/SCALE.md: doudi on a local Ray cluster with 1, 2 and 4 worker processes.

    python python/benchmarks/scale.py eval DIR          # a CSV pair (e.g. /tmp/pop1m), period 2024-01
    python python/benchmarks/scale.py simulate N M [--workers 1,2,4] [--no-alone]
                                                        # N generated households, M months, one run

`eval` reads the pair into Arrow first (not timed), then times `Policy.evaluate` in this process and
`doudi.distributed.evaluate` with 1, 2 and 4 workers; `simulate` times `doudi.simulate` and
`doudi.distributed.simulate` with 1, 2 and 4 workers on a copy of scenarios/jian-city-scale.toml
with N households and M months (`--no-alone` skips the single-process run: the distributed runs are
then compared with the first of them). Each line gives the wall time and the peak resident memory of the
driver and of each Ray worker process (sampled every 0.2 s from /proc), and checks that the
distributed result equals the single-process one.
"""

from __future__ import annotations

import filecmp
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pv

ROOT = Path(__file__).resolve().parents[2]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Peaks:
    """Peak resident memory of this process and of every Ray worker process while it runs."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def workers(self) -> list[int]:
        pids = []
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    cmd = (p / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"ray::" in cmd or b"default_worker.py" in cmd:
                    pids.append(int(p.name))
        return pids

    def sample(self) -> None:
        while not self.stop.is_set():
            for pid in [os.getpid(), *self.workers()]:
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), rss_mb(pid))
            time.sleep(0.2)

    def __enter__(self) -> Peaks:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def describe(self) -> str:
        driver = self.peaks.get(os.getpid(), 0.0)
        workers = sorted((v for k, v in self.peaks.items() if k != os.getpid()), reverse=True)
        busy = [w for w in workers if w > 200]  # idle pool processes hold ~100 MB
        shown = ", ".join(f"{w:.0f}" for w in busy) or "-"
        return f"driver {driver:.0f} MB; busy workers {shown} MB"


def read_pair(data: Path) -> tuple[pa.Table, pa.Table]:
    def read(path: Path) -> pa.Table:
        header = path.open(encoding="utf-8").readline().strip().split(",")
        opts = pv.ConvertOptions(column_types={c: pa.string() for c in header})
        return pv.read_csv(path, convert_options=opts)

    return read(data / "households.csv"), read(data / "persons.csv")


def bench_eval(data: Path) -> None:
    import ray

    import doudi
    import doudi.distributed as dd

    t = time.perf_counter()
    households, persons = read_pair(data)
    print(f"read {households.num_rows} households, {persons.num_rows} persons into Arrow "
          f"in {time.perf_counter() - t:.1f} s (not counted below)")
    policy = doudi.Policy.load(ROOT / "policies/jian")
    with Peaks() as peaks:
        t = time.perf_counter()
        alone = policy.evaluate(households, persons, "2024-01")
        wall = time.perf_counter() - t
    print(f"Policy.evaluate, one process: {wall:.1f} s; {peaks.describe()}")
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, configure_logging=False)
    for workers in (1, 2, 4):
        with Peaks() as peaks:
            t = time.perf_counter()
            r = dd.evaluate(policy, households, persons, "2024-01", workers=workers,
                            batch_size=65536)
            wall = time.perf_counter() - t
        same = r.table.equals(alone)
        print(f"distributed.evaluate, {workers} worker(s): {wall:.1f} s, {r.batches} batches, "
              f"equal to one process: {same}; {peaks.describe()}")
    ray.shutdown()


def scenario(tmp: Path, households: int, months: int) -> Path:
    text = (ROOT / "scenarios/jian-city-scale.toml").read_text(encoding="utf-8")
    text = text.replace('policy = "../policies/jian"', f'policy = "{ROOT / "policies/jian"}"')
    text = text.replace('spec = "populations/jian.toml"',
                        f'spec = "{ROOT / "scenarios/populations/jian.toml"}"')
    text = text.replace("months = 24", f"months = {months}")
    text = text.replace("households = 1520000", f"households = {households}")
    path = tmp / "scale.toml"
    path.write_text(text, encoding="utf-8")
    return path


def same_reports(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    _, diff, err = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not (diff or err or cmp.left_only or cmp.right_only)


def bench_simulate(households: int, months: int, workers_list: list[int], alone: bool) -> None:
    import ray

    import doudi
    import doudi.distributed as dd

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = scenario(tmp, households, months)
        first = None
        if alone:
            with Peaks() as peaks:
                t = time.perf_counter()
                doudi.simulate(path, out=tmp / "alone")
                wall = time.perf_counter() - t
            first = tmp / "alone"
            print(f"doudi.simulate, one process: {wall:.1f} s; {peaks.describe()}", flush=True)
        ray.init(num_cpus=max(4, *workers_list), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        for workers in workers_list:
            out = tmp / f"ray{workers}"
            with Peaks() as peaks:
                t = time.perf_counter()
                dd.simulate(path, workers=workers, out=out)
                wall = time.perf_counter() - t
            if first is None:
                first, same = out, "(the first run: nothing to compare with)"
            else:
                same = f"identical to {first.name}: {same_reports(first, out)}"
            print(f"distributed.simulate, {workers} worker(s): {wall:.1f} s, report {same}; "
                  f"{peaks.describe()}", flush=True)
        ray.shutdown()


USAGE = """usage: scale.py eval DIR
       scale.py simulate HOUSEHOLDS MONTHS [--workers 1,2,4] [--no-alone]"""


if __name__ == "__main__":
    print(f"load average before: {os.getloadavg()}", flush=True)
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "eval":
        bench_eval(Path(args[1]))
    elif len(args) >= 3 and args[0] == "simulate":
        rest = args[3:]
        workers = [1, 2, 4]
        if "--workers" in rest:
            workers = [int(w) for w in rest[rest.index("--workers") + 1].split(",")]
        bench_simulate(int(args[1]), int(args[2]), workers, "--no-alone" not in rest)
    else:
        sys.exit(USAGE)
    print(f"load average after: {os.getloadavg()}")
