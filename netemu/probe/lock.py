"""One prober per scenario at a time, served in arrival order, with a bounded wait.

Why a lock: a probe learns what happened to its packets from NFLOG, and the kernel allows one
listener per log group per namespace. Probes of different scenarios never share a namespace
and run in parallel; probes of one scenario (`netemu probe`, `netemu test`, `lab check`, the
pytest plugin: all go through probe.engine.Prober) take turns. A turn is short (a batch of
probes is decided in milliseconds, a timeout is one second), so waiting is cheap, and a
queue keeps it fair: each waiter holds a ticket file, and the oldest living ticket goes next.

A ticket is alive while its owner holds a lock on it, so a waiter killed with SIGKILL
leaves a ticket that the next waiter removes; the kernel drops the lock itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator

from netemu.errors import HostUnsupported, UsageError

WAIT_S = 120.0  # longer than any sane batch of probes
POLL_S = 0.005


def _alive(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True  # its owner holds it
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def turn(directory: str, wait: float = WAIT_S) -> Iterator[None]:
    """Hold the probe turn of the scenario whose state directory is `directory`."""
    queue = os.path.join(directory, "probe-queue")
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(queue, 0o700)
        me = os.path.join(queue, f"{time.time_ns():020d}-{os.getpid():08d}")
        # Locked before it joins the queue, so no other waiter takes it for a dead one.
        fd = os.open(me + ".new", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(me + ".new", me)
    except FileNotFoundError:
        raise UsageError(f"scenario state {directory} is gone: is the scenario still up?") from None
    except OSError as e:
        raise HostUnsupported(f"cannot queue for a probe turn in {queue}: {e.strerror}") from None
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                tickets = sorted(os.listdir(queue))
            except FileNotFoundError:
                raise UsageError("the scenario was brought down while this probe waited") from None
            ahead = [t for t in tickets if not t.endswith(".new") and os.path.join(queue, t) < me]
            waiting = False
            for t in ahead:
                path = os.path.join(queue, t)
                if _alive(path):
                    waiting = True
                    break
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # its owner died without leaving the queue
            if not waiting:
                break
            if time.monotonic() > deadline:
                raise HostUnsupported(
                    f"waited {wait:.0f} s for other probes of this scenario to finish "
                    f"({len(ahead)} ahead); is one stuck? (tickets in {queue})"
                )
            time.sleep(POLL_S)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(me)
        os.close(fd)
