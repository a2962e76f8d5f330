"""Daemons netemu kills are reaped: an `up` and `down` (or a rolled-back `up`) in one
process leaves no zombie children behind (issue 11)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from netemu import lifecycle
from netemu.testing import running_text
from scenarios import vpc


def _zombie_children() -> list[int]:
    """Children of this process that have exited and were not reaped."""
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            out.append(int(entry))
    return out


def test_down_in_process_reaps_the_daemons_it_kills() -> None:
    """The book's web + DB layout runs dnsmasq, sshd and netemu's services (ref 10.1)."""
    book = (Path(__file__).parents[2] / "scenarios/book/webdb.yaml").read_text()
    # Zombies from before (orphans of other tests' subprocesses, when this process is the
    # pid namespace's init in the isolation wrapper) are not this test's.
    before = set(_zombie_children())
    for _ in range(3):
        with running_text(book.replace("name: webdb", "name: reap", 1)) as s:
            r = s.probe("web", "db", tcp=22)
            assert r.result == "reachable", r
        assert set(_zombie_children()) - before == set()


def test_interrupted_up_in_process_reaps_its_daemons(tmp_path: os.PathLike[str]) -> None:
    """SIGINT once daemons run: the rollback kills and reaps them, and leaves no state."""
    from netemu.driver import process, state

    path = os.path.join(str(tmp_path), "reap.yaml")
    with open(path, "w") as f:
        f.write(vpc(name="reap"))
    real, fired = process.spawn, []

    def spawn(*args, **kwargs):  # type: ignore[no-untyped-def]
        child = real(*args, **kwargs)
        if len(fired) == 2:  # a few daemons are running now
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        fired.append(child.pid)
        return child

    before = set(_zombie_children())
    process.spawn = spawn  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            lifecycle.up(path, lifecycle.KernelDriver())
    finally:
        process.spawn = real  # type: ignore[assignment]
    assert len(fired) == 2  # the third, spawned but never recorded, is found by namespace
    assert set(_zombie_children()) - before == set()
    assert not os.path.exists(state.state_dir("reap"))
