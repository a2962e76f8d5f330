"""Scenario files -> raw Nodes: YAML composed (never constructed) with 1-based positions.

Only PyYAML's composer runs on user input, so no Python object is ever built from a tag.
Scalars keep their raw text and their resolved YAML tag (`int`, `bool`, `str`, ...); the
resolver decides what a value means. Aliases are expanded with a node budget (alias bombs),
recursive aliases and deep nesting are refused, merge keys (`<<`) are honoured, duplicate
keys are reported. Every failure becomes a Problem raised as ScenarioInvalid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from netemu.errors import Problem, ScenarioInvalid
from netemu.model.types import Pos

MAX_FILE_BYTES = 2 * 1024 * 1024  # a scenario is a few KiB; refuse anything absurd
MAX_NODES = 100_000  # total nodes after alias expansion
MAX_DEPTH = 64  # nesting of mappings and lists

_YAML_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = _YAML_TAG + "merge"
# The YAML 1.1 types; anything else (`!foo`, `!!python/object:...`) is refused.
_STANDARD_TAGS = frozenset(
    _YAML_TAG + t
    for t in (
        *("map", "seq", "str", "int", "float", "bool", "null", "timestamp", "binary"),
        *("merge", "value", "omap", "pairs", "set"),
    )
)


@dataclass(eq=False)
class Node:
    """One YAML value: a mapping (dict keyed by the keys' raw text), a list, or a scalar.

    tag is `map`, `seq`, or the scalar's resolved YAML type (`str`, `int`, `float`, `bool`,
    `null`, `timestamp`, ...). pos is where the value starts; key_pos where its key stood
    when it is a mapping value.
    """

    value: dict[str, Node] | list[Node] | str
    tag: str
    pos: Pos
    key_pos: Pos | None = None

    @property
    def where(self) -> Pos:
        """The key's position for a mapping value, else the value's: where to blame it."""
        return self.key_pos or self.pos


class _Abort(Exception):
    """Stops conversion after a fatal problem (budget exceeded)."""


class _Mark(Protocol):
    line: int
    column: int


def _pos(path: str, mark: _Mark | None) -> Pos:
    if mark is None:
        return Pos(path, 1, 1)
    return Pos(path, mark.line + 1, mark.column + 1)


def _fail(path: str, pos: Pos | None, message: str) -> ScenarioInvalid:
    return ScenarioInvalid([Problem(pos, message, file=path)])


def load(path: str) -> Node:
    """Read and compose a scenario file; raises ScenarioInvalid on any problem."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise _fail(path, None, f"cannot read the scenario file: {e.strerror or e}") from None
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        raise _fail(path, None, f"the scenario file is larger than {limit} MiB; refusing it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, e.start) + 1
        col = len(data[line_start : e.start].decode("utf-8-sig", "replace")) + 1  # characters
        msg = f"the scenario file is not valid UTF-8 (byte 0x{data[e.start]:02x})"
        raise _fail(path, Pos(path, line, col), msg) from None
    return load_text(text, path)


def load_text(text: str, path: str = "<test>") -> Node:
    """Compose YAML text; an empty document gives a `null` Node at 1:1."""
    if len(text) > MAX_FILE_BYTES:
        raise _fail(path, None, "the scenario text is too large; refusing it")
    problem = _check_syntax(text, path)
    if problem is not None:
        raise ScenarioInvalid([problem])
    try:
        root = yaml.compose(text, Loader=_FAST)
    except Exception as e:  # e.g. a second document; never let PyYAML's errors escape
        raise ScenarioInvalid([_yaml_problem(e, text, path)]) from None
    if root is None:
        return Node("", "null", Pos(path, 1, 1))
    builder = _Builder(path)
    try:
        node = builder.build(root, None, 0)
    except _Abort:
        raise ScenarioInvalid(builder.problems) from None
    if builder.problems:
        raise ScenarioInvalid(builder.problems)
    return node


# libyaml, when PyYAML has it, parses a thousand-instance scenario about ten times faster;
# the same resolver tags the scalars. Its error messages are terser, so a file it refuses
# is parsed again by the pure-Python parser to say why.
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_syntax(text: str, path: str) -> Problem | None:
    """Parse once without composing: syntax errors and nesting depth, without recursion."""
    if _FAST is not yaml.SafeLoader:
        try:
            return _depth(yaml.parse(text, Loader=_FAST), path)
        except Exception:  # the pure-Python parser below says what is wrong
            pass
    try:
        return _depth(yaml.parse(text, Loader=yaml.SafeLoader), path)
    except Exception as e:  # anything PyYAML raises on bad input becomes a Problem
        return _yaml_problem(e, text, path)


def _depth(events: Iterator[yaml.Event], path: str) -> Problem | None:
    depth = 0
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                pos = _pos(path, event.start_mark)
                return Problem(pos, f"nesting deeper than {MAX_DEPTH} levels", file=path)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _yaml_problem(e: BaseException, text: str, path: str) -> Problem:
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        what = ", ".join(str(s) for s in (e.context, e.problem) if s)
        return Problem(_pos(path, mark), f"YAML syntax error: {what or 'malformed'}", file=path)
    if isinstance(e, yaml.reader.ReaderError):
        before = text[: e.position]
        line = before.count("\n") + 1
        col = e.position - (before.rfind("\n") + 1) + 1
        char = e.character if isinstance(e.character, str) else chr(e.character)
        msg = f"character U+{ord(char):04X} is not allowed in YAML ({e.reason})"
        return Problem(Pos(path, line, col), msg, file=path)
    if isinstance(e, RecursionError):
        return Problem(None, "the YAML nesting is too deep", file=path)
    return Problem(None, f"YAML error: {type(e).__name__}", file=path)


class _Builder:
    """Turns composed yaml nodes into Nodes, expanding aliases within a budget."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self.active: set[int] = set()  # ids of yaml nodes on the current path (cycles)
        self.problems: list[Problem] = []

    def problem(self, mark: _Mark | None, message: str) -> None:
        self.problems.append(Problem(_pos(self.path, mark), message, file=self.path))

    def build(self, n: yaml.Node, key_pos: Pos | None, depth: int) -> Node:
        self.count += 1
        pos = _pos(self.path, n.start_mark)
        if self.count > MAX_NODES:
            self.problem(n.start_mark, f"more than {MAX_NODES} values after expanding aliases")
            raise _Abort
        if depth > MAX_DEPTH or id(n) in self.active:
            self.problem(n.start_mark, "recursive YAML alias")
            return Node("", "null", pos, key_pos)
        if n.tag not in _STANDARD_TAGS:
            self.problem(n.start_mark, "custom YAML tags are not supported")
            return Node("", "null", pos, key_pos)
        if isinstance(n, yaml.ScalarNode):
            return Node(str(n.value), n.tag[len(_YAML_TAG) :], pos, key_pos)
        self.active.add(id(n))
        try:
            if isinstance(n, yaml.SequenceNode):
                return Node([self.build(c, None, depth + 1) for c in n.value], "seq", pos, key_pos)
            if isinstance(n, yaml.MappingNode):
                return Node(self._mapping(n, depth), "map", pos, key_pos)
        finally:
            self.active.discard(id(n))
        self.problem(n.start_mark, "unsupported YAML node")
        return Node("", "null", pos, key_pos)

    def _mapping(self, n: yaml.MappingNode, depth: int) -> dict[str, Node]:
        out: dict[str, Node] = {}
        first: dict[str, Pos] = {}
        merges: list[yaml.Node] = []
        for k, v in n.value:
            if isinstance(k, yaml.ScalarNode) and k.tag == _MERGE_TAG:
                merges.append(v)
                continue
            if not isinstance(k, yaml.ScalarNode):
                self.problem(k.start_mark, "a mapping key must be a plain name, not a list or map")
                continue
            key = str(k.value)
            kpos = _pos(self.path, k.start_mark)
            if key in first:
                earlier = first[key]
                self.problem(k.start_mark, f"duplicate key {key!r} (first at line {earlier.line})")
                continue
            first[key] = kpos
            out[key] = self.build(v, kpos, depth + 1)
        for m in merges:  # explicit keys win over merged ones; earlier merges win over later
            for k, v in self._merge_sources(m):
                key = str(k.value)
                if key not in out:
                    out[key] = self.build(v, _pos(self.path, k.start_mark), depth + 1)
        return out

    def _merge_sources(self, m: yaml.Node) -> Iterator[tuple[yaml.ScalarNode, yaml.Node]]:
        sources = m.value if isinstance(m, yaml.SequenceNode) else [m]
        for s in sources:
            if id(s) in self.active:
                self.problem(s.start_mark, "recursive YAML alias")
                continue
            if not isinstance(s, yaml.MappingNode):
                self.problem(s.start_mark, "a merge key (<<) takes a mapping or a list of them")
                continue
            for k, v in s.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != _MERGE_TAG:
                    yield k, v


def from_data(data: Any, path: str) -> Node:
    """Plain data (what the importer makes) as the Node tree `load` would give for its YAML,
    without writing and parsing the text: every value placed at the file's start, since
    there is no text to point into. `netemu serve` resolves each call's account this way."""
    start = Pos(path, 1, 1)
    if isinstance(data, dict):
        return Node({str(k): from_data(v, path) for k, v in data.items()}, "map", start, start)
    if isinstance(data, (list, tuple)):
        return Node([from_data(v, path) for v in data], "seq", start)
    if data is None:
        return Node("", "null", start)
    if isinstance(data, bool):
        return Node("true" if data else "false", "bool", start)
    if isinstance(data, int):
        return Node(str(data), "int", start)
    if isinstance(data, float):
        return Node(repr(data), "float", start)
    return Node(str(data), "str", start)
