"""pytest plugin: `netemu_scenario` brings a scenario up for a test module and down after.

NETEMU_SCENARIO = "scenarios/book/webdb.yaml"   # in the test module

def test_db_is_private(netemu_scenario):
    assert netemu_scenario.probe("internet", "db", tcp=22).result == "blocked"
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from netemu.testing import Running, running


@pytest.fixture(scope="module")
def netemu_scenario(request: pytest.FixtureRequest) -> Iterator[Running]:
    path = getattr(request.module, "NETEMU_SCENARIO", None)
    if path is None:
        raise pytest.UsageError("set NETEMU_SCENARIO = 'path/to/scenario.yaml' in the test module")
    if os.geteuid() != 0:
        pytest.skip("netemu scenarios need root")
    base = os.path.dirname(str(request.module.__file__))
    full = path if os.path.isabs(path) or os.path.exists(path) else os.path.join(base, path)
    with running(full) as r:
        yield r
