"""Typed readers for raw Nodes: mappings with known keys, names, integers, booleans, CIDRs.

Each reader reports what is wrong at the value's position and returns None, so callers
simply skip what they cannot use and keep collecting problems.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from ipaddress import AddressValueError, IPv4Address, IPv4Network, NetmaskValueError

from netemu.model.ids import IdKind, aws_id, id_problem
from netemu.model.validate_context import Ctx, aws, q, suggest
from netemu.scenario import Node

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_INT_RE = re.compile(r"[-+]?[0-9]+")
_IP_RE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}")
_CIDR_RE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}")
_TRUE = {"true", "yes", "on"}  # YAML 1.1 booleans, as PyYAML resolves them


def looks_like_ip(text: str) -> bool:
    return _IP_RE.fullmatch(text) is not None


def kind_of(node: Node) -> str:
    """How a value reads to a user: 'a list', 'a mapping', 'the integer 5', ..."""
    if isinstance(node.value, dict):
        return "a mapping"
    if isinstance(node.value, list):
        return "a list"
    if node.tag == "null":
        return "empty"
    noun = {"str": "the string", "int": "the integer", "float": "the number", "bool": "the value"}
    return f"{noun.get(node.tag, 'the value')} {q(node.value)}"


def as_map(ctx: Ctx, node: Node, what: str, null_ok: bool = True) -> dict[str, Node] | None:
    """A mapping's entries; an empty value counts as an empty mapping when null_ok."""
    if isinstance(node.value, dict):
        return node.value
    if node.tag == "null" and null_ok:
        return {}
    ctx.error(node, f"{what} must be a mapping of keys to values, not {kind_of(node)}")
    return None


def as_list(ctx: Ctx, node: Node | None, what: str) -> list[Node]:
    """A list's items; absent or empty gives []. A wrong type is reported and gives []."""
    if node is None or node.tag == "null":
        return []
    if isinstance(node.value, list):
        return node.value
    ctx.error(node, f"{what} must be a list, not {kind_of(node)}")
    return []


def check_keys(
    ctx: Ctx,
    entries: dict[str, Node],
    parent: Node,
    what: str,
    allowed: Sequence[str],
    required: Sequence[str] = (),
) -> None:
    """Unknown keys (with a hint) at the key; missing required keys at the parent."""
    for key, value in entries.items():
        if key not in allowed:
            msg = f"unknown key {q(key)} in {what}{suggest(key, allowed, 'keys', 'valid')}"
            ctx.error(value.where, msg)
    for key in required:
        if key not in entries:
            ctx.error(parent.where, f"{what} needs the key '{key}'")


def section(ctx: Ctx, top: dict[str, Node], key: str) -> dict[str, Node]:
    """A top-level mapping of named objects; absent or empty gives {}."""
    node = top.get(key)
    if node is None:
        return {}
    return as_map(ctx, node, f"'{key}'") or {}


def text(ctx: Ctx, node: Node, what: str) -> str | None:
    """A scalar's text (numbers and booleans as written); not a list, mapping or empty."""
    if isinstance(node.value, str) and node.tag != "null":
        return node.value
    ctx.error(node, f"{what} must be a single value, not {kind_of(node)}")
    return None


def integer(ctx: Ctx, node: Node, what: str, lo: int, hi: int, rule: str = "") -> int | None:
    """A decimal integer within lo..hi. `rule` is the AWS clause for an out-of-range value."""
    raw = node.value if isinstance(node.value, str) else ""
    if node.tag != "int" or not _INT_RE.fullmatch(raw):
        ctx.error(node, f"{what} must be an integer from {lo} to {hi}, not {kind_of(node)}")
        return None
    digits = raw.lstrip("+-").lstrip("0")
    value = int(raw) if len(digits) <= 18 else None
    if value is None or not lo <= value <= hi:
        shown = raw if len(raw) <= 24 else raw[:21] + "..."
        ctx.error(node, f"{what} {shown} is outside {lo}..{hi}{rule}")
        return None
    return value


def boolean(ctx: Ctx, node: Node, what: str) -> bool | None:
    if node.tag == "bool" and isinstance(node.value, str):
        return node.value.lower() in _TRUE
    ctx.error(node, f"{what} must be true or false, not {kind_of(node)}")
    return None


def opt_bool(ctx: Ctx, entries: dict[str, Node], key: str, what: str, default: bool) -> bool:
    node = entries.get(key)
    if node is None:
        return default
    value = boolean(ctx, node, f"{what} '{key}'")
    return default if value is None else value


def object_name(ctx: Ctx, kind: str, name: str, node: Node) -> None:
    """Names of declared objects become parts of kernel object names: keep them tame."""
    if NAME_RE.fullmatch(name):
        return
    ctx.error(
        node.where,
        f"{kind} name {q(name)} is not valid: use 1 to 32 letters, digits, '-' or '_', "
        "starting with a letter or digit (netemu: names become parts of kernel object names)",
    )


def address(ctx: Ctx, node: Node, what: str) -> IPv4Address | None:
    raw = text(ctx, node, what)
    if raw is None:
        return None
    if _IP_RE.fullmatch(raw):
        try:
            return IPv4Address(raw)
        except AddressValueError:
            pass
    ctx.error(node, f"{what} {q(raw)} is not an IPv4 address like 10.0.0.5")
    return None


def cidr(
    ctx: Ctx, node: Node, what: str, sizes: tuple[int, int] = (0, 32), size_rule: str = ""
) -> IPv4Network | None:
    """An IPv4 CIDR with host bits zero (ref 1.2) and a prefix length within `sizes`.

    AWS canonicalises a CIDR with host bits set (`100.68.0.18/18` is taken as
    `100.68.0.0/18`, 1.2); so does netemu, with a warning naming the canonical form.
    """
    raw = text(ctx, node, what)
    if raw is None:
        return None
    net = None
    if _CIDR_RE.fullmatch(raw):
        try:
            net = IPv4Network(raw, strict=False)
        except (AddressValueError, NetmaskValueError, ValueError):
            net = None
    if net is None:
        ctx.error(node, f"{what} {q(raw)} is not an IPv4 CIDR like 10.0.0.0/16")
        return None
    lo, hi = sizes
    if not lo <= net.prefixlen <= hi:
        ctx.error(node, f"{what} {raw} must be between /{lo} and /{hi}{size_rule}")
        return None
    if IPv4Address(raw.split("/")[0]) != net.network_address:
        ctx.warn(
            node,
            f"{what} {raw} has host bits set; taken as {net}"
            + aws("a CIDR is taken with its host bits zeroed", "1.2"),
        )
    return net


def object_id(ctx: Ctx, m: dict[str, Node], kind: IdKind, name: str, what: str) -> str:
    """The object's AWS id: its `id:` key (kept from an import), else one derived from
    `name` (see ids.aws_id), so status, probes and flow logs show what the console shows."""
    node = m.get("id")
    raw = text(ctx, node, f"{what} id") if node is not None else None
    if node is None or raw is None:
        return aws_id(ctx.scenario, kind, name)
    problem = id_problem(kind, raw)
    if problem is not None:
        ctx.error(node, f"{what} id {q(raw)} {problem}")
    elif raw in ctx.given_ids:
        ctx.error(node, f"{what} id {raw} is already the id of {ctx.given_ids[raw]}")
    else:
        ctx.given_ids[raw] = what
    return raw
