"""Reliability and safety tests (issue 7). Tests marked `kernel` need root and build real
namespaces; the rest are pure. Their full form, with figures, is `make reliability`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import relkit


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="kernel tests need root")
        for item in items:
            if "tests/reliability" in str(item.fspath) and item.get_closest_marker("kernel"):
                item.add_marker(skip)


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A directory the daemons netemu starts can read (some drop privileges)."""
    d = tmp_path_factory.mktemp("rel")
    os.chmod(d, 0o755)
    for parent in d.parents:
        if str(parent).startswith("/tmp/pytest-of-"):
            os.chmod(parent, 0o755)
    return str(d)


@pytest.fixture
def nothing_left() -> Iterator[None]:
    """The test leaves none of its own scenarios behind; when nothing but this test's
    scenarios existed before it (CI), the shared leak check must be clean as well."""
    alone = not relkit.foreign() and os.geteuid() == 0
    yield
    if os.geteuid() != 0:
        return
    left = relkit.leftovers()
    if left:
        for name in {line.split()[1].split("/")[-1] for line in left if line.startswith("state")}:
            relkit.netemu("down", name)
    assert not left, "left behind:\n" + "\n".join(left)
    if alone and not relkit.foreign():
        report = relkit.full_leakcheck()
        assert not report, report
