"""Soak (issue 7.7): repeated up / test / down of the web-and-DB scenario in one process
leaves no namespace, process, descriptor or memory behind, and every cycle's expectations
hold. Reduced form here; `make reliability` runs 50 cycles and prints each one."""

from __future__ import annotations

import pytest
import relkit

pytestmark = pytest.mark.kernel

CYCLES = 5
BOOK_CYCLES = 2
RSS_NOISE_KIB = 4 * 1024  # allocator and import caches settling after the first cycles


def check(cycles: list[relkit.Cycle], expectations: int) -> None:
    """What every soak must show, whatever its length (also used by full.py)."""
    for i, c in enumerate(cycles, 1):
        assert (c.passed, c.failed) == (expectations, 0), f"cycle {i}: {c}"
        assert c.left == [], f"cycle {i} left: {c.left}"
    settled = cycles[1:] or cycles  # the first cycle imports and warms caches
    assert max(c.fds for c in settled) <= settled[0].fds, [c.fds for c in cycles]
    # Children: at most the zombies of daemons killed by the last `down`, never growing.
    assert max(c.children for c in settled) <= 2 * expectations
    assert settled[-1].children <= max(c.children for c in settled[: max(1, len(settled) // 2)]) + 2
    growth = settled[-1].rss_kib - settled[0].rss_kib
    assert growth <= RSS_NOISE_KIB + 64 * len(settled), f"RSS grew by {growth} KiB"


def test_webdb_soak_leaves_nothing_and_holds_every_cycle(workdir: str, nothing_left: None) -> None:
    path = relkit.webdb(workdir, "rl-soak")
    check(relkit.soak(path, CYCLES), expectations=5)


def test_book_webdb_soak(workdir: str, nothing_left: None) -> None:
    path = relkit.webdb(workdir, "rl-soakb", book=True)
    check(relkit.soak(path, BOOK_CYCLES), expectations=8)
