"""What a running scenario created, kept under /run/netemu/<scenario>/ so `down` works after
a crash: the list of namespaces is written before the first one exists."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from netemu.errors import UsageError
from netemu.services import privsep

STATE_ROOT = "/run/netemu"


@dataclass
class State:
    scenario: str
    source: str  # the scenario file the user gave
    namespaces: list[str]  # every namespace the plan makes, in creation order
    pids: list[int] = field(default_factory=list)  # processes netemu started
    complete: bool = False  # False while `up` runs or after it crashed
    up_pid: int = 0  # the `up` that builds it; `down` waits for it unless it died
    up_started: int = 0  # that process's start time, so a reused pid is not mistaken for it
    summary: dict[str, Any] = field(default_factory=dict)  # what `status` prints
    # Changes made while running (netemu stop/start): instance name -> state, public IP.
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


def state_dir(scenario: str) -> str:
    return os.path.join(STATE_ROOT, scenario)


def scenario_copy(scenario: str, source: str) -> str:
    """The scenario as it was brought up; later commands read this, not the user's file,
    which may have been edited since. It keeps the file's base name, from which a
    scenario without `name:` takes its name."""
    return os.path.join(state_dir(scenario), os.path.basename(source))


def claim(scenario: str, source: str) -> None:
    """Take the scenario's state directory. mkdir is atomic, so of two racing `up`s of one
    scenario exactly one wins; the other is refused before it touches anything."""
    os.makedirs(STATE_ROOT, exist_ok=True)
    # sshd refuses keys below a group- or world-writable directory (StrictModes).
    os.chmod(STATE_ROOT, 0o755)
    try:
        os.mkdir(state_dir(scenario), 0o700)
    except FileExistsError:
        raise UsageError(
            f"scenario '{scenario}' is already up (or an earlier `up` crashed); "
            f"run `netemu down {scenario}` first"
        ) from None
    shutil.copyfile(source, scenario_copy(scenario, source))


def save(state: State) -> None:
    path = os.path.join(state_dir(state.scenario), "state.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(asdict(state), f, indent=1)
    os.replace(tmp, path)


def load(scenario: str) -> State | None:
    try:
        with open(os.path.join(state_dir(scenario), "state.json")) as f:
            data = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return State(**data)


def release(scenario: str) -> None:
    # A process that was being killed may still create a file while the tree is removed
    # (rmtree then fails on a directory that is not empty): try again, briefly.
    for _ in range(50):
        shutil.rmtree(state_dir(scenario), ignore_errors=True)
        if not os.path.exists(state_dir(scenario)):
            break
        time.sleep(0.01)
    try:
        os.rmdir(STATE_ROOT)  # leave no empty directory behind
    except OSError:
        return  # another scenario is still up
    privsep.release()  # the last scenario is gone: /run/sshd too, if netemu made it


def running() -> list[str]:
    try:
        return sorted(d for d in os.listdir(STATE_ROOT) if os.path.isdir(state_dir(d)))
    except FileNotFoundError:
        return []
