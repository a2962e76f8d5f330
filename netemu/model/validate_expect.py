"""The `expect` list: endpoints, traffic, verdict and reason (contract section 3)."""

from __future__ import annotations

from ipaddress import AddressValueError, IPv4Address
from typing import Literal

from netemu.model import validate_checks
from netemu.model.types import Expectation
from netemu.model.validate_context import HOST, INSTANCE, NAT, Ctx, q, suggest
from netemu.model.validate_fields import (
    as_list,
    as_map,
    boolean,
    check_keys,
    integer,
    looks_like_ip,
    text,
)
from netemu.model.validate_ipv6 import expect_family
from netemu.scenario import Node

EXPECT_KEYS = (
    "from",
    "to",
    "tcp",
    "udp",
    "icmp",
    "result",
    "reason",
    "seen_source",
    "source_port",
    "size",
    "family",
)
MAX_SIZE = 10_000_000  # bytes of a download expectation (probe.transfer)
# Reachability Analyzer explanation codes netemu reports (contract sections 5 and 6.3, ref
# 13.3), then the old names that stay accepted as aliases (probe.reason.ALIASES).
REASONS = (
    "NO_ROUTE_TO_DESTINATION",
    "BAD_STATE_ROUTE",
    "BAD_STATE",
    "SUBNET_ACL_RESTRICTION",
    "ENI_SG_RULES_MISMATCH",
    "ENI_SOURCE_DEST_CHECK_RESTRICTION",
    "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
    "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS",
    "IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS",
    "IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS",
    "NGW_REQUIRES_SOURCE_IN_VPC",
    "NO_POSSIBLE_DESTINATION",
    "PROTOCOL_RESTRICTION",
    "DISCONNECTED_VPCS",
    "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR",
    "TGW_RTB_CANNOT_ROUTE",
    "TGW_RTB_BAD_STATE_ROUTE",
    "TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION",
    "TGW_ROUTE_AZ_RESTRICTION",
    "NAT_GATEWAY_NO_INBOUND",
    "INSTANCE_STOPPED",
)
_PROTOCOLS: tuple[Literal["tcp", "udp", "icmp"], ...] = ("tcp", "udp", "icmp")


def read_expectations(ctx: Ctx, top: dict[str, Node]) -> None:
    node = top.get("expect")
    for index, item in enumerate(as_list(ctx, node, "'expect'")):
        what = f"expectation {index + 1}"
        if isinstance(item.value, dict) and "run" in item.value:
            validate_checks.read(ctx, item, what)  # a real command, not a probe
            continue
        m = as_map(ctx, item, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, item, what, EXPECT_KEYS, ("from", "to", "result"))
        source = _endpoint(ctx, m, "from", what, (INSTANCE, HOST))
        dest = _endpoint(ctx, m, "to", what, (INSTANCE, HOST, NAT))
        traffic = _traffic(ctx, m, item, what)
        result = _result(ctx, m, what)
        reason = _reason(ctx, m, what, result)
        seen = _seen_source(ctx, m, what)
        sport = None
        if "source_port" in m:
            sport = integer(ctx, m["source_port"], f"{what} source_port", 1, 65535)
        size = None
        if "size" in m:
            # A real TCP download: what path MTU discovery needs to show (ref 5.6, 7.19).
            size = integer(ctx, m["size"], f"{what} size", 1, MAX_SIZE)
            if traffic is not None and traffic[0] != "tcp":
                ctx.error(m["size"].where, f"{what}: size is a TCP download; give tcp: PORT")
            for key in ("seen_source", "source_port"):
                if key in m:
                    ctx.error(m[key].where, f"{what}: a download (size) takes no {key}")
        family = expect_family(ctx, m, source, dest, what)
        if source is None or dest is None or traffic is None or result is None or family is None:
            continue
        proto, port = traffic
        ctx.expectations.append(
            Expectation(
                *(source, dest, proto, port, result, reason, seen, sport),
                pos=item.pos,
                size=size,
                family=family,
            )
        )


