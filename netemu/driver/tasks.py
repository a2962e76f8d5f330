"""One-shot tasks of a phase (DHCP clients, key generation), run together, output by pipe.

A task's output comes back through a pipe, not a file of its own: on the reference
machine, whose /run is ext4, creating a file costs about a millisecond of CPU, more than
a thousand-instance `up` can spend per DHCP client. Each task's output is kept in one
log of all tasks, under the task's name, and handed to the caller (a DHCP client reports
its lease there, driver.lease). At most AT_ONCE run at a time, which bounds the pipes held.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from netemu.driver.process import Child
from netemu.errors import KernelError
from netemu.render.plan import Process

# Enough to keep two CPUs busy: a DHCP client spends ~90 ms, mostly the kernel's RCU
# waits on its packet sockets, and ~3 ms of CPU. Few enough that netemu's descriptors stay
# within what capacity.FILES_BASE allows for.
AT_ONCE = 64

Start = Callable[[Process, int], Child]  # process, fd for its output


@dataclass
class _Running:
    process: Process
    child: Child
    fd: int  # the read end of its output pipe
    started: float
    output: bytearray = field(default_factory=bytearray)


def run(
    tasks: list[Process], start: Start, log_path: str, timeout: float
) -> list[tuple[Process, str]]:
    """Run `tasks` and return each with its output, once every one has exited 0. The
    first that fails, or runs longer than `timeout`, raises KernelError; the others are
    left running (the caller's rollback stops every process in the namespaces). A task
    ends when its output does: when every process it started has closed it."""
    if not tasks:
        return []
    waiting = list(reversed(tasks))
    running: dict[int, _Running] = {}
    finished: list[tuple[Process, str]] = []
    poller = select.poll()
    with open(log_path, "ab") as log:
        try:
            while waiting or running:
                while waiting and len(running) < AT_ONCE:
                    task = _start(waiting.pop(), start)
                    running[task.fd] = task
                    poller.register(task.fd, select.POLLIN)
                for fd, _event in poller.poll(_ms_left(running.values(), timeout)):
                    task = running[fd]
                    data = os.read(fd, 1 << 16)
                    if data:
                        task.output += data
                        continue
                    poller.unregister(fd)
                    del running[fd]
                    os.close(fd)
                    finished.append(_finish(task, log, timeout))
                _check_time(running.values(), timeout)
        finally:
            for task in running.values():
                os.close(task.fd)
    return finished


def _start(p: Process, start: Start) -> _Running:
    read_end, write_end = os.pipe()
    try:
        child = start(p, write_end)
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)  # the child has its own copy; EOF comes when it closes that
    return _Running(p, child, read_end, time.monotonic())


def _finish(task: _Running, log: BinaryIO, timeout: float) -> tuple[Process, str]:
    try:
        rc = task.child.wait(timeout)
    except subprocess.TimeoutExpired:
        task.child.kill()
        task.child.wait()
        raise KernelError(f"{task.process.name} closed its output but did not exit") from None
    text = task.output.decode(errors="replace")
    log.write(f"== {task.process.name}: exit {rc}\n{text}".encode())
    if text and not text.endswith("\n"):
        log.write(b"\n")
    if rc != 0:
        tail = "\n  ".join(text.strip().splitlines()[-5:])
        raise KernelError(f"{task.process.name} failed (exit {rc}); see {log.name}:\n  {tail}")
    return task.process, text


def _ms_left(running: Iterable[_Running], timeout: float) -> int:
    """Milliseconds until the oldest running task runs out of time."""
    oldest = min((task.started for task in running), default=time.monotonic())
    return max(0, int((oldest + timeout - time.monotonic()) * 1000)) + 1


def _check_time(running: Iterable[_Running], timeout: float) -> None:
    now = time.monotonic()
    for task in running:
        if now - task.started > timeout:
            task.child.kill()
            task.child.wait()
            raise KernelError(f"{task.process.name} did not finish within {timeout:.0f} s")
