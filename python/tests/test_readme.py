"""The ```python blocks of README.md and python/README.md run from the repository's root; a block
followed by a ```text block prints that text (a last line `…` stands for the rest of the output)."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from conftest import ROOT

READMES = [ROOT / "README.md", ROOT / "python/README.md"]


def blocks(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, python code, the text block right after it or None)."""
    lines = path.read_text().splitlines()
    found: list[tuple[int, str, str | None]] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
            code = "\n".join(lines[start:end]) + "\n"
            expected = None
            if end + 1 < len(lines) and lines[end + 1].strip() == "```text":
                stop = next(j for j in range(end + 2, len(lines)) if lines[j].strip() == "```")
                expected = "\n".join(lines[end + 2 : stop])
                i = stop
            else:
                i = end
            found.append((start, code, expected))
        i += 1
    return found


CASES = [(path, line, code, expected) for path in READMES for line, code, expected in blocks(path)]


def test_the_readmes_have_the_five_line_example() -> None:
    printing = [c for c in CASES if c[3] is not None]
    assert {c[0].name for c in printing} == {"README.md"}
    assert len(printing) == 2
    for _, _, code, _ in printing:
        assert len(code.strip().splitlines()) == 5


@pytest.mark.parametrize(
    "path,line,code,expected",
    CASES,
    ids=[f"{c[0].relative_to(ROOT)}:{c[1]}" for c in CASES],
)
def test_block_runs_and_prints_what_the_readme_shows(
    path: Path, line: int, code: str, expected: str | None
) -> None:
    if "import ray" in code and not os.environ.get("DOUDI_REQUIRE_RAY"):
        pytest.importorskip("ray")  # .ci/run installs Ray and requires it
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{path}:{line}", "exec"), {"__name__": "__readme__"})
    if expected is None:
        return
    printed = out.getvalue().splitlines()
    shown = expected.splitlines()
    if shown[-1] == "…":
        shown = shown[:-1]
        assert len(printed) > len(shown)
        printed = printed[: len(shown)]
    assert printed == shown
