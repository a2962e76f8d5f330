"""Expectations with `run:`: a real command (mysql, curl, …) run inside an instance or
internet host by `netemu test`, judged by its exit status and output."""

from __future__ import annotations

import re
from typing import Literal

from netemu.model.types import CommandCheck
from netemu.model.validate_context import HOST, INSTANCE, Ctx, q
from netemu.model.validate_fields import as_map, check_keys, integer, kind_of, text
from netemu.scenario import Node

KEYS = ("from", "run", "exit", "output", "timeout")
# {private_ip:INSTANCE}, {public_ip:INSTANCE|HOST}: addresses filled in when the command
# runs, so a public IP that `netemu start` renewed is the current one.
PLACEHOLDER = re.compile(r"\{(private_ip|public_ip):([A-Za-z0-9_-]+)\}")
MAX_COMMAND = 4096
MAX_TIMEOUT_S = 120


def read(ctx: Ctx, item: Node, what: str) -> None:
    m = as_map(ctx, item, what, null_ok=False)
    if m is None:
        return
    check_keys(ctx, m, item, what, KEYS, ("from", "run"))
    source = _source(ctx, m["from"], what) if "from" in m else None
    command = _command(ctx, m["run"], what)
    exit_status = _exit(ctx, m.get("exit"), what)
    output = text(ctx, m["output"], f"{what} output") if "output" in m else None
    timeout = 10
    if "timeout" in m:
        timeout = integer(ctx, m["timeout"], f"{what} timeout", 1, MAX_TIMEOUT_S) or timeout
    if source is None or command is None or exit_status is None:
        return
    ctx.command_checks.append(
        CommandCheck(source, command, exit_status, output, float(timeout), pos=item.pos)
    )


def _source(ctx: Ctx, node: Node, what: str) -> str | None:
    name = text(ctx, node, f"{what} from")
    if name is None:
        return None
    if name in ctx.instances or name in ctx.internet_hosts:
        return name
    known = [*ctx.instances, *ctx.internet_hosts]
    ctx.error(
        node,
        f"{what} from {q(name)} is not an {INSTANCE} or {HOST} (known: {', '.join(known)})",
    )
    return None


def _command(ctx: Ctx, node: Node, what: str) -> str | None:
    command = text(ctx, node, f"{what} run")
    if command is None:
        return None
    if not command.strip() or len(command) > MAX_COMMAND:
        ctx.error(node, f"{what} run must be a command of 1 to {MAX_COMMAND} characters")
        return None
    for kind, name in PLACEHOLDER.findall(command):
        inst = ctx.instances.get(name)
        host = ctx.internet_hosts.get(name)
        if inst is None and (host is None or kind == "private_ip"):
            ctx.error(node, f"{what} run: {{{kind}:{name}}} names no instance with that address")
        elif kind == "private_ip" and inst is not None and inst.private_ip is None:
            msg = f"{what} run: instance {q(name)} has no IPv4 address (its subnet is IPv6-only)"
            ctx.error(node, msg)
        elif kind == "public_ip" and inst is not None and inst.public_ip is None:
            ctx.error(node, f"{what} run: instance {q(name)} has no public IP")
    return command


def _exit(ctx: Ctx, node: Node | None, what: str) -> int | Literal["nonzero"] | None:
    """0 (the default), another status, or `nonzero` (any failure)."""
    if node is None:
        return 0
    if node.tag == "str" and node.value == "nonzero":
        return "nonzero"
    if node.tag == "int":
        return integer(ctx, node, f"{what} exit", 0, 255)
    ctx.error(node, f"{what} exit must be a status 0-255 or nonzero, not {kind_of(node)}")
    return None
