"""Expectations with `run:`: the real command runs inside its instance or internet host (its
network, /etc files and host name, as `netemu exec`), and is judged by exit status and
output. What is observed is the real client's own result (mysql, curl), not a probe."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from typing import Any

from netemu.driver import mountns
from netemu.model.types import CommandCheck, Model
from netemu.model.validate_checks import PLACEHOLDER
from netemu.render.topology import endpoint_ns

SHOWN = 400  # characters of output kept in a failure's explanation


@dataclass
class CommandOutcome:
    check: CommandCheck
    command: str  # with the addresses filled in
    exit: int | None  # None: killed at its time limit
    output: str
    ok: bool
    why: str  # empty when ok

    @property
    def title(self) -> str:
        want = "fails" if self.check.exit == "nonzero" else f"exits {self.check.exit}"
        if self.check.output is not None:
            want += f", printing {self.check.output!r}"
        return f"{self.check.source}: {self.command} {want}"

    def lines(self) -> list[str]:
        head = f"{'PASS' if self.ok else 'FAIL'}  {self.title}"
        return [head] if self.ok else [head, f"  {self.why}"]

    def to_json(self) -> dict[str, Any]:
        expected: dict[str, Any] = {"exit": self.check.exit}
        if self.check.output is not None:
            expected["output"] = self.check.output
        return {
            "from": self.check.source,
            "run": self.command,
            "exit": self.exit,
            "output": self.output,
            "expected": expected,
            "ok": self.ok,
        }


def fill(model: Model, command: str) -> str:
    """The command with {private_ip:NAME} and {public_ip:NAME} replaced by the addresses the
    running scenario has now."""

    def address(match: Any) -> str:
        kind, name = match[1], match[2]
        if name in model.internet_hosts:
            return str(model.internet_hosts[name].ip)
        inst = model.instances[name]
        return str(inst.private_ip if kind == "private_ip" else inst.public_ip)

    return PLACEHOLDER.sub(address, command)


def run_one(model: Model, state_dir: str, check: CommandCheck) -> CommandOutcome:
    command = fill(model, check.command)
    ns = endpoint_ns(model, check.source)
    child = subprocess.Popen(
        ["/bin/sh", "-c", command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so that a time limit ends what it started too
        preexec_fn=mountns.preexec(ns, state_dir, check.source),
    )
    status: int | None
    try:
        output, _ = child.communicate(timeout=check.timeout)
        status = child.returncode
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
        status = None
    return judge(check, command, status, output)


def judge(check: CommandCheck, command: str, status: int | None, output: str) -> CommandOutcome:
    def outcome(why: str) -> CommandOutcome:
        return CommandOutcome(check, command, status, output, not why, why)

    shown = output.strip()[-SHOWN:]
    if status is None:
        return outcome(f"still running after {check.timeout:.0f} s; it printed: {shown}")
    if check.exit == "nonzero" and status == 0:
        return outcome(f"expected it to fail, it exited 0; it printed: {shown}")
    if check.exit != "nonzero" and status != check.exit:
        return outcome(f"expected exit {check.exit}, got {status}; it printed: {shown}")
    if check.output is not None and check.output not in output:
        return outcome(f"expected {check.output!r} in its output, which was: {shown}")
    return outcome("")


def run(model: Model, state_dir: str) -> list[CommandOutcome]:
    """Each check in turn: real clients may take seconds (a refused login, a timeout)."""
    return [run_one(model, state_dir, c) for c in model.command_checks]
