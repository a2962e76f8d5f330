"""`netemu logs TARGET`: what an instance's or internet host's user data and servers wrote.

The sources, in order: the user-data log (services.user_data), the output of each one-shot
task of the target (its DHCP client, mariadb's data directory) from the tasks log, each
daemon's own log (mariadbd, nginx, its app, sshd), and nginx's access log.
"""

from __future__ import annotations

import dataclasses
import os
import re

from netemu.driver import process
from netemu.model.types import Model
from netemu.render.plan import Plan, Process
from netemu.services import nginx, user_data

TASKS_LOG = "logs/tasks.log"  # driver.kernel.TASKS_LOG under driver.kernel.LOGS
_TASK_HEADER = re.compile(r"^== (.+): exit (-?\d+)$")


def belongs(p: Process, target: str) -> bool:
    """A process of `target`: it runs as that endpoint, or its name ends with it."""
    return p.endpoint == target or p.name.endswith(
        (f" instance:{target}", f" internet_host:{target}")
    )


def task_output(state: str, names: set[str]) -> list[tuple[str, str]]:
    """(task name, its output) from the tasks log, for each task in `names`."""
    try:
        with open(os.path.join(state, TASKS_LOG), errors="replace") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    found: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in lines:
        header = _TASK_HEADER.match(line)
        if header:
            current = [f"(exit {header[2]})"] if header[1] in names else None
            if current is not None:
                found.append((header[1], current))
        elif current is not None:
            current.append(line)
    return [(name, "\n".join(text)) for name, text in found]


def of(model: Model, state: str, target: str) -> list[tuple[str, str]]:
    """The logs of `target` in a running scenario; a stopped instance's servers too (their
    logs outlive them), so the plan is that of every instance running."""
    from netemu.render import render

    everyone = {
        name: dataclasses.replace(inst, state="running") for name, inst in model.instances.items()
    }
    return sections(render(dataclasses.replace(model, instances=everyone)), state, target)


def sections(plan: Plan, state: str, target: str) -> list[tuple[str, str]]:
    """(title, text) of every log of `target` that exists, oldest kind first."""
    found: list[tuple[str, str]] = []

    def read(title: str, rel: str) -> None:
        path = os.path.join(state, rel)
        if os.path.isfile(path):
            with open(path, errors="replace") as f:
                found.append((f"{title} ({path})", f.read()))

    mine = [p for p in plan.processes if belongs(p, target)]
    read("user data", user_data.log_path(target))
    tasks = {p.name for p in mine if p.wait and not p.name.startswith("user-data ")}
    found += [(f"{name} (task)", text) for name, text in task_output(state, tasks)]
    for p in mine:
        if not p.wait:
            read(p.name, process.log_file(p.name))
    read("nginx access", f"{nginx.directory(target)}/access.log")
    return found
