"""The resolved model of a running scenario, kept in its state directory so that commands
on it (`netemu probe`, `status`, `exec`) do not parse and validate the scenario file again.

Parsing, resolving and validating a scenario (and importing the YAML parser and every
validator) is about a third of `netemu probe`'s start (issue 21). The model is a pure
function of the scenario copy, stop/start's overrides and netemu's own model code, so the
cache is keyed by exactly those (the copy's inode, size and mtime, the overrides, and the
mtimes of netemu/model/), and anything unexpected — no file, another key, a file not
root's own or writable by others, a pickle of classes that changed — falls back to
loading the file, which then refreshes the cache. The state directory is root's, mode 0700.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
from collections.abc import Callable
from typing import Any

from netemu.driver import state as st
from netemu.model.types import Model

FILE = "model.pickle"
APPLY_FILE = "model-apply.pickle"
_CODE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "model")


def _key(copy: str, overrides: dict[str, Any]) -> tuple[Any, ...]:
    s = os.stat(copy)
    code = max(e.stat().st_mtime_ns for e in os.scandir(_CODE) if e.name.endswith(".py"))
    return (s.st_ino, s.st_size, s.st_mtime_ns, json.dumps(overrides, sort_keys=True), code)


def _trusted(path: str) -> bool:
    s = os.stat(path)
    return s.st_uid == os.geteuid() and not s.st_mode & 0o022


def cached(
    scenario: str, copy: str, overrides: dict[str, Any], load: Callable[[], Model],
    source: str | None = None,
) -> Model:  # fmt: skip
    """The model of `scenario` from its cache if the key matches, else `load()` (cached).
    With `source`, the model whose positions name that file instead of the copy (what
    `apply` compares a file with, ops.plans.running_model), kept in a file of its own."""
    path = os.path.join(st.state_dir(scenario), FILE if source is None else APPLY_FILE)
    try:
        key = (*_key(copy, overrides), source)
    except OSError:
        return load()  # no scenario copy: let the loader say what is wrong
    try:
        if _trusted(path):
            with open(path, "rb") as f:
                stored, model = pickle.load(f)
            if stored == key and isinstance(model, Model):
                return model
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError,
            ValueError):  # fmt: skip
        pass
    model = load()
    _write(path, key, model)
    return model


def remember(scenario: str, copy: str, model: Model) -> None:
    """After `up` or `apply` built `model` from the file it names (`model.source`, absolute,
    the scenario's copy now at `copy`, no stop/start overrides yet): the model the next
    `apply` compares with, so that it need not read the copy again."""
    if not os.path.isabs(model.source):
        return  # its positions would not name the file as the next apply's do
    try:
        key = (*_key(copy, {}), model.source)
    except OSError:
        return
    _write(os.path.join(st.state_dir(scenario), APPLY_FILE), key, model)


def _write(path: str, key: tuple[Any, ...], model: Model) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            pickle.dump((key, model), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        # A model that cannot be pickled, or a read-only state directory: no cache.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
