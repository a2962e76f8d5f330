"""The guide's pages as doctests: ```console blocks of docs/guide/{ja,en}/*.md, each `$ `
command with the output expected from it (`...` stands for any text), run in order in a
shell the way a reader types them: shell variables a command sets are there for the later
ones, and `sudo netemu serve ... &` runs in the background until the page ends (on a port
of its own and a fresh `--state`; the page's `127.0.0.1:4566` means that port).

Shared by tests/unit/test_guide_pages.py (same pages and commands in both languages, without
root) and tests/kernel/test_guide.py (the commands really run, as root)."""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
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
SERVE = re.compile(r"^((?:sudo\s+)?netemu\s+serve\b.*?)\s*&\s*$")
SERVED = "127.0.0.1:4566"  # the endpoint as the pages write it (serve's default port)
# Bash around each command: the variables the page's earlier commands set are read in, and
# those this one leaves are written out for the next (bash's own and these excepted).
_KEEP_VARIABLES = """__before=" $(compgen -v | tr '\\n' ' ') "
[ -f {vars} ] && . {vars}
{command}
__rc=$?
for __v in $(compgen -v); do
  case "$__before" in *" $__v "*) ;; *) [ "${{__v#__}}" = "$__v" ] && declare -p "$__v";; esac
done > {vars}.new 2>/dev/null
mv {vars}.new {vars}
exit $__rc
"""


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
        (bin_dir / "aws").write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m awscli "$@"\n'
        )
        for f in bin_dir.iterdir():
            f.chmod(0o755)
        self._vars = shlex.quote(str(bin_dir / "variables.sh"))
        self._serve: subprocess.Popen[str] | None = None
        self._port = ""
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
        m = SERVE.match(command)
        if m:
            return self._start_serve(m.group(1))
        if self._port:
            command = command.replace(SERVED, f"127.0.0.1:{self._port}")
        done = subprocess.run(
            ["bash", "-c", _KEEP_VARIABLES.format(vars=self._vars, command=command)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        return done.stdout, done.returncode

    def _start_serve(self, command: str) -> tuple[str, int]:
        """`netemu serve` in the background, on a free port and a fresh state directory
        (the last --port and --state win): its ready line, with the page's port."""
        state = shlex.quote(os.path.join(self._dir.name, "serve"))
        self._serve = subprocess.Popen(
            ["bash", "-c", f"exec {command} --port 0 --state {state}"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self._serve.stdout is not None
        ready, _, _ = select.select([self._serve.stdout], [], [], 120)
        line = self._serve.stdout.readline() if ready else ""
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not m:
            return line, 1
        self._port = m.group(1)
        return line.replace(f"127.0.0.1:{self._port}", SERVED), 0

    def close(self) -> None:
        if self._serve is not None and self._serve.poll() is None:
            os.killpg(self._serve.pid, signal.SIGTERM)  # the session we started above
            try:
                self._serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._serve.pid, signal.SIGKILL)
                self._serve.wait()
        self._dir.cleanup()
