"""The policy: load, evaluate, explain."""

from __future__ import annotations

import datetime
import decimal
import html
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from . import _native
from .errors import ParameterError, PeriodError

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = ["Policy", "Explanation", "Period", "Overrides", "Table"]

#: A month: ``"YYYY-MM"``, or a :class:`datetime.date` (its month).
Period = Union[str, datetime.date]
#: Parameter overrides, as ``doudi eval --set NAME=VALUE``: a mapping ``{"dibao_standard.urban":
#: "750"}``, strings ``["dibao_standard.urban=750"]`` or ``(name, value)`` pairs. Values are text, ``int``,
#: :class:`decimal.Decimal` or ``bool`` (a ``float`` is refused: write ``"0.3"``).
Overrides = Union[
    Mapping[str, Union[str, int, decimal.Decimal, bool]],
    Iterable[Union[str, tuple[str, Union[str, int, decimal.Decimal, bool]]]],
]
#: A table of households or persons: a ``pyarrow.Table`` (or anything with the Arrow PyCapsule
#: stream interface, such as a ``pyarrow.RecordBatch`` or ``RecordBatchReader``) or a
#: ``pandas.DataFrame``.
Table = Union["pyarrow.Table", "pyarrow.RecordBatch", "pandas.DataFrame", Any]


def _period(period: Period) -> str:
    if isinstance(period, datetime.date):
        return f"{period.year:04d}-{period.month:02d}"
    if isinstance(period, str):
        return period
    raise PeriodError(
        f"expected a month as YYYY-MM (e.g. 2024-01) or a date, found {type(period).__name__}",
        text=repr(period),
    )


def _overrides(set: Overrides | None) -> list[tuple[str, str]]:
    if set is None:
        return []
    if isinstance(set, str):
        set = [set]
    pairs: list[tuple[str, Any]] = []
    if isinstance(set, Mapping):
        pairs = list(set.items())
    else:
        for item in set:
            if isinstance(item, tuple) and len(item) == 2:
                pairs.append((str(item[0]), item[1]))
                continue
            name, eq, value = str(item).partition("=")
            if not eq:
                raise ParameterError(f"set expects NAME=VALUE, found `{item}`")
            pairs.append((name, value))
    out = []
    for name, value in pairs:
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, float):
            raise ParameterError(
                f"set {name}: {value!r} is a float; give the value as text or a Decimal "
                f"(e.g. \"{value}\") so that it is exact"
            )
        elif isinstance(value, (str, int, decimal.Decimal)):
            text = str(value)
        else:
            raise ParameterError(f"set {name}: cannot use a {type(value).__name__} as a value")
        out.append((str(name), text))
    return out


def _arrow(table: Table, what: str) -> Any:
    """A pandas DataFrame as a pyarrow Table (without its index); anything else as given."""
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is a dependency
        return table
    if isinstance(table, pandas.DataFrame):
        import pyarrow

        return pyarrow.Table.from_pandas(table, preserve_index=False)
    return table


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)  # money as text: read exactly
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


