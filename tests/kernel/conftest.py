"""Kernel tests: real namespaces, real nftables, real packets. Root only.

Every test here carries the `kernel` marker, so `pytest -m "not kernel"` runs the rest of
the suite anywhere, without root."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="kernel tests need root")
    for item in items:
        if "tests/kernel" not in str(item.fspath):
            continue
        item.add_marker(pytest.mark.kernel)
        if os.geteuid() != 0:
            item.add_marker(skip)
