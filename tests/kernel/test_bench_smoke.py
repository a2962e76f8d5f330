"""`make bench` at N=10 with short runs: every section still measures and prints its ratio
(issue 6). The figures themselves are not judged here; benchmarks are, in docs/benchmarks.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_run_prints_every_ratio(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--json", str(out_json)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for row in (
        "up 10",
        "down 10",
        "test 20 expectations",
        "netemu probe CLI",
        "reach 100 x 3 ports (static)",
        "TCP through",
        "UDP 64 B",
        "SG with 1000 CIDR rules",
        "flow logs on (VPC, 1 s windows)",
        "flow logs on, TCP",
        "apply 1 SG rule, 10 instances",
        "apply no-op, 10 instances",
    ):
        assert row in run.stdout
    doc = json.loads(out_json.read_text())
    assert doc["expectations"]["failed"] == 0
    assert doc["probe_cli"]["probe_s"] > 0
    assert doc["datapath"]["sg1000_udp_pps"] > 0
    assert doc["datapath"]["flowlog"]["udp_ratio"] > 0
