"""Endpoint daemons start through netemu's small launcher process (driver.launcher): the
child runs in the instance's network namespace with its own host name, its exit status
comes back, a program that cannot start is a KernelError with the reason, and the
launcher ends when the process that started it does."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest
from live import live
from test_apply import CLIENT_5000, scenario

from netemu.driver import launcher, netns, process
from netemu.driver import state as st
from netemu.errors import KernelError
from netemu.render.topology import endpoint_ns


def _run(ns: str, name: str, script: str) -> tuple[process.Child, str]:
    with tempfile.TemporaryFile() as out:
        child = process.spawn(ns, ["/bin/sh", "-c", script], out.fileno(), {"NE_T": "x"},
                              (st.state_dir(name.split("/")[0]), name.split("/")[1]))  # fmt: skip
        child.wait(10)
        out.seek(0)
        return child, out.read().decode()


def test_an_endpoint_daemon_runs_as_the_instance_and_its_exit_is_seen() -> None:
    with live(scenario(ingress=CLIENT_5000)) as s:
        ns = endpoint_ns(s.model, "web")
        with open(os.path.join(st.state_dir(s.model.name), "etc", "web", "hostname")) as f:
            host = f.read().strip()
        child, out = _run(ns, f"{s.model.name}/web",
                          "hostname; echo $NE_T; readlink /proc/self/ns/net; exit 3")  # fmt: skip
        assert isinstance(child, launcher.Launched)
        assert child.poll() == 3 and child.returncode == 3
        with netns.entered(ns):
            inode = f"net:[{os.stat('/proc/thread-self/ns/net').st_ino}]"
        assert out.split() == [host, "x", inode]


def test_a_program_that_cannot_start_is_a_kernel_error_with_the_reason() -> None:
    with live(scenario(ingress=CLIENT_5000)) as s:
        ns = endpoint_ns(s.model, "web")
        with pytest.raises(KernelError, match="No such file"):
            process.spawn(ns, ["/nonexistent/ne-daemon"], 1, None,
                          (st.state_dir(s.model.name), "web"))  # fmt: skip


def test_the_launcher_ends_with_the_process_that_started_it() -> None:
    code = (
        "from netemu.driver import launcher; h = launcher.helper(); print(h.proc.pid, flush=True)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30)  # fmt: skip
    pid = int(out.stdout)
    for _ in range(200):
        if not os.path.exists(f"/proc/{pid}") or _zombie(pid):
            return
        __import__("time").sleep(0.01)
    raise AssertionError(f"launcher {pid} outlived its netemu")


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_launcher_that_died_is_started_again_for_the_next_daemon() -> None:
    with live(scenario(ingress=CLIENT_5000)) as s:
        ns = endpoint_ns(s.model, "web")
        first = launcher.helper()
        first.proc.kill()
        first.proc.wait()
        child, out = _run(ns, f"{s.model.name}/web", "echo again")
        assert launcher.helper() is not first and child.returncode == 0 and out == "again\n"
