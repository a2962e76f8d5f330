"""Traffic specs: protocol, port range and ICMP type/code of SG and ACL rules; services."""

from __future__ import annotations

import re
from typing import NamedTuple

from netemu.model import validate_servers
from netemu.model.types import PROTO_ALL, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, Service
from netemu.model.validate_context import Ctx, aws, q
from netemu.model.validate_fields import as_list, integer, kind_of, text
from netemu.scenario import Node

_NAMES = {"tcp": PROTO_TCP, "udp": PROTO_UDP, "icmp": PROTO_ICMP, "all": PROTO_ALL}
_NAMES["icmpv6"] = PROTO_ICMPV6  # ref 7.5
_ICMPS = (PROTO_ICMP, PROTO_ICMPV6)
_RANGE_RE = re.compile(r"\s*([0-9]{1,6})\s*(?:-\s*([0-9]{1,6})\s*)?")
_SERVICE_RE = re.compile(r"(tcp|udp):([0-9]{1,6})")
TRAFFIC_KEYS = ("protocol", "port", "ports", "icmp_type", "icmp_code")


class Traffic(NamedTuple):
    protocol: int  # PROTO_ALL for all
    ports: tuple[int, int] | None
    icmp_type: int | None
    icmp_code: int | None


def protocol_name(number: int) -> str:
    names = {PROTO_TCP: "tcp", PROTO_UDP: "udp", PROTO_ICMP: "icmp", PROTO_ALL: "all"}
    names[PROTO_ICMPV6] = "icmpv6"
    return names.get(number, str(number))


def protocol(ctx: Ctx, node: Node, what: str, ref: str) -> int | None:
    """tcp|udp|icmp|all|-1 or an IP protocol number 0..255 (written as number or string)."""
    raw = text(ctx, node, f"{what} protocol")
    if raw is None:
        return None
    if raw.lower() in _NAMES:
        return _NAMES[raw.lower()]
    if re.fullmatch(r"-1|[0-9]{1,3}", raw.strip()) and int(raw) <= 255:
        return int(raw)
    rule = aws("a protocol is tcp, udp, icmp, icmpv6, -1 (all) or a number 0-255", ref)
    ctx.error(node, f"{what} protocol {q(raw)} is not valid" + rule)
    return None


def traffic(ctx: Ctx, m: dict[str, Node], item: Node, what: str, ref: str) -> Traffic | None:
    """Protocol plus ports or ICMP type/code; `ref` is 7.5 for SGs and 8.8 for ACLs."""
    if "protocol" not in m:
        return None  # reported by check_keys as a missing required key
    proto = protocol(ctx, m["protocol"], what, ref)
    if proto is None:
        return None
    has_ports = "port" in m or "ports" in m
    if proto not in _ICMPS:
        for key in ("icmp_type", "icmp_code"):
            if key in m:
                ctx.error(m[key].where, f"{what}: '{key}' only applies to protocol icmp")
    if proto in (PROTO_TCP, PROTO_UDP):
        if not has_ports:
            rule = aws("tcp and udp rules need a port range", ref)
            ctx.error(
                item.where,
                f"{what}: protocol {protocol_name(proto)} needs 'port' or 'ports'" + rule,
            )
            return None
        ports = port_range(ctx, m, what, ref)
        return Traffic(proto, ports, None, None) if ports else None
    if has_ports:
        key = "port" if "port" in m else "ports"
        node = m[key]
        if proto in _ICMPS:
            ctx.error(node.where, f"{what}: icmp has no ports; use icmp_type and icmp_code")
        else:
            # AWS accepts the range and ignores it (7.5): warn, do not refuse.
            rule = aws("protocol -1 and protocols other than tcp and udp cover every port", ref)
            name = "all" if proto == PROTO_ALL else str(proto)
            ctx.warn(
                node.where, f"{what}: protocol {name} covers every port; '{key}' is ignored" + rule
            )
    if proto in _ICMPS:  # -1 = any type / any code
        icmp_type = _icmp(ctx, m, "icmp_type", what)
        icmp_code = _icmp(ctx, m, "icmp_code", what)
        return Traffic(proto, None, icmp_type, icmp_code)
    return Traffic(proto, None, None, None)


