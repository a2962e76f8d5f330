"""Probe turns (probe.lock): one prober per scenario at a time, in arrival order, a dead
waiter's ticket skipped, a bounded wait (issue 11). Plain files: no root needed."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from netemu.errors import HostUnsupported, UsageError
from netemu.probe import lock


def test_turns_are_served_in_arrival_order(tmp_path: Path) -> None:
    order: list[int] = []
    first = threading.Event()

    def prober(i: int) -> None:
        with lock.turn(str(tmp_path)):
            order.append(i)
            if i == 0:
                first.set()
                time.sleep(0.2)

    threads = [threading.Thread(target=prober, args=(0,))]
    threads[0].start()
    first.wait(2)
    for i in range(1, 6):  # each joins while every earlier one still waits
        threads.append(threading.Thread(target=prober, args=(i,)))
        threads[-1].start()
        time.sleep(0.02)
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4, 5]
    assert [n for n in os.listdir(tmp_path / "probe-queue") if n.isdigit()] == []


def test_a_dead_waiters_ticket_is_skipped(tmp_path: Path) -> None:
    queue = tmp_path / "probe-queue"
    queue.mkdir()
    (queue / "next").write_text(f"{5:020d}")
    (queue / f"{3:020d}").write_text("")  # nobody holds it: its owner was killed
    with lock.turn(str(tmp_path)):
        pass
    assert not (queue / f"{3:020d}").exists()


def test_the_wait_is_bounded_and_says_why(tmp_path: Path) -> None:
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with lock.turn(str(tmp_path)):
            held.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(2)
    with (
        pytest.raises(HostUnsupported, match="waited 0 s for other probes"),
        lock.turn(str(tmp_path), wait=0.1),
    ):
        pass
    release.set()
    t.join(5)


def test_a_scenario_that_is_not_up_has_no_turns(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is gone"), lock.turn(str(tmp_path / "missing")):
        pass
