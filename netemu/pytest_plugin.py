"""pytest plugin: `netemu_scenario` brings a scenario up for a test module and down after.

NETEMU_SCENARIO = "scenarios/book/webdb.yaml"   # in the test module

def test_db_is_private(netemu_scenario):
    assert netemu_scenario.probe("internet", "db", tcp=22).result == "blocked"

Without root (or with NETEMU_STATIC=1) nothing is built: probes are answered by the model
(`netemu explain`), the session header says so, and every answer carries `modelled`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from netemu.explain.testing import Modelled
from netemu.model import load_model
from netemu.testing import Running, running


def _static() -> bool:
    return os.geteuid() != 0 or os.environ.get("NETEMU_STATIC", "") not in ("", "0")


def pytest_report_header(config: pytest.Config) -> str | None:
    del config
    if _static():
        why = "not root" if os.geteuid() != 0 else "NETEMU_STATIC is set"
        return (
            f"netemu: {why}: scenarios are judged by the model (netemu explain), "
            "no packets are sent"
        )
    return None


@pytest.fixture(scope="module")
def netemu_scenario(request: pytest.FixtureRequest) -> Iterator[Running | Modelled]:
    path = getattr(request.module, "NETEMU_SCENARIO", None)
    if path is None:
        raise pytest.UsageError("set NETEMU_SCENARIO = 'path/to/scenario.yaml' in the test module")
    base = os.path.dirname(str(request.module.__file__))
    full = path if os.path.isabs(path) or os.path.exists(path) else os.path.join(base, path)
    if _static():
        model, _ = load_model(full)
        yield Modelled(model)
        return
    with running(full) as r:
        yield r
