"""Many probes and tests of one scenario at once all get correct verdicts, and none crashes
(issue 11: NFLOG allows one listener per group and namespace; probe.lock takes turns)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from netemu.testing import running

ROOT = Path(__file__).parents[2]
ROUNDS = 20
# (from, to, option, port, result, reason): the book's web + DB layout (ref 5.5, 6.9, 7.2).
PROBES = [
    ("internet", "web", "--tcp", "22", "reachable", None),
    ("internet", "db", "--tcp", "3306", "blocked", "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"),
    ("web", "db", "--tcp", "3306", "reachable", None),
    ("db", "mirror", "--tcp", "80", "reachable", None),
    ("internet", "nat", "--icmp", "", "blocked", "NO_POSSIBLE_DESTINATION"),
    ("web", "db", "--icmp", "", "reachable", None),
    ("internet", "web", "--tcp", "80", "blocked", "ENI_SG_RULES_MISMATCH"),
    ("db", "mirror", "--udp", "53", "reachable", None),
]


def _netemu(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "netemu.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _probe_args(p: tuple[str, str, str, str, str, str | None]) -> list[str]:
    src, dst, option, port, _, _ = p
    return ["probe", "-s", "conc", src, dst, option, *([port] if port else []), "--json"]


def test_eight_probes_and_two_tests_at_once_for_twenty_rounds(tmp_path: Path) -> None:
    text = (ROOT / "scenarios/book/webdb.yaml").read_text()
    scenario = tmp_path / "conc.yaml"
    scenario.write_text(text.replace("name: webdb", "name: conc", 1))
    assert "name: conc" in scenario.read_text()
    with running(str(scenario)):
        for round_ in range(ROUNDS):
            probes = [(p, _netemu(*_probe_args(p))) for p in PROBES]
            tests = [_netemu("test", str(scenario), "--json") for _ in range(2)]
            for (src, dst, _, _, result, reason), proc in probes:
                out, err = proc.communicate(timeout=120)
                where = f"round {round_}: {src} -> {dst}: {err} {out}"
                assert "Traceback" not in err, where
                assert proc.returncode == (0 if result == "reachable" else 1), where
                got = json.loads(out)
                assert got["result"] == result, where
                assert (got["reason"] or {}).get("code") == reason, where
                assert got["hops_observed"] is True, where
            for proc in tests:
                out, err = proc.communicate(timeout=120)
                assert "Traceback" not in err, f"round {round_}: {err}"
                assert proc.returncode == 0, f"round {round_}: {out} {err}"
                assert json.loads(out)["failed"] == 0
