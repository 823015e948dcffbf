"""doudi's exceptions.

Every failure is a :class:`DoudiError`; its ``str()`` is the message the ``doudi`` command line
prints (without the leading ``error:``), and its attributes carry what a program acts on::

    DoudiError
    ├── PolicyError      the policy does not parse or check          .diagnostics
    ├── DataError        a table does not match the policy's inputs  .file .row .field .expected
    ├── EvalError        evaluation failed (division by zero, …)     .rule .location .household .member
    ├── OutputError      an output the policy does not define, …     .name .suggestions
    ├── PeriodError      not a month YYYY-MM                         .text
    ├── ParameterError   a ``set`` override that cannot apply
    └── ScenarioError    a simulator scenario that cannot run        .file .problems

>>> import doudi
>>> try:
...     doudi.Policy.load("policies/jian").explain({"id": "H1"}, "dibao_payment", "2024-13")
... except doudi.PeriodError as e:
...     print(e.text, "|", e)
2024-13 | month 13 of `2024-13` is out of range: a month is 01 to 12 (e.g. 2024-12)
>>> try:
...     doudi.Policy.load("policies/jian").explain({"id": "H1"}, "dibao_payment", "2024-01")
... except doudi.DataError as e:
...     print(e.file, e.field, "|", e)
household region | household: household "H1": missing field "region" (expected text)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DoudiError",
    "PolicyError",
    "DataError",
    "EvalError",
    "OutputError",
    "PeriodError",
    "ParameterError",
    "ScenarioError",
]


class DoudiError(Exception):
    """The base of every doudi error. ``str(e)`` is the command line's message."""

    def __init__(self, message: str, **attributes: Any) -> None:
        super().__init__(message)
        self.message: str = message
        for name, value in attributes.items():
            setattr(self, name, value)


class PolicyError(DoudiError):
    """The policy does not parse or check (``doudi check`` fails).

    ``str(e)`` is every diagnostic rendered rustc-style (file:line:col, the source line, a caret,
    a help line). ``diagnostics`` lists them as dicts with the keys ``severity`` (``"error"`` or
    ``"warning"``), ``message``, ``location`` (``"file:line:col"`` or ``None``) and ``help``.
    """

    diagnostics: list[dict[str, str | None]]

    def __init__(self, message: str, *, diagnostics: list[dict[str, str | None]] | None = None) -> None:
        super().__init__(message, diagnostics=diagnostics or [])


class DataError(DoudiError, ValueError):
    """A household table does not match the policy's declared inputs (docs/DATA.md).

    ``file`` is the table (``"households"`` or ``"persons"`` for Arrow input, the origin given for
    JSON), ``row`` the row (for Arrow tables the 1-based row number of the table, as a line of the
    CSV file would be counted without its header), ``field`` the column and ``expected`` what it
    must hold, each ``None`` when the error is not about one.
    """

    file: str
    row: int | None
    field: str | None
    expected: str | None

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        row: int | None = None,
        field: str | None = None,
        expected: str | None = None,
    ) -> None:
        super().__init__(message, file=file, row=row, field=field, expected=expected)


class EvalError(DoudiError, ArithmeticError):
    """Evaluation failed: division by zero, overflow, a decision table no row of which matches, a
    region the policy's tables do not know.

    ``str(e)`` is the error rendered like the checker's diagnostics; ``rule`` is the definition
    being computed, ``location`` its ``file:line:col``, ``household`` and ``member`` the ids it was
    computed for (each ``None`` when not known).
    """

    rule: str | None
    location: str | None
    household: str | None
    member: str | None

    def __init__(
        self,
        message: str,
        *,
        rule: str | None = None,
        location: str | None = None,
        household: str | None = None,
        member: str | None = None,
    ) -> None:
        super().__init__(message, rule=rule, location=location, household=household, member=member)


class OutputError(DoudiError, KeyError):
    """An output the policy does not define, or one that is not what was asked for (a person
    definition evaluated per household, a programme total explained), or a member the household
    does not have. ``name`` is the name given; ``suggestions`` close names (may be empty);
    ``household_outputs`` every household definition (for an unknown name)."""

    name: str
    suggestions: list[str]
    household_outputs: list[str]

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        suggestions: list[str] | None = None,
        household_outputs: list[str] | None = None,
        **more: Any,
    ) -> None:
        super().__init__(
            message,
            name=name,
            suggestions=suggestions or [],
            household_outputs=household_outputs or [],
            **more,
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class PeriodError(DoudiError, ValueError):
    """A period that is not a month ``YYYY-MM``; ``text`` is what was given."""

    text: str

    def __init__(self, message: str, *, text: str = "") -> None:
        super().__init__(message, text=text)


class ParameterError(DoudiError, ValueError):
    """A ``set`` override that names no parameter, or gives a value it cannot take."""


class ScenarioError(DoudiError, ValueError):
    """A simulator scenario that does not read, validate or set up (its policy, its population,
    its variants). ``file`` names the scenario (``"<scenario>"`` for a dict); ``problems`` lists
    ``(key, message)`` pairs when the scenario's own keys are wrong (empty otherwise)."""

    file: str
    problems: list[tuple[str, str]]

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        problems: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message, file=file, problems=problems or [])
