"""Daemons that run inside an endpoint (an instance's sshd), started by a small helper
process instead of by netemu's own.

Such a child gets the endpoint's /etc files and host name in mount and UTS namespaces of
its own, made between fork and exec (driver.mountns), so it must be forked, and a fork
copies the page tables of the process that forks: about 1 ms from `netemu up`, 7 to 15 ms
from `netemu serve`, whose moto and botocore models fill hundreds of megabytes. For a
`run-instances` of a hundred that was most of the call (issue 14). The helper is a fresh
interpreter holding little more than driver.mountns, started once per netemu process;
netemu sends it each child to start over a Unix socket, with the descriptor for the
child's output, and gets the PID back. The helper reaps its children and says, when asked,
whether one has exited. It exits when netemu does (its socket closes); daemons it started
run on, as netemu's own children would, and are stopped by PID (driver.process.stop).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from netemu.errors import KernelError

_MAX = 1 << 20  # a request or reply; argv and environment of one daemon fit many times


class Launched:
    """A child the helper started: as much of subprocess.Popen as the driver uses."""

    def __init__(self, helper: Helper, pid: int) -> None:
        self.helper = helper
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.helper.status(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.005)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class Helper:
    """netemu's end of the helper: one request at a time (the driver starts daemons from
    several threads)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "netemu.driver.launcher", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C at the terminal is netemu's to handle
            )
        self.sock = ours
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _ask(self, request: dict[str, Any], fds: Sequence[int] = ()) -> dict[str, Any]:
        with self.lock:
            try:
                socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
                reply = self.sock.recv(_MAX)
            except OSError as e:
                raise KernelError(f"netemu's process launcher failed: {e}") from e
        if not reply:
            raise KernelError(f"netemu's process launcher exited ({self.proc.poll()})")
        answer: dict[str, Any] = json.loads(reply)
        return answer

    def spawn(self, ns: str, argv: Sequence[str], output: int, env: Mapping[str, str],
              state_dir: str, name: str) -> Launched:  # fmt: skip
        answer = self._ask(
            {"ns": ns, "argv": list(argv), "env": dict(env), "state": state_dir, "name": name},
            [output],
        )
        if "error" in answer:
            raise KernelError(f"cannot start {argv[0]} in {ns}: {answer['error']}")
        return Launched(self, int(answer["pid"]))

    def status(self, pid: int) -> int | None:
        """The exit status of child `pid` (negative: the signal that ended it), None while
        it runs."""
        rc = self._ask({"status": pid}).get("rc")
        return None if rc is None else int(rc)


_helper: Helper | None = None
_helper_lock = threading.Lock()


def helper() -> Helper:
    """This process's helper, started on first use (again if it died)."""
    global _helper
    with _helper_lock:
        if _helper is None or not _helper.alive():
            if _helper is not None:
                _helper.sock.close()  # the dead one's end
            _helper = Helper()
        return _helper


# The helper's side: `python -m netemu.driver.launcher FD`.

_exited: dict[int, int] = {}


def _reap(*_: object) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _exited[pid] = os.waitstatus_to_exitcode(status)


def _start(request: dict[str, Any], output: int) -> dict[str, Any]:
    from netemu.driver import mountns

    argv, env = request["argv"], request["env"]
    errors_r, errors_w = os.pipe2(os.O_CLOEXEC)  # closed by a successful exec
    pid = os.fork()
    if pid == 0:  # the child: into the endpoint, then the daemon
        try:
            os.close(errors_r)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.setsid()
            mountns.enter_endpoint(request["ns"], request["state"], request["name"])
            os.execvpe(argv[0], argv, env)
        except BaseException as e:  # anything here ends the child
            with contextlib.suppress(BaseException):
                os.write(errors_w, f"{type(e).__name__}: {e}".encode()[:4000])
            os._exit(127)
    os.close(errors_w)
    with os.fdopen(errors_r, "rb") as f:
        error = f.read().decode(errors="replace")
    if error:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        return {"error": error}
    return {"pid": pid}


def _serve(sock: socket.socket) -> None:
    os.set_inheritable(sock.fileno(), False)  # the daemons get nothing of the helper's
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, _MAX, 1)
        except ConnectionResetError:
            return
        if not data:
            return  # netemu exited
        request = json.loads(data)
        try:
            if "status" in request:
                _reap()
                # Told once: the asker (Launched.poll) keeps the answer.
                answer: dict[str, Any] = {"rc": _exited.pop(request["status"], None)}
            else:
                answer = _start(request, fds[0])
        except Exception as e:  # a reply, never a dead helper
            answer = {"error": f"{type(e).__name__}: {e}"}
        finally:
            for fd in fds:
                os.close(fd)  # the child has its copies
        sock.send(json.dumps(answer).encode())


if __name__ == "__main__":
    _serve(socket.socket(fileno=int(sys.argv[1])))