class Policy:
    """A loaded, checked policy (``doudi check``'s checks), ready to evaluate and explain.

    Immutable and safe to share between threads; evaluation releases the GIL. Pickles as its path
    and overrides (it is loaded again where it is unpickled, e.g. on a Ray worker).

    >>> import doudi
    >>> policy = doudi.Policy.load("policies/jian")
    >>> "dibao_payment" in policy.outputs
    True
    >>> richer = policy.with_params({"dibao_standard.urban": "800"})
    >>> richer.overrides
    [('dibao_standard.urban', '800')]
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.Policy) -> None:
        self._native = native

    @classmethod
    def load(cls, path: str | os.PathLike[str], set: Overrides | None = None) -> Policy:
        """Loads the policy at ``path`` (a directory of ``.doudi`` files with its ``extends``
        layers and extern scripts, or one file) and checks it; ``set`` overrides parameters at
        every date, as ``--set``. Raises :class:`~doudi.PolicyError` with the diagnostics."""
        policy = cls(_native.Policy.load(os.fspath(path)))
        overrides = _overrides(set)
        return policy.with_params(overrides) if overrides else policy

    def with_params(self, set: Overrides) -> Policy:
        """A copy with parameter overrides (``--set``) applied after this policy's own."""
        return Policy(self._native.with_params(_overrides(set)))

    @property
    def path(self) -> str:
        """The directory or file the policy was loaded from, as given."""
        return os.fspath(self._native.path)

    @property
    def overrides(self) -> list[tuple[str, str]]:
        """The parameter overrides applied, in order, as ``(name, value)``."""
        return self._native.overrides

    @property
    def warnings(self) -> str:
        """The checker's warnings, rendered rustc-style (``""`` when there are none)."""
        return self._native.warnings

    @property
    def outputs(self) -> list[str]:
        """Every household definition, in declaration order: the default outputs of
        :meth:`evaluate`."""
        return self._native.outputs

    def evaluate(
        self,
        households: Table,
        persons: Table,
        period: Period,
        outputs: Sequence[str] | None = None,
        set: Overrides | None = None,
    ) -> pyarrow.Table:
        """Evaluates household outputs for every household, as ``doudi eval --data DIR``.

        ``households`` and ``persons`` hold the columns of the CSV pair of docs/DATA.md (pyarrow
        Tables, RecordBatches or pandas DataFrames; money as decimal, integer or text columns,
        never float). Returns a ``pyarrow.Table`` with one row per household in input order:
        ``household_id`` then the outputs (default: every household definition), money and
        decimals as ``decimal128``, booleans as ``bool``, integers as ``int64``, enum values and
        text as ``string``. ``set`` overrides parameters for this call only.

        Raises :class:`~doudi.DataError` for a table that does not match the policy's inputs,
        :class:`~doudi.EvalError` when a household cannot be evaluated,
        :class:`~doudi.OutputError` for an unknown output or a person definition.
        """
        policy = self.with_params(set) if set else self
        return policy._native.evaluate(
            _arrow(households, "households"),
            _arrow(persons, "persons"),
            _period(period),
            list(outputs) if outputs is not None else None,
        )

    def evaluate_partial(
        self,
        households: Table,
        persons: Table,
        period: Period,
        outputs: Sequence[str] | None = None,
    ) -> tuple[pyarrow.Table, bytes]:
        """:meth:`evaluate`, and these households' *partial* programme totals as bytes: what a
        worker of a distributed run (``doudi.distributed``) sends to its driver, which merges the
        partials of every worker with :meth:`merge_totals`. The bytes are exact (every sum with its
        decimal scale) and name the month and the shape of the policy's totals."""
        return self._native.evaluate_partial(
            _arrow(households, "households"),
            _arrow(persons, "persons"),
            _period(period),
            list(outputs) if outputs is not None else None,
        )

    def merge_totals(self, partials: Sequence[bytes], period: Period) -> dict[str, Any]:
        """Merges partial totals (from :meth:`evaluate_partial`, in the order given) and evaluates
        the programme definitions on them, as ``doudi eval --totals`` does over all the households:
        ``{name: value}`` with money and decimals as :class:`decimal.Decimal` (the CLI's text),
        integers as ``int``, booleans as ``bool``. Partials of another policy or month raise
        :class:`~doudi.EvalError`.

        >>> import doudi, pandas as pd
        >>> policy = doudi.Policy.load("policies/jian")
        >>> hh = pd.read_csv("policies/jian/examples/population/households.csv", dtype=str)
        >>> ps = pd.read_csv("policies/jian/examples/population/persons.csv", dtype=str)
        >>> _, first = policy.evaluate_partial(hh[:20], ps[ps.household_id.isin(hh.household_id[:20])], "2024-01")
        >>> _, rest = policy.evaluate_partial(hh[20:], ps[ps.household_id.isin(hh.household_id[20:])], "2024-01")
        >>> totals = policy.merge_totals([first, rest], "2024-01")
        >>> totals["dibao_households"], totals["dibao_payment_total"]
        (24, Decimal('19373.14'))
        """
        values, _households = self._native.merge_totals(list(partials), _period(period))
        return values

    def explain(
        self,
        household: Mapping[str, Any] | str,
        output: str,
        period: Period,
        member: str | None = None,
        set: Overrides | None = None,
        *,
        households: Table | None = None,
        persons: Table | None = None,
    ) -> Explanation:
        """Explains how ``output`` was derived for one household and month (``doudi explain``).

        ``household`` is one household in the JSON form of docs/DATA.md (a dict, or JSON text;
        money as text or :class:`~decimal.Decimal`), or, with ``households`` and ``persons``
        (tables as :meth:`evaluate` takes them), the id of one of their households. ``member``
        (a member's id) explains a person definition for that member. Returns an :class:`Explanation`: the explanation's JSON form
        as a dict, which prints as the CLI's text.

        >>> import doudi, json
        >>> households = json.load(open("policies/jian/examples/households.json"))
        >>> why = doudi.Policy.load("policies/jian").explain(households[0], "dibao_eligible", "2024-01")
        >>> why["household"], why["output"], why.value
        ('H002', 'dibao_eligible', 'true')
        >>> print(why.text(depth=1))  # doctest: +ELLIPSIS
        dibao_eligible 符合最低生活保障条件 = true   [household H002]
          = member_count >= 1 and per_capita_income < standard and assets_ok and credit_ok
        ...
        """
        policy = self.with_params(set) if set else self
        if households is not None or persons is not None:
            if households is None or persons is None or not isinstance(household, str):
                raise TypeError("give the household's id with both households= and persons=")
            native = policy._native.explain_in_tables(
                _arrow(households, "households"),
                _arrow(persons, "persons"),
                household,
                output,
                _period(period),
                member,
            )
            return Explanation(native)
        text = household if isinstance(household, str) else json.dumps(household, default=_json_default)
        native = policy._native.explain(text, output, _period(period), member)
        return Explanation(native)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reload, (self.path, self.overrides))

    def __repr__(self) -> str:
        extra = f", set={dict(self.overrides)!r}" if self.overrides else ""
        return f"doudi.Policy.load({self.path!r}{extra})"


