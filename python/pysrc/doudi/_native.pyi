"""Type stubs of the extension module ``doudi._native`` (python/src/). Use the package ``doudi``:
it converts arguments (pandas, overrides, periods) and shapes results before and after these."""

from typing import Any

import pyarrow

__version__: str

class Policy:
    @staticmethod
    def load(path: str) -> Policy: ...
    def with_params(self, overrides: list[tuple[str, str]]) -> Policy: ...
    @property
    def path(self) -> str: ...
    @property
    def overrides(self) -> list[tuple[str, str]]: ...
    @property
    def warnings(self) -> str: ...
    @property
    def outputs(self) -> list[str]: ...
    def explain(
        self, household: str, output: str, period: str, member: str | None = None
    ) -> Explanation: ...
    def explain_in_tables(
        self,
        households: Any,
        persons: Any,
        id: str,
        output: str,
        period: str,
        member: str | None = None,
    ) -> Explanation: ...
    def evaluate(
        self,
        households: Any,
        persons: Any,
        period: str,
        outputs: list[str] | None = None,
    ) -> pyarrow.Table: ...

class Explanation:
    def json(self) -> str: ...
    def text(self, depth: int | None = None) -> str: ...
    def short(self) -> str: ...
    def why_not(self) -> list[str]: ...
    @property
    def value(self) -> str: ...

def simulate(
    scenario: str | dict[str, Any],
    runs: int | None = None,
    out: str | None = None,
    force: bool = False,
) -> dict[str, Any]: ...
