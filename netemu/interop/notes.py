"""What an import could not carry over, or added: one Note per object, with its AWS id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["unsupported", "skipped", "changed", "added"]


@dataclass(frozen=True)
class Note:
    """`unsupported`: present in AWS, not emulated (an error under --strict); `skipped`:
    present but inert (deleted, terminated, detached); `changed`: a value netemu cannot use,
    replaced (an endpoint's fake address); `added`: put in by netemu."""

    id: str  # the AWS id (vpce-0a1b…) or the netemu name for added objects
    message: str
    severity: Severity = "unsupported"

    def __str__(self) -> str:
        return f"{self.id}: {self.message}"
