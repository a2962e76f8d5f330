"""Rollback and teardown leave nothing: daemons netemu kills are reaped (no zombie children
of a long-running process), and an interrupted `up` removes its state directory even while
its helper thread is still filling it (issue 11)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from netemu import lifecycle
from netemu.testing import running_text
from scenarios import vpc


def _zombie_children() -> dict[int, str]:
    """Children of this process that have exited and were not reaped, with their names."""
    me, out = os.getpid(), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                comm, rest = f.read().split("(", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        fields = rest.split()
        if fields[0] == "Z" and int(fields[1]) == me:
            out[int(entry)] = comm
    return out


def test_down_in_process_reaps_the_daemons_it_kills(monkeypatch: pytest.MonkeyPatch) -> None:
    """The book's web + DB layout runs dnsmasq, sshd and netemu's services (ref 10.1).
    Only the daemons this test's `up` spawned count: in a whole suite run, a child another
    test started may end (and wait for its own reaper) at any moment."""
    from netemu.driver import process

    book = (Path(__file__).parents[2] / "scenarios/book/webdb.yaml").read_text()
    real, spawned = process.spawn, []

    def spawn(*args, **kwargs):  # type: ignore[no-untyped-def]
        child = real(*args, **kwargs)
        spawned.append(child.pid)
        return child

    monkeypatch.setattr(process, "spawn", spawn)
    for _ in range(3):
        with running_text(book.replace("name: webdb", "name: reap", 1)) as s:
            r = s.probe("web", "db", tcp=22)
            assert r.result == "reachable", r
        assert spawned
        assert {p: c for p, c in _zombie_children().items() if p in spawned} == {}


def test_interrupted_up_in_process_reaps_its_daemons(tmp_path: os.PathLike[str]) -> None:
    """SIGINT once daemons run: the rollback kills and reaps them, and leaves no state."""
    from netemu.driver import process, state

    path = os.path.join(str(tmp_path), "reap.yaml")
    with open(path, "w") as f:
        f.write(vpc(name="reap"))
    real, fired = process.spawn, []

    def spawn(*args, **kwargs):  # type: ignore[no-untyped-def]
        child = real(*args, **kwargs)
        fired.append(child.pid)
        if len(fired) == 3:  # a few daemons are running now
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        return child

    process.spawn = spawn  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            lifecycle.up(path, lifecycle.KernelDriver())
    finally:
        process.spawn = real  # type: ignore[assignment]
    assert len(fired) == 3  # the third, spawned but never recorded, is found by namespace
    assert {p: c for p, c in _zombie_children().items() if p in fired} == {}
    assert not os.path.exists(state.state_dir("reap"))


def test_interrupt_while_the_state_directory_is_being_filled_leaves_no_state(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGINT while the driver's helper thread still writes the scenario's files: `up`
    waits for the thread before it rolls back, so nothing recreates the directory."""
    import time

    from netemu.driver import kernel, state

    path = os.path.join(str(tmp_path), "reap.yaml")
    with open(path, "w") as f:
        f.write(vpc(name="reap"))
    real = kernel._prepare_state
    main = threading.main_thread().ident or 0

    def slow(plan, workdir):  # type: ignore[no-untyped-def]
        signal.pthread_kill(main, signal.SIGINT)  # while this thread has work left
        time.sleep(0.3)
        real(plan, workdir)

    monkeypatch.setattr(kernel, "_prepare_state", slow)
    with pytest.raises(KeyboardInterrupt):
        lifecycle.up(path, lifecycle.KernelDriver())
    time.sleep(0.5)  # a thread left behind would write now
    assert not os.path.exists(state.state_dir("reap"))
