"""The guide (docs/guide/ja and docs/guide/en) runs as written: every command of every
page, in order, inside one scenario lifecycle per page, prints what the page says it prints
(`...` for ports, timings and other variable parts)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.guidedoc import APPLY, LANGS, ROOT, Shell, matches, pages, steps

PAGES = [p for lang in LANGS for p in pages(lang)]


def _down_all_guide_scenarios() -> None:
    for name in ("guide", "guide1", "api"):  # api: the account of `netemu serve` (page 10)
        subprocess.run(
            [sys.executable, "-m", "netemu.cli", "down", name],
            cwd=ROOT,
            capture_output=True,
        )


@pytest.mark.parametrize("page", PAGES, ids=[f"{p.parent.name}/{p.stem}" for p in PAGES])
def test_guide_page_runs_as_written(page: Path) -> None:
    shell = Shell()
    drift: list[str] = []
    try:
        for step in steps(page):
            actual, status = shell.run(step)
            # A scenario change must succeed (`...` alone would also match an error). Run
            # as down + up, its output is up's, not apply's list of changes.
            failed_apply = APPLY.match(step.command) is not None and status != 0
            compare = step not in shell.substituted
            if failed_apply or (compare and not matches(step.expected, actual)):
                drift.append(
                    f"{step.page}:{step.line}: $ {step.command}\n"
                    f"--- expected\n{step.expected}\n--- got\n{actual}"
                )
    finally:
        shell.close()  # stops `netemu serve` first, so nothing rebuilds what down removes
        _down_all_guide_scenarios()
    if shell.substituted:
        lines = ", ".join(str(s.line) for s in shell.substituted)
        warnings.warn(
            f"{page.parent.name}/{page.name}: `netemu apply` is not in this build; lines "
            f"{lines} ran as down + up of the same file (exit status checked, output not)",
            stacklevel=1,
        )
    assert not drift, "\n\n".join(drift)
