"""Processes inside namespaces: daemons (dnsmasq, sshd, netemu's own services) and one-shot
tasks (a DHCP client), started without a shell and stopped by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from netemu.driver import netns


class Child(Protocol):
    """A started child as the driver uses it: subprocess.Popen, or driver.launcher's."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def kill(self) -> None: ...


def spawn(
    ns: str,
    argv: Sequence[str],
    output: int,
    env: Mapping[str, str] | None = None,
    endpoint: tuple[str, str] | None = None,
) -> Child:
    """Start `argv` inside namespace `ns`, its output and errors to the descriptor `output`
    (a log, a pipe), with `env` added to the environment it inherits. With `endpoint`
    (state directory, instance or host name) the child also gets that endpoint's own /etc
    files and host name (driver.mountns).

    Otherwise the calling thread enters `ns` and starts the child from there: a child is
    born in the network namespace of the thread that made it. Without a preexec_fn, Python
    starts it with vfork instead of copying the whole interpreter with fork: 1.2 ms a
    process here instead of 2.8 ms, more in a big `up` (a hundred DHCP clients start at
    once). The endpoint's mounts need a fork, made by a small helper process instead of
    this one (driver.launcher)."""
    options: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": output,
        "stderr": subprocess.STDOUT,
        "start_new_session": True,
        "close_fds": True,
        "env": {**os.environ, **env} if env else None,
    }
    if endpoint:
        from netemu.driver import launcher

        state_dir, name = endpoint
        full_env = {**os.environ, **(env or {})}
        return launcher.helper().spawn(ns, argv, output, full_env, state_dir, name)
    with netns.entered(ns):
        return subprocess.Popen(list(argv), **options)


def log_file(name: str) -> str:
    """The log of daemon `name`, relative to the state directory (`netemu logs` reads it)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return f"logs/{safe}.log"


def pids_in(namespaces: Sequence[str]) -> list[int]:
    """Every process whose network namespace is one of `namespaces` (by inode)."""
    inodes = set()
    for name in namespaces:
        with contextlib.suppress(OSError):
            inodes.add(os.stat(netns.path(name)).st_ino)
    if not inodes:
        return []
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{entry}/ns/net").st_ino in inodes:
                found.append(int(entry))
    return found


def pids_referencing(directory: str) -> list[int]:
    """Processes whose command line names a file under `directory`: every daemon netemu
    starts for a scenario does (its configuration lives in the scenario's state directory),
    so this finds them even when their namespace is already gone."""
    needle = directory.rstrip("/").encode() + b"/"
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/cmdline", "rb") as f:
            if needle in f.read():
                found.append(int(entry))
    return found


def stop(pids: Sequence[int], grace: float = 0.5) -> None:
    """SIGTERM, then SIGKILL what is still there after `grace` seconds; then wait until
    they are gone, reaping those that are this process's children (no zombies left)."""
    alive = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            alive.append(pid)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _exists(p)]
        if alive:
            time.sleep(0.01)
    kill(alive)


def kill(pids: Sequence[int], wait: float = 2.0) -> None:
    """SIGKILL `pids`, then wait up to `wait` seconds until they are gone: a killed process
    may still be running for a moment (writing a file into the state directory, say), and
    one that is our child stays a zombie until it is reaped here."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    left = list(pids)
    while left and time.monotonic() < deadline:
        left = [p for p in left if _exists(p)]
        if left:
            time.sleep(0.005)


def _exists(pid: int) -> bool:
    """Whether `pid` still runs; a child that has exited is reaped on the way."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """An exited process that is not ours to reap: it runs no more."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
