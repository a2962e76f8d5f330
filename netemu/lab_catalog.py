"""The troubleshooting labs on disk: files, guide, checks merged into a scenario, the fix.

Each lab is a directory `NN-name/` holding scenario.yaml (broken), solution.yaml (fixed),
checks.yaml (the `expect` entries that define fixed) and lab.md (story, goal, hints,
explanation); see scenarios/labs/README.md.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from netemu.errors import ExitStatus, NetemuError, Problem, ScenarioInvalid, UsageError
from netemu.model import load_model

# the function, not netemu.model.resolve the module, which shadows it once imported
from netemu.model.resolve import resolve
from netemu.model.types import Model
from netemu.scenario import Node, load

LABS_ENV = "NETEMU_LABS"  # another directory of labs (tests, trainers' own labs)
SCENARIO = "scenario.yaml"  # the broken scenario the user copies and edits
CHECKS = "checks.yaml"  # `expect:` entries that define "fixed"; never copied to the user
SOLUTION = "solution.yaml"  # the reference fix
GUIDE = "lab.md"  # story, goal, hints, explanation
TRANSLATED_GUIDE = "lab.{lang}.md"  # the same sections in another language (lab.ja.md)
LAB_DIR_RE = re.compile(r"(\d{2})-([a-z0-9][a-z0-9-]*)")
_HEADING_RE = re.compile(r"^(#{1,2})\s+(.*?)\s*$")
_HINT_RE = re.compile(r"Hint\s+(\d+)\s*:\s*(.+)")


class LabBroken(NetemuError):
    """A lab's own files are malformed (an authoring error, not the user's)."""

    exit_status = ExitStatus.INVALID_INPUT


@dataclass(frozen=True)
class Hint:
    number: int
    title: str
    text: str


@dataclass(frozen=True)
class Guide:
    """lab.md cut at its headings: `# Lab NN: title`, then `## Story`, `## Goal`,
    `## Hint 1: …` (as many as wanted, in increasing detail), `## Explanation`."""

    title: str
    story: str
    goal: str
    hints: tuple[Hint, ...]
    explanation: str
    lang: str = "en"  # the language it is written in


@dataclass(frozen=True)
class Lab:
    name: str  # the directory name, e.g. "03-nat-in-private"
    path: Path

    @property
    def number(self) -> str:
        return self.name.split("-", 1)[0]

    @property
    def slug(self) -> str:
        return self.name.split("-", 1)[1]

    @property
    def scenario_path(self) -> str:
        return str(self.path / SCENARIO)

    @property
    def checks_path(self) -> str:
        return str(self.path / CHECKS)

    @property
    def solution_path(self) -> str:
        return str(self.path / SOLUTION)

    def guide(self, lang: str = "en") -> Guide:
        """lab.md, or its translation lab.LANG.md; the English one (its `lang` says so) when
        there is no translation yet."""
        path = self.path / GUIDE
        translated = self.path / TRANSLATED_GUIDE.format(lang=lang)
        if lang != "en" and translated.is_file():
            path = translated
        try:
            guide = parse_guide(path.read_text(encoding="utf-8"), str(path))
            return replace(guide, lang=lang if path == translated else "en")
        except OSError as e:
            raise LabBroken(f"{path}: cannot read the lab guide: {e.strerror or e}") from None

    def scenario_name(self) -> str:
        """The `name:` of the lab's scenario; every copy must keep it (kernel objects and
        `netemu down` go by this name)."""
        model, _ = load_model(self.scenario_path)
        return model.name


def labs_root() -> Path:
    """`$NETEMU_LABS`, else scenarios/labs beside the netemu package (a source checkout or
    an editable install)."""
    given = os.environ.get(LABS_ENV)
    if given:
        return Path(given)
    return Path(__file__).resolve().parent.parent / "scenarios" / "labs"


def all_labs(root: Path | None = None) -> list[Lab]:
    base = root or labs_root()
    if not base.is_dir():
        return []
    # A directory is a lab once it holds its scenario: a translation may arrive before the
    # lab it translates (branches merged in any order).
    return sorted(
        (
            Lab(d.name, d)
            for d in base.iterdir()
            if d.is_dir() and LAB_DIR_RE.fullmatch(d.name) and (d / SCENARIO).is_file()
        ),
        key=lambda lab: lab.name,
    )


def find(name: str, root: Path | None = None) -> Lab:
    """A lab by its directory name, its number (`3`, `03`) or the name after the number."""
    labs = all_labs(root)
    key = name.strip().lower()
    for lab in labs:
        if key in (lab.name, lab.slug) or (key.isdigit() and int(key) == int(lab.number)):
            return lab
    close = difflib.get_close_matches(key, [lab.name for lab in labs], n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UsageError(f"no lab called '{name}'{hint} (see `netemu lab list`)")


def parse_guide(text: str, path: str = GUIDE) -> Guide:
    title = ""
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        m = _HEADING_RE.match(line)
        if m and m.group(1) == "#" and not title and not sections:
            title = m.group(2)
        elif m and m.group(1) == "##":
            sections.append((m.group(2), []))
        elif sections:
            sections[-1][1].append(line)
    body = {head: "\n".join(lines).strip() for head, lines in sections}
    hints: list[Hint] = []
    for head, text_ in body.items():
        hm = _HINT_RE.fullmatch(head)
        if hm:
            hints.append(Hint(int(hm.group(1)), hm.group(2), text_))
    missing = [s for s in ("Story", "Goal", "Explanation") if not body.get(s)]
    if not title or missing or not hints:
        what = ", ".join(
            [*(["a '# Lab NN: title' line"] if not title else []), *missing]
            + (["at least one '## Hint 1: title'"] if not hints else [])
        )
        raise LabBroken(f"{path}: the lab guide lacks {what}")
    if [h.number for h in hints] != list(range(1, len(hints) + 1)):
        raise LabBroken(f"{path}: hints must be numbered 1, 2, 3, … in order")
    return Guide(title, body["Story"], body["Goal"], tuple(hints), body["Explanation"])


def graded_model(lab: Lab, path: str) -> tuple[Model, list[Problem]]:
    """The scenario at `path` with its `expect` list replaced by the lab's checks, and the
    scenario's warnings.

    The checks come from the lab, never from the user's file, so editing or deleting them in
    the copy changes nothing. Problems keep their real places: the user's file for the
    scenario, the lab's checks.yaml for a check naming something the user removed."""
    _, warnings = load_model(path)  # the user's file alone first: its problems, its lines
    raw = load(path)
    checks = load(lab.checks_path)
    if not isinstance(checks.value, dict) or set(checks.value) != {"expect"}:
        raise LabBroken(f"{lab.checks_path}: a checks file holds exactly one key, 'expect'")
    assert isinstance(raw.value, dict)  # load_model accepted it
    merged = Node({**raw.value, "expect": checks.value["expect"]}, raw.tag, raw.pos, raw.key_pos)
    try:
        model, _ = resolve(merged, path)
    except ScenarioInvalid as e:
        note = " (a check of the lab uses this name: keep the lab's names in your scenario)"
        raise ScenarioInvalid(
            [
                replace(p, message=p.message + note) if p.pos and p.pos.file != path else p
                for p in e.problems
                if p.severity == "error"
            ]
        ) from None
    return model, warnings


def solution_diff(lab: Lab) -> str:
    """A unified diff from the lab's broken scenario to the reference fix."""
    with open(lab.scenario_path, encoding="utf-8") as f:
        before = f.read().splitlines(keepends=True)
    with open(lab.solution_path, encoding="utf-8") as f:
        after = f.read().splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(before, after, f"{lab.name}/{SCENARIO}", f"{lab.name}/{SOLUTION}", n=2)
    )
