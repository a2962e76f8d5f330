"""A scenario dict -> YAML text in the style of the shipped scenarios, with a header comment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from netemu.interop.notes import Note


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Rules, routes and other small leaf mappings on one line, like the book's scenarios."""


def _leaf(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    width = sum(len(str(k)) + len(str(v)) + 4 for k, v in data.items())
    flow = len(data) > 0 and all(_leaf(v) for v in data.values()) and width <= 96
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(_leaf(v) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(dict, _dict)
_Dumper.add_representer(list, _list)


def dump(scenario: dict[str, Any], header: Sequence[str] = ()) -> str:
    body = yaml.dump(scenario, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    lines = [f"# {printable(h)}".rstrip() for h in header]
    return "\n".join(lines) + ("\n" if lines else "") + body


def printable(text: str) -> str:
    """A comment stays one comment: ids and tags from an account may hold line breaks or
    control characters, which would end the comment and inject YAML."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def header(origin: str, notes: Sequence[Note]) -> list[str]:
    """What the file came from, what netemu added, and what it left out (with why)."""
    out = [
        f"Imported by `netemu import` from {origin}.",
        "AWS ids are kept in `id:`; names come from Name tags, else the ids.",
    ]
    added = [n for n in notes if n.severity == "added"]
    if added:
        out.append("Added by netemu (not in AWS): " + "; ".join(n.message for n in added) + ".")
    for severity, title in (
        ("changed", "Changed by netemu"),
        ("unsupported", "Not emulated"),
        ("skipped", "Left out as inert"),
    ):
        listed = [n for n in notes if n.severity == severity]
        if listed:
            out.append(f"{title} ({len(listed)}):")
            out += [f"  {n}" for n in listed]
    return out
