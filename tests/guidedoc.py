"""The guide's pages as doctests: ```console blocks of docs/guide/{ja,en}/*.md, each `$ `
command with the output expected from it (`...` stands for any text), run in order in a
shell the way a reader types them.

Shared by tests/unit/test_guide_pages.py (same pages and commands in both languages, without
root) and tests/kernel/test_guide.py (the commands really run, as root)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide"
LANGS = ("en", "ja")
ELLIPSIS = "..."
_LANG_OPTION = re.compile(r"\s--lang\s+(en|ja)\b")
APPLY = re.compile(r"^(?:sudo\s+)?netemu\s+apply\s+(\S+)\s*$")


@dataclass(frozen=True)
class Step:
    page: str  # e.g. "ja/03-internet-gateway.md"
    line: int  # of the `$ ` line, 1-based
    command: str
    expected: str

    @property
    def comparable(self) -> str:
        """The command as both languages must spell it: `--lang ja|en` removed."""
        return _LANG_OPTION.sub("", self.command)


def pages(lang: str) -> list[Path]:
    return sorted((GUIDE / lang).glob("[0-9][0-9]-*.md"))


def steps(path: Path) -> list[Step]:
    """Every `$ command` of the page's ```console blocks with its expected output. A command
    continues on lines starting with `> `."""
    name = f"{path.parent.name}/{path.name}"
    out: list[Step] = []
    in_block = False
    current: tuple[int, list[str], list[str]] | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            line, cmd, expected = current
            out.append(Step(name, line, "\n".join(cmd), "\n".join(expected)))
        current = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not in_block:
            in_block = raw.strip() == "```console"
            continue
        if raw.strip() == "```":
            flush()
            in_block = False
        elif raw.startswith("$ "):
            flush()
            current = (number, [raw[2:]], [])
        elif raw.startswith("> ") and current is not None and not current[2]:
            current[1].append(raw[2:])
        elif current is not None:
            current[2].append(raw)
    return out


def matches(expected: str, actual: str) -> bool:
    """doctest's ELLIPSIS and NORMALIZE_WHITESPACE: `...` matches any text, also across
    lines; a run of spaces counts as one; trailing spaces and empty lines do not count."""

    def tidy(text: str) -> str:
        lines = text.strip("\n").splitlines()
        return "\n".join(re.sub(r"[ \t]+", " ", line).rstrip() for line in lines)

    parts = [re.escape(p) for p in tidy(expected).split(ELLIPSIS)]
    return re.fullmatch("(?s)" + ".*?".join(parts), tidy(actual)) is not None


def apply_available() -> bool:
    from netemu.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return "apply" in (sub.choices or {})


class Shell:
    """Runs a page's commands as typed: `sudo` and `netemu` are small scripts first on PATH,
    running this checkout's netemu with this Python (the tests already run as root)."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="netemu-guide-")
        bin_dir = Path(self._dir.name)
        (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
        (bin_dir / "netemu").write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m netemu.cli "$@"\n'
        )
        for f in bin_dir.iterdir():
            f.chmod(0o755)
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PYTHONPATH": str(ROOT),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        self.apply = apply_available()
        self.substituted: list[Step] = []

    def run(self, step: Step) -> tuple[str, int]:
        """The command's output (stdout and stderr, as a terminal shows them) and exit
        status."""
        command = step.command
        m = APPLY.match(command)
        if m and not self.apply:
            # Until `netemu apply` exists: rebuild from the file (down, then up), which
            # reaches the same end state for the guide's stages.
            self.substituted.append(step)
            f = shlex.quote(m.group(1))
            command = f"netemu down {f} >/dev/null 2>&1; netemu up {f}"
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        return done.stdout, done.returncode

    def close(self) -> None:
        self._dir.cleanup()
