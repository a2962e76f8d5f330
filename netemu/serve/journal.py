"""The durable record of an endpoint's acknowledged calls: one JSON line each, on disk before
the response leaves, so that `kill -9` loses nothing a client was told had happened."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One acknowledged mutating call: its form body as the client sent it, the seed moto's
    random identifiers were drawn from, and facts a replay cannot recompute (a created key
    pair's key material is random bytes, not drawn from the seed)."""

    seq: int
    body: str
    facts: dict[str, Any] = field(default_factory=dict)


class Journal:
    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.entries = self._recover()

    def _recover(self) -> list[Entry]:
        """The acknowledged entries. A last line without its newline was being written when
        the process died, so it was never acknowledged: it is cut off, else the next entry
        would be appended to it and both would be unreadable."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = b""
        whole = data[: data.rfind(b"\n") + 1]
        if whole != data:
            with open(self.path, "r+b") as f:
                f.truncate(len(whole))
                os.fsync(f.fileno())
        entries = []
        for line in whole.decode("utf-8", errors="replace").splitlines():
            try:
                entries.append(Entry(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # not a line this journal wrote; the others still count
        return entries

    @property
    def next_seq(self) -> int:
        return self.entries[-1].seq + 1 if self.entries else 1

    def append(self, entry: Entry) -> None:
        """On disk (file and, for a new file, its directory entry) before this returns."""
        new = not os.path.exists(self.path)
        with open(self.path, "ab") as f:
            f.write(json.dumps(asdict(entry), separators=(",", ":")).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        if new:
            _fsync_dir(os.path.dirname(os.path.abspath(self.path)))
        self.entries.append(entry)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