def _icmp(ctx: Ctx, m: dict[str, Node], key: str, what: str) -> int:
    if key not in m:
        return -1
    value = integer(ctx, m[key], f"{what} {key}", -1, 255)
    return -1 if value is None else value


def port_range(ctx: Ctx, m: dict[str, Node], what: str, ref: str) -> tuple[int, int] | None:
    """`port: N`, or `ports:` as N, "A-B" or [A, B]; inclusive, within 0..65535."""
    if "port" in m and "ports" in m:
        ctx.error(m["ports"].where, f"{what}: give either 'port' or 'ports', not both")
        return None
    rule = aws("ports are 0 to 65535", ref)
    if "port" in m:
        port = integer(ctx, m["port"], f"{what} port", 0, 65535, rule)
        return None if port is None else (port, port)
    node = m["ports"]
    bounds: list[int | None]
    if isinstance(node.value, list):
        if len(node.value) != 2:
            ctx.error(
                node, f"{what} ports as a list must be [FROM, TO], not {len(node.value)} items"
            )
            return None
        bounds = [integer(ctx, n, f"{what} ports", 0, 65535, rule) for n in node.value]
    elif node.tag == "int":
        port = integer(ctx, node, f"{what} ports", 0, 65535, rule)
        bounds = [port, port]
    else:
        match = _RANGE_RE.fullmatch(node.value) if isinstance(node.value, str) else None
        if match is None or node.tag not in ("str", "int"):
            ctx.error(node, f"{what} ports must look like 1024-65535, not {kind_of(node)}")
            return None
        bounds = [int(match[1]), int(match[2] or match[1])]
        if any(b is not None and b > 65535 for b in bounds):
            ctx.error(node, f"{what} ports {match[0].strip()} go beyond 65535" + rule)
            return None
    low, high = bounds
    if low is None or high is None:
        return None
    if low > high:
        ctx.error(node, f"{what} ports {low}-{high} start after they end" + rule)
        return None
    return (low, high)


def services(
    ctx: Ctx, node: Node | None, what: str, on_instance: bool = False
) -> tuple[Service, ...]:
    """ssh (tcp 22), http (tcp 80), "tcp:PORT", "udp:PORT", and on instances the real
    servers mariadb (tcp 3306) and nginx (tcp 80) — each port at most once."""
    out: list[Service] = []
    seen: set[tuple[str, int]] = set()
    for item in as_list(ctx, node, f"{what} services"):
        if validate_servers.is_server(item):
            service = validate_servers.server(ctx, item, what, on_instance)
        else:
            raw = text(ctx, item, f"{what} service")
            if raw is None:
                continue
            service = _service(raw)
            if service is None:
                msg = (
                    f"{what} service {q(raw)} is not ssh, http, mariadb, nginx, "
                    '"tcp:PORT" or "udp:PORT" (1-65535)'
                )
                ctx.error(item, msg)
        if service is None:
            continue
        key = ("udp" if service.kind == "udp" else "tcp", service.port)
        if key in seen:
            ctx.error(item, f"{what} lists {key[0]} port {key[1]} twice in services")
            continue
        seen.add(key)
        out.append(service)
    return tuple(out)


def _service(raw: str) -> Service | None:
    if raw == "ssh":
        return Service("ssh", 22)
    if raw == "http":
        return Service("http", 80)
    match = _SERVICE_RE.fullmatch(raw)
    if match is None or not 1 <= int(match[2]) <= 65535:
        return None
    return Service("tcp", int(match[2])) if match[1] == "tcp" else Service("udp", int(match[2]))
