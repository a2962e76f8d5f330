"""Kernel tests: real namespaces, real nftables, real packets. Root only."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from netemu.testing import Running, running_text

LEAKCHECK = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "tools", "leakcheck")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="kernel tests need root")
        for item in items:
            if "tests/kernel" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture
def up() -> Iterator[object]:
    """`with up(yaml_text) as s:` brings a scenario up for the block and down after it."""
    yield running_text


@pytest.fixture(autouse=True, scope="session")
def _nothing_left_behind() -> Iterator[None]:
    yield
    if os.geteuid() == 0 and os.path.exists(LEAKCHECK):
        leaks = subprocess.run(["bash", LEAKCHECK], capture_output=True, text=True).stdout
        assert not leaks, f"kernel tests left objects behind:\n{leaks}"


__all__ = ["Running"]