def _endpoint(
    ctx: Ctx, m: dict[str, Node], key: str, what: str, kinds: tuple[str, ...]
) -> str | None:
    node = m.get(key)
    name = text(ctx, node, f"{what} {key}") if node is not None else None
    if node is None or name is None:
        return None
    if key == "to" and ":" in name:  # an IPv6 literal (validate_ipv6.expect_family)
        return name
    if key == "to" and looks_like_ip(name):  # `to` may be any IPv4 address
        try:
            return str(IPv4Address(name))
        except AddressValueError:
            ctx.error(node, f"{what} to {q(name)} is not a valid IPv4 address")
            return None
    found = {
        INSTANCE: ctx.instances.keys(),
        HOST: ctx.internet_hosts.keys(),
        NAT: ctx.nat_gateways.keys(),
    }
    if any(name in found[k] for k in kinds):
        return name
    if any(ctx.is_declared(k, name) for k in kinds):
        return None  # exists but had errors of its own
    label = " or ".join(kinds)
    if key == "from" and ctx.is_declared(NAT, name):
        ctx.error(node, f"{what} from {q(name)} is a NAT gateway; traffic starts at an {label}")
        return None
    names = [n for k in kinds for n in found[k]]
    extra = ", or an IPv4 address" if key == "to" else ""
    msg = f"{what} {key} {q(name)} is not a known {label}{extra}{suggest(name, names, 'names')}"
    ctx.error(node, msg)
    return None


def _traffic(
    ctx: Ctx, m: dict[str, Node], item: Node, what: str
) -> tuple[Literal["tcp", "udp", "icmp"], int | None] | None:
    given = [p for p in _PROTOCOLS if p in m]
    if len(given) != 1:
        ctx.error(
            item.where, f"{what} needs exactly one of 'tcp: PORT', 'udp: PORT' or 'icmp: true'"
        )
        return None
    proto = given[0]
    if proto == "icmp":
        if boolean(ctx, m["icmp"], f"{what} icmp") is False:
            ctx.error(m["icmp"], f"{what}: icmp takes only true; use tcp or udp otherwise")
            return None
        return (proto, None)
    port = integer(ctx, m[proto], f"{what} {proto} port", 1, 65535)
    return None if port is None else (proto, port)


def _result(ctx: Ctx, m: dict[str, Node], what: str) -> Literal["reachable", "blocked"] | None:
    node = m.get("result")
    raw = text(ctx, node, f"{what} result") if node is not None else None
    if raw == "reachable":
        return "reachable"
    if raw == "blocked":
        return "blocked"
    if raw is not None:
        ctx.error(node, f"{what} result {q(raw)} must be reachable or blocked")
    return None


def _reason(ctx: Ctx, m: dict[str, Node], what: str, result: str | None) -> str | None:
    node = m.get("reason")
    raw = text(ctx, node, f"{what} reason") if node is not None else None
    if node is None or raw is None:
        return None
    if raw not in REASONS:
        ctx.error(
            node,
            f"{what} reason {q(raw)} is not a known code{suggest(raw, REASONS, 'codes', 'valid')}",
        )
        return None
    if result == "reachable":
        ctx.error(node, f"{what}: a reason only goes with result: blocked")
    return raw


def _seen_source(ctx: Ctx, m: dict[str, Node], what: str) -> str | None:
    node = m.get("seen_source")
    raw = text(ctx, node, f"{what} seen_source") if node is not None else None
    if node is None or raw is None:
        return None
    if raw in ("nat", "public_ip"):
        return raw
    if looks_like_ip(raw):
        try:
            return str(IPv4Address(raw))
        except AddressValueError:
            pass
    ctx.error(node, f"{what} seen_source {q(raw)} must be an IPv4 address, nat or public_ip")
    return None
