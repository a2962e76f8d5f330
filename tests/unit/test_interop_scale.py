"""Import of a large account stays fast (issue 13: 200 subnets and 1,000 instances < 2 s)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.import_scale import account, timed_import

ROOT = Path(__file__).resolve().parents[2]


def test_200_subnets_and_1000_instances_import_in_under_two_seconds() -> None:
    times = timed_import(200, 1000)
    assert times["total"] < 2.0, times


def test_the_command_imports_the_same_account_in_under_two_seconds(tmp_path: Path) -> None:
    for key, items in account(200, 1000).items():
        (tmp_path / f"{key}.json").write_text(json.dumps({key: items}))
    out = tmp_path / "big.yaml"
    start = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "netemu.cli", "import", str(tmp_path), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - start
    assert r.returncode == 0, r.stderr
    assert "200 subnets, 1000 instances" in r.stdout
    assert elapsed < 2.0, elapsed
