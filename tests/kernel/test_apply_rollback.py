"""A failing `netemu apply` leaves the previous scenario running and verified: a kernel state
that does not verify, SIGTERM or Ctrl-C in the middle, a change AWS forbids, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from live import Held, live
from test_apply import CLIENT_5000, scenario

from netemu import lifecycle, verify
from netemu.driver import state as st
from netemu.errors import KernelError
from netemu.ops import apply
from netemu.render import render

ROOT = Path(__file__).resolve().parents[2]
WANTED = scenario(ingress=CLIENT_5000, private_target="blackhole: true", nat="")


class Failing(lifecycle.KernelDriver):
    """The real driver, with one fault injected into the forward change."""

    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.calls = 0

    def change(self, before: Any, after: Any, workdir: str, running: Any, tolerant: bool) -> Any:
        self.calls += 1
        if self.calls == 1 and self.fault in ("SIGTERM", "SIGINT"):
            os.kill(os.getpid(), getattr(signal, self.fault))
        return super().change(before, after, workdir, running, tolerant)

    def verify(self, model: Any, plan: Any, pids: Any, only: Any = None) -> Any:
        found = super().verify(model, plan, pids, only)
        if self.calls == 1 and self.fault == "verify":
            return [verify.Difference("ne-ap-x", "route", "injected")]
        return found


def _unchanged(name: str, source: str) -> None:
    state = st.load(name)
    assert state is not None and state.source == source
    model = lifecycle.running_model(name)
    assert verify.verify(model, render(model), state.pids) == []


@pytest.mark.parametrize("fault", ["verify", "SIGTERM", "SIGINT"])
def test_failed_apply_rolls_back_to_the_running_scenario(fault: str) -> None:
    """The change is undone (the NAT gateway comes back, the route points at it again), the
    state file still names the old file, the kernel verifies, and a held connection lives."""
    with live(scenario(ingress=CLIENT_5000)) as s, Held(s.model, "client", "web", 5000) as c:
        source = st.load("ap").source  # type: ignore[union-attr]
        with open(s.path, "w") as f:
            f.write(WANTED)
        expected = KeyboardInterrupt if fault == "SIGINT" else KernelError
        with pytest.raises(expected):
            apply.apply_file(s.path, False, Failing(fault))
        _unchanged("ap", source)
        assert "nat" in lifecycle.running_model("ap").nat_gateways
        assert c.alive()


@pytest.mark.parametrize("fault", ["SIGTERM", "SIGINT"])
def test_interrupted_rule_change_rolls_back_its_rulesets(fault: str) -> None:
    """The fast path of a rule-only change (only the subnets' rulesets) rolls back too: the
    narrowed rule is back to the client's /32 and the connection lives."""
    from test_apply import OTHER_5000

    with live(scenario(ingress=CLIENT_5000)) as s, Held(s.model, "client", "web", 5000) as c:
        source = st.load("ap").source  # type: ignore[union-attr]
        with open(s.path, "w") as f:
            f.write(scenario(ingress=OTHER_5000))
        expected = KeyboardInterrupt if fault == "SIGINT" else KernelError
        with pytest.raises(expected):
            apply.apply_file(s.path, False, Failing(fault))
        _unchanged("ap", source)
        rule = lifecycle.running_model("ap").group("main", "web").ingress[0]  # type: ignore[union-attr]
        assert str(rule.cidr) == "198.51.100.10/32"
        assert c.alive()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "netemu.cli", *args], capture_output=True,
                          text=True, env=env, check=False)  # fmt: skip


def test_forbidden_and_invalid_changes_exit_2_and_change_nothing() -> None:
    """2.1: a subnet's CIDR cannot change; the AWS error names the line, exit 2, nothing
    changed. A file with a YAML error is refused the same way."""
    with live(scenario()) as s:
        source = st.load("ap").source  # type: ignore[union-attr]
        with open(s.path, "w") as f:
            f.write(scenario().replace("cidr: 10.40.1.0/24", "cidr: 10.40.1.0/25"))
        out = _cli("apply", s.path)
        assert out.returncode == 2, out.stderr
        assert "scenario.yaml:10:" in out.stderr
        assert "OperationNotPermitted" in out.stderr
        with open(s.path, "w") as f:
            f.write("vpcs: [\n")
        out = _cli("apply", s.path)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        _unchanged("ap", source)


def test_apply_of_a_scenario_that_is_not_up_brings_it_up(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario())
    out = _cli("apply", str(path))
    try:
        assert out.returncode == 0, out.stderr
        assert "was not up: brought it up" in out.stdout
        assert _cli("verify", "ap").returncode == 0
        again = _cli("apply", str(path))
        assert again.stdout.strip() == "scenario 'ap': no changes"
    finally:
        _cli("down", "ap")
