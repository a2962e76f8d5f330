"""DHCP options sets (`dhcp_options:`) and the one each VPC is associated with through its
`dhcp_options_id` (ref 10.5, 10.20-10.23)."""

from __future__ import annotations

import dataclasses
import re
from ipaddress import IPv4Address

from netemu.model.types import DhcpOptions
from netemu.model.validate_context import DOPT, Ctx, aws, q, suggest
from netemu.model.validate_fields import (
    address,
    as_list,
    as_map,
    check_keys,
    integer,
    object_id,
    object_name,
    section,
    text,
)
from netemu.scenario import Node

DOPT_KEYS = (
    "id",
    "domain_name",
    "domain_name_servers",
    "ntp_servers",
    "netbios_name_servers",
    "netbios_node_type",
)
AMAZON_DNS = "AmazonProvidedDNS"
MAX_SERVERS = 4  # DNS, NTP (IPv4) and NetBIOS servers per set (10.5)
NODE_TYPES = (1, 2, 4, 8)
# Domain names separated by spaces (some Linux clients take several, 10.21); nothing that
# could end a dnsmasq configuration line or split its option value.
_DOMAIN_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})( [A-Za-z0-9][A-Za-z0-9.-]*)*")


def read_dhcp_options(ctx: Ctx, top: dict[str, Node]) -> None:
    """The sets, then each VPC's association (default: the Region's default set, 10.1)."""
    for name, node in section(ctx, top, "dhcp_options").items():
        object_name(ctx, DOPT, name, node)
        ctx.declare(DOPT, name, node)
        what = f"DHCP options set {q(name)}"
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, DOPT_KEYS)
        given = [k for k in DOPT_KEYS[1:] if k in m]
        if not given:
            rule = aws("a DHCP options set names at least one option", "10.20")
            ctx.error(node.where, f"{what} sets no option" + rule)
            continue
        domain = _domain(ctx, m.get("domain_name"), what)
        dns = _name_servers(ctx, m.get("domain_name_servers"), what)
        ntp = _addresses(ctx, m.get("ntp_servers"), f"{what} ntp_servers")
        netbios = _addresses(ctx, m.get("netbios_name_servers"), f"{what} netbios_name_servers")
        node_type = _node_type(ctx, m, what)
        dopt_id = object_id(ctx, m, "dopt", name, what)
        ctx.dhcp_options[name] = DhcpOptions(name, dopt_id, domain, dns, ntp, netbios, node_type)
    for vpc_name, raw in ctx.vpc_raw.items():
        ref = raw.get("dhcp_options_id")
        chosen = _association(ctx, ref, f"VPC {q(vpc_name)}") if ref is not None else None
        if chosen is not None:
            ctx.vpcs[vpc_name] = dataclasses.replace(ctx.vpcs[vpc_name], dhcp_options=chosen)


def _association(ctx: Ctx, node: Node, what: str) -> str | None:
    ref = text(ctx, node, f"{what} dhcp_options_id")
    if ref is None:
        return None
    found = ctx.dhcp_options.get(ref) or next(
        (d for d in ctx.dhcp_options.values() if d.id == ref), None
    )
    if found is None and not ctx.is_declared(DOPT, ref):
        hint = suggest(ref, ctx.dhcp_options, "DHCP options sets")
        ctx.error(node, f"{what} dhcp_options_id refers to unknown DHCP options set {q(ref)}{hint}")
    return found.name if found else None


def _domain(ctx: Ctx, node: Node | None, what: str) -> str | None:
    raw = text(ctx, node, f"{what} domain_name") if node is not None else None
    if node is None or raw is None:
        return None
    if not _DOMAIN_RE.fullmatch(raw) or len(raw) > 255:
        rule = aws("domain-name is a domain name, or several separated by spaces", "10.21")
        ctx.error(node, f"{what} domain_name {q(raw)} is not a domain name" + rule)
        return None
    return raw


def _servers(ctx: Ctx, node: Node | None, what: str) -> list[Node]:
    items = as_list(ctx, node, what) if node is not None else []
    if len(items) > MAX_SERVERS:
        rule = aws("a set names up to four servers of each kind", "10.5")
        ctx.error(items[MAX_SERVERS], f"{what} lists {len(items)} servers" + rule)
    return items[:MAX_SERVERS]


def _name_servers(ctx: Ctx, node: Node | None, what: str) -> tuple[str, ...]:
    out: list[str] = []
    for item in _servers(ctx, node, f"{what} domain_name_servers"):
        if item.value == AMAZON_DNS:
            out.append(AMAZON_DNS)
            continue
        ip = address(ctx, item, f"{what} domain_name_servers entry")
        if ip is not None:
            out.append(str(ip))
    return tuple(out)


def _addresses(ctx: Ctx, node: Node | None, what: str) -> tuple[IPv4Address, ...]:
    found = (address(ctx, item, f"{what} entry") for item in _servers(ctx, node, what))
    return tuple(ip for ip in found if ip is not None)


def _node_type(ctx: Ctx, m: dict[str, Node], what: str) -> int | None:
    node = m.get("netbios_node_type")
    if node is None:
        if "netbios_name_servers" in m:
            rule = aws("NetBIOS name servers need a node type", "10.22")
            ctx.error(m["netbios_name_servers"].where, f"{what} has no netbios_node_type" + rule)
        return None
    value = integer(ctx, node, f"{what} netbios_node_type", 1, 8)
    if value is not None and value not in NODE_TYPES:
        rule = aws("the NetBIOS node type is 1, 2, 4 or 8", "10.22")
        ctx.error(node, f"{what} netbios_node_type {value}" + rule)
        return None
    return value


def name_servers(options: DhcpOptions, dns_ip: IPv4Address) -> list[str]:
    """Option 6 as an instance receives it: AmazonProvidedDNS is the VPC's base+2 (10.2)."""
    return [str(dns_ip) if s == AMAZON_DNS else s for s in options.domain_name_servers]
