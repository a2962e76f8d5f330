"""Kernel tests: real namespaces, real nftables, real packets. Root only."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="kernel tests need root")
        for item in items:
            if "tests/kernel" in str(item.fspath):
                item.add_marker(skip)
