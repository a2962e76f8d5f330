"""The root exception, its structured subclasses, and the exit codes of every command."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from netemu.model.types import Pos


class ExitStatus(IntEnum):
    """Exit codes of the contract (scenario-format.md section 4)."""

    OK = 0
    CHECKS_FAILED = 1
    INVALID_INPUT = 2
    HOST_UNSUPPORTED = 3


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in a scenario, with its place in the file."""

    pos: Pos | None
    message: str
    severity: Literal["error", "warning"] = "error"
    file: str = ""  # used when pos is None

    def __str__(self) -> str:
        where = str(self.pos) if self.pos else (self.file or "<scenario>")
        return f"{where}: {self.severity}: {self.message}"


class NetemuError(Exception):
    """Root of every error netemu reports to the user."""

    exit_status = ExitStatus.CHECKS_FAILED


class ScenarioInvalid(NetemuError):
    """The scenario breaks AWS rules or the format; carries every problem at once."""

    exit_status = ExitStatus.INVALID_INPUT

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UsageError(NetemuError):
    """A command-line mistake that is not a scenario problem (unknown scenario name, ...)."""

    exit_status = ExitStatus.INVALID_INPUT


class HostUnsupported(NetemuError):
    """This host cannot enforce the emulation (not root, no nftables, no conntrack)."""

    exit_status = ExitStatus.HOST_UNSUPPORTED


class KernelError(NetemuError):
    """Building or removing kernel state failed; `up` rolls back when it sees this."""
