"""User errors of `exec` and what `down --all` may remove: one line, the usual exit code,
nothing removed that netemu did not record (issue 11; contract 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from netemu.driver import netns, state
from netemu.testing import running_text
from scenarios import vpc


def netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_exec_of_a_missing_or_unrunnable_program_is_one_line_and_127_or_126() -> None:
    with running_text(vpc(name="clierr")):
        missing = netemu("exec", "-s", "clierr", "web", "--", "no-such-program-here")
        assert missing.returncode == 127
        assert missing.stderr.strip().splitlines() == [
            "netemu: no-such-program-here: command not found (in web)"
        ]
        unrunnable = netemu("exec", "-s", "clierr", "web", "--", "/etc/hostname")
        assert unrunnable.returncode == 126
        assert len(unrunnable.stderr.strip().splitlines()) == 1
        assert "Traceback" not in missing.stderr + unrunnable.stderr
        assert netemu("exec", "-s", "clierr", "web", "--", "true").returncode == 0


def test_down_all_leaves_unrecorded_namespaces_unless_forced(tmp_path: Path) -> None:
    if state.running() or netns.list_names("ne-"):
        pytest.skip("`down --all` would remove other scenarios on this host")
    stray = f"ne-clierr-stray{os.getpid() % 1000}"
    path = tmp_path / "clierr.yaml"
    path.write_text(vpc(name="clierr"))
    os.chmod(tmp_path, 0o755)
    assert netemu("up", str(path)).returncode == 0
    netns.create(stray)
    try:
        ran = netemu("down", "--all")
        assert ran.returncode == 0
        assert "removed: clierr" in ran.stdout
        assert stray in ran.stderr and "--force-unrecorded" in ran.stderr
        assert netns.exists(stray)
        assert netns.list_names("ne-clierr-") == [stray]
        forced = netemu("down", "--all", "--force-unrecorded")
        assert forced.returncode == 0 and stray in forced.stdout
        assert not netns.exists(stray)
        assert netemu("down", "clierr", "--force-unrecorded").returncode == 2
    finally:
        netns.delete(stray)
