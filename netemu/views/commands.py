"""Command lines of the views: `netemu schema`, `graph`, `ui` and `flowlogs` (contract 6.1)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from netemu.errors import ExitStatus

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def cmd_schema(args: argparse.Namespace) -> int:
    from netemu.model.schema import schema_text

    print(schema_text(), end="")
    return ExitStatus.OK


def register(sub: Any, add: Add) -> None:
    """Adds the view commands to netemu's parser (cli.build_parser)."""
    add("schema", cmd_schema, "print the JSON Schema of the scenario format (for editors)")
