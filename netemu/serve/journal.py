"""The durable record of an endpoint's acknowledged calls: one JSON line each, on disk before
the response leaves, so that `kill -9` loses nothing a client was told had happened."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
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
        self.entries = list(self._read())

    def _read(self) -> Iterator[Entry]:
        try:
            with open(self.path, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except FileNotFoundError:
            return
        for line in lines:
            try:
                yield Entry(**json.loads(line))
            except (ValueError, TypeError):
                # A line cut short by a crash in mid-write was never acknowledged.
                continue

    @property
    def next_seq(self) -> int:
        return self.entries[-1].seq + 1 if self.entries else 1

    def append(self, entry: Entry) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(entry), separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.entries.append(entry)