def _reload(path: str, overrides: list[tuple[str, str]]) -> Policy:
    policy = Policy.load(path)
    return policy.with_params(overrides) if overrides else policy


class Explanation(dict):  # type: ignore[type-arg]
    """How one output was derived for one household and month.

    A ``dict`` holding the explanation's JSON form (``household``, ``member`` for a person
    definition, ``period``, ``output``, ``tree``: the derivation tree of ``doudi explain --format
    json``), which prints as the CLI's text (``str()``, ``print``, and in notebooks).
    """

    def __init__(self, native: _native.Explanation) -> None:
        super().__init__(json.loads(native.json(), parse_float=decimal.Decimal))
        self._native = native

    def text(self, depth: int | None = None) -> str:
        """The derivation as indented text (``doudi explain``); ``depth`` shows only that many
        levels (``--depth N``, at least 1), each hidden part summed up in one line."""
        if depth is not None and depth < 1:
            raise ValueError("depth is a number of levels: 1 shows the output alone")
        return self._native.text(depth)

    def short(self) -> str:
        """Only what decided the value, the parameters with their dates and the citations
        (``doudi explain --short``)."""
        return self._native.short()

    def why_not(self) -> list[str]:
        """For a condition that is false: the innermost conditions that failed, as sentences
        (empty otherwise)."""
        return self._native.why_not()

    @property
    def value(self) -> str:
        """The explained value as the CLI shows it (money with two decimals, ``true``, …)."""
        return self._native.value

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text().rstrip("\n"))

    def _repr_html_(self) -> str:
        title = f"{self['output']} = {self.value} ({self['household']}, {self['period']})"
        return (
            f"<details open><summary><code>{html.escape(title)}</code></summary>"
            f"<pre>{html.escape(self.text())}</pre></details>"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # The native tree does not pickle; the JSON form does.
        return (dict, (dict(self),))
