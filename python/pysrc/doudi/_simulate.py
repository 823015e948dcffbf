"""Simulator scenarios: ``doudi simulate`` from Python, its report's tables as DataFrames."""

from __future__ import annotations

import decimal
import io
import json
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Union

from . import _native

if TYPE_CHECKING:
    import pandas

__all__ = ["simulate", "Report", "Scenario"]

#: A scenario: the path of a TOML file (``scenarios/…toml``), or a dict of the same structure
#: (relative paths in it resolve against the working directory).
Scenario = Union[str, "os.PathLike[str]", Mapping[str, Any]]

_SERIES_DECIMALS = ("mean", "median", "p5", "p95")


def simulate(
    scenario: Scenario,
    *,
    runs: int | None = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> Report:
    """Runs a simulator scenario as ``doudi simulate`` does and returns its report's tables.

    ``runs`` overrides the scenario's number of Monte Carlo runs (``--runs``); ``out`` also writes
    the report directory (``--out``: CSV tables, charts, ``summary.json``, ``report.html``,
    ``report.xlsx``); ``force`` runs a scenario the size estimate refuses (``--force``). The GIL
    is released while it runs. Raises :class:`~doudi.ScenarioError` for a scenario that does not
    read, validate or set up, :class:`~doudi.EvalError` when the simulation stops.

    >>> import doudi
    >>> report = doudi.simulate({
    ...     "scenario": {"name": "tiny", "policy": "policies/jian", "start": "2024-07",
    ...                  "months": 2, "runs": 1, "seed": 5},
    ...     "population": {"data": "policies/jian/examples/population", "weight": 100},
    ... })
    >>> list(report)[:3]
    ['monthly', 'yearly', 'regions']
    >>> report.monthly.columns[0], report.monthly["month"].tolist()
    ('variant', ['2024-07', '2024-08'])
    """
    if isinstance(scenario, Mapping):
        scenario = dict(scenario)
    else:
        scenario = os.fspath(scenario)
    raw = _native.simulate(scenario, runs, os.fspath(out) if out is not None else None, force)
    return Report(raw)


class Report(Mapping[str, "pandas.DataFrame"]):
    """The tables of a simulation report, by name (the CSV files of the report directory without
    ``.csv``): a mapping ``name → pandas.DataFrame``, each table also an attribute
    (``report.monthly``).

    Columns are the CSV files' columns. Money (``…_yuan``, yuan with two decimals), counts and
    shares are :class:`decimal.Decimal` (the CSV text, exact: never a float), simulated case
    counts ``int``, labels ``str``. Each DataFrame's ``attrs`` hold its ``title`` (Chinese),
    ``title_en``, ``note`` and ``headers`` (the bilingual column headers of ``report.html``).

    ``series`` is ``series.csv`` (every cell, long format), ``summary`` the dict of
    ``summary.json``, ``headline`` the text ``doudi simulate`` prints, ``files`` the report's
    files when ``out`` was given, ``warnings`` what the set-up warned about.
    """

    def __init__(self, raw: dict[str, Any]) -> None:
        import pandas

        self._tables: dict[str, pandas.DataFrame] = {}
        for t in raw["tables"]:
            frame = pandas.DataFrame(t["rows"], columns=t["columns"], dtype=object)
            for column in frame.columns:
                values = frame[column]
                if len(values) and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                    frame[column] = values.astype("int64")
            frame.attrs.update(
                title=t["title"], title_en=t["title_en"], note=t["note"], headers=t["headers"]
            )
            self._tables[t["name"]] = frame
        series = pandas.read_csv(io.StringIO(raw["series"]), dtype=str, keep_default_na=False)
        for column in _SERIES_DECIMALS:
            series[column] = series[column].map(decimal.Decimal)
        series["simulated_cases"] = series["simulated_cases"].astype("int64")
        series["few_cases"] = series["few_cases"] == "true"
        self.series: pandas.DataFrame = series
        self.summary: dict[str, Any] = json.loads(raw["summary"], parse_float=decimal.Decimal)
        self.headline: str = raw["headline"]
        self.files: list[str] = list(raw["files"])
        self.warnings: list[str] = list(raw["warnings"])

    def __getitem__(self, name: str) -> pandas.DataFrame:
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __getattr__(self, name: str) -> pandas.DataFrame:
        tables: dict[str, pandas.DataFrame] = self.__dict__.get("_tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(f"no table `{name}` in this report (tables: {', '.join(tables)})")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._tables))

    def __repr__(self) -> str:
        return f"<doudi.Report: {', '.join(self._tables)}>\n{self.headline.rstrip()}"

    def _repr_html_(self) -> str:
        import html

        items = "".join(
            f"<li><code>{html.escape(n)}</code>: {html.escape(t.attrs.get('title', ''))} "
            f"{html.escape(t.attrs.get('title_en', ''))} ({len(t)} rows)</li>"
            for n, t in self._tables.items()
        )
        return f"<pre>{html.escape(self.headline)}</pre><ul>{items}</ul>"
