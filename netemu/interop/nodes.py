"""A scenario dict -> the raw Node tree the resolver reads, without writing YAML first.

An import is checked against AWS rules before its file is written; building Nodes directly
skips parsing our own YAML back (most of the time of a 1,000-instance import).
"""

from __future__ import annotations

from typing import Any

from netemu.model.types import Pos
from netemu.scenario import Node


def to_node(value: Any, path: str) -> Node:
    pos = Pos(path, 1, 1)  # problems of an import are reported by object, not by position
    if isinstance(value, dict):
        return Node({str(k): to_node(v, path) for k, v in value.items()}, "map", pos, pos)
    if isinstance(value, list | tuple):
        return Node([to_node(v, path) for v in value], "seq", pos)
    if isinstance(value, bool):
        return Node("true" if value else "false", "bool", pos)
    if isinstance(value, int):
        return Node(str(value), "int", pos)
    if value is None:
        return Node("", "null", pos)
    return Node(str(value), "str", pos)
