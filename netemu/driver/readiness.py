"""Servers that must accept connections before `up` returns, and their stop by PID.

A server's pid file says it started, not that it serves: mariadbd writes its pid file
before InnoDB recovery and the listening socket. So `up` also connects to the address the
plan names, from inside the server's namespace, until it is accepted (Process.ready_tcp).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time

from netemu.driver import netns
from netemu.driver.process import Child
from netemu.errors import KernelError
from netemu.render.plan import Process

RETRY_S = 0.02


def accepts(ns: str, address: str, port: int) -> bool:
    """Whether a TCP connection to address:port, made inside `ns`, is accepted."""
    with netns.entered(ns):  # the socket stays in `ns` for its whole life
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(1.0)
        try:
            sock.connect((address, port))
        except OSError:
            return False
        return True


def failed(message: str, log: str, lines: int = 8) -> KernelError:
    """`message` with the end of the daemon's log: rollback removes the state directory,
    and the log with it, so what it said travels in the error."""
    try:
        with open(log, errors="replace") as f:
            tail = f.read().strip().splitlines()[-lines:]
    except OSError:
        tail = []
    shown = "".join(f"\n  {line}" for line in tail)
    return KernelError(f"{message}; see {log}" + (f", which ends:{shown}" if shown else ""))


def await_tcp(p: Process, child: Child, timeout: float, log: str) -> None:
    assert p.ready_tcp is not None
    address, port = p.ready_tcp
    deadline = time.monotonic() + timeout
    while not accepts(p.ns, address, port):
        if child.poll() is not None:
            raise failed(
                f"{p.name} exited ({child.returncode}) before it accepted connections "
                f"on {address}:{port}",
                log,
            )
        if time.monotonic() > deadline:
            raise failed(
                f"{p.name} did not accept connections on {address}:{port} within {timeout:.0f} s",
                log,
            )
        time.sleep(RETRY_S)


def pid_in(path: str) -> int | None:
    with contextlib.suppress(OSError, ValueError), open(path) as f:
        return int(f.read().split()[0])
    return None


def stop_group(pid: int, grace: float = 20.0) -> None:
    """SIGTERM to the process group `pid` leads (every daemon netemu starts leads its own
    session, so nginx's workers are in it), then SIGKILL after `grace` seconds: a
    database server gets time to shut down cleanly, as an instance stop would give it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    if not gone(pid, grace):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def gone(pid: int, within: float) -> bool:
    """Whether process `pid` ends (or is a zombie) within `within` seconds."""
    deadline = time.monotonic() + within
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(RETRY_S)
    return True


def _alive(pid: int) -> bool:
    """Not gone and not a zombie (a zombie's parent may not be netemu: it is not ours to
    reap, and it holds nothing any more)."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
