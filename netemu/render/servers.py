"""Model -> the real servers (mariadb, nginx) and user data of running instances.

Only running instances get them: `netemu stop` ends an instance's servers and `netemu
start` starts them again (driver.kernel.reload starts and stops the daemons by which the
plans before and after differ), while their data stays in the instance's directory. User
data runs once per instance (services.user_data), so its task at `start` does nothing.
"""

from __future__ import annotations

import dataclasses
import sys

from netemu.model.types import Model
from netemu.render import names as n
from netemu.render.plan import File, Plan, Process
from netemu.services import mariadb, nginx, user_data

PYTHON = sys.executable


def _needs() -> dict[str, tuple[str, tuple[str, ...]]]:
    """What each server needs besides the program it runs, and the `make setup WITH=` name
    that installs it (scripts/setup.sh). A function: the plug-ins import netemu.render,
    which imports this module, so their names are read only when called."""
    return {
        mariadb.MARIADBD: ("mariadb", (mariadb.INSTALL_DB, mariadb.CLIENT)),
        nginx.NGINX: ("nginx", ()),
        "webapp": ("mariadb", (mariadb.CLIENT,)),
    }


def render(model: Model) -> tuple[list[File], list[Process]]:
    files: list[File] = []
    processes: list[Process] = []
    for inst in model.instances.values():
        if inst.state != "running":
            continue
        env: tuple[tuple[str, str], ...] = ()
        for svc in inst.services:
            if svc.kind == "mariadb":
                f, p = mariadb.render(model.name, inst, svc)
                # The mysql client in user data finds the local server without options.
                env = (("MYSQL_HOME", f"{{state}}/{mariadb.client_home(inst.name)}"),)
            elif svc.kind == "nginx":
                f, p = nginx.render(model, inst, svc, PYTHON)
            else:
                continue
            files += f
            processes += p
        if inst.user_data is not None:
            ns = n.instance_ns(model.name, inst.name)
            script, run = user_data.task(ns, inst.name, inst.user_data, PYTHON, env)
            files.append(script)
            processes.append(run)
    return files, processes


def programs(plan: Plan) -> dict[str, str]:
    """Every program the servers of `plan` run -> the WITH= name that installs it."""
    out: dict[str, str] = {}
    needs = _needs()
    for p in plan.processes:
        key = "webapp" if p.name.startswith("webapp ") else p.argv[0]
        if key in needs:
            what, extra = needs[key]
            out.update(dict.fromkeys([*([] if key == "webapp" else [key]), *extra], what))
    return out


def setup_hint(missing: list[str], plan: Plan) -> str:
    """`sudo make setup` with WITH=… when a server's program is among `missing`."""
    needed = programs(plan)
    with_ = sorted({needed[m] for m in missing if m in needed})
    return "sudo make setup" + (f" WITH={','.join(with_)}" if with_ else "")


def add(model: Model, plan: Plan) -> Plan:
    files, processes = render(model)
    return dataclasses.replace(
        plan, files=plan.files + tuple(files), processes=plan.processes + tuple(processes)
    )
