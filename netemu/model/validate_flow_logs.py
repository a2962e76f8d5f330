"""The `flow_logs` section: VPC Flow Logs on a VPC, subnet or ENI (ref 12.1, 12.2, 12.6)."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Literal

from netemu.model.types import FlowLog
from netemu.model.validate_context import Ctx, aws, q, suggest
from netemu.model.validate_fields import (
    as_map,
    check_keys,
    integer,
    object_id,
    object_name,
    section,
    text,
)
from netemu.scenario import Node

ResourceKind = Literal["vpc", "subnet", "instance", "nat_gateway"]
FLOW_LOG_KEYS = ("id", "resource", "traffic_type", "max_aggregation_interval", "log_format")
TRAFFIC_TYPES = ("ACCEPT", "REJECT", "ALL")
DEFAULT_INTERVAL_S = 600  # ref 12.1: 10 minutes unless 1 minute is asked for
MAX_INTERVAL_S = 600
# The default format: every version-2 field in AWS's fixed order (ref 12.2).
V2_FIELDS = (
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
)
# The fields of versions 3 to 5 that netemu knows from its own kernel (ref 12.5, 12.6);
# the others (region, az-id, sublocation, aws-service) are not offered.
EXTRA_FIELDS = (
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "flow-direction",
    "traffic-path",
)
FLOW_LOG_FIELDS = V2_FIELDS + EXTRA_FIELDS
_FIELD_RE = re.compile(r"\$\{([a-z-]+)\}|([a-z-]+)")


def read_flow_logs(ctx: Ctx, top: dict[str, Node]) -> list[FlowLog]:
    out: list[FlowLog] = []
    for name, node in section(ctx, top, "flow_logs").items():
        object_name(ctx, "flow log", name, node)
        what = f"flow log {q(name)}"
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, FLOW_LOG_KEYS, ("resource",))
        resource = _resource(ctx, m.get("resource"), what)
        traffic = _traffic_type(ctx, m.get("traffic_type"), what)
        interval = DEFAULT_INTERVAL_S
        if "max_aggregation_interval" in m:
            rule = aws("60 or 600 seconds; netemu takes any number of seconds for tests", "12.1")
            value = integer(
                ctx, m["max_aggregation_interval"], f"{what} max_aggregation_interval", 1,
                MAX_INTERVAL_S, rule,
            )  # fmt: skip
            interval = DEFAULT_INTERVAL_S if value is None else value
        fields = _log_format(ctx, m.get("log_format"), what)
        ident = object_id(ctx, m, "fl", name, what)  # kept from an import (ref 11)
        if resource is None or traffic is None or fields is None:
            continue
        kind, target = resource
        out.append(FlowLog(name, ident, kind, target, traffic, interval, fields))
    return out


def _resource(ctx: Ctx, node: Node | None, what: str) -> tuple[ResourceKind, str] | None:
    if node is None:
        return None  # reported by check_keys
    name = text(ctx, node, f"{what} resource")
    if name is None:
        return None
    declared: dict[ResourceKind, Collection[str]] = {
        "vpc": ctx.vpcs.keys(),
        "subnet": ctx.subnets.keys(),
        "instance": ctx.instances.keys(),
        "nat_gateway": ctx.nat_gateways.keys(),
    }
    found = [kind for kind, names in declared.items() if name in names]
    if len(found) == 1:
        return found[0], name
    if len(found) > 1:
        ctx.error(node, f"{what} resource {q(name)} names both a {found[0]} and a {found[1]}")
        return None
    names = [*ctx.vpcs, *ctx.subnets, *ctx.instances, *ctx.nat_gateways]
    msg = f"{what} resource {q(name)} is not a VPC, subnet, instance or NAT gateway"
    ctx.error(node, msg + suggest(name, names, "names"))
    return None


def _traffic_type(
    ctx: Ctx, node: Node | None, what: str
) -> Literal["ACCEPT", "REJECT", "ALL"] | None:
    if node is None:
        return "ALL"
    value = text(ctx, node, f"{what} traffic_type")
    for t in ("ACCEPT", "REJECT", "ALL"):
        if value == t:
            return t
    if value is not None:
        rule = aws("the filter is ACCEPT, REJECT or ALL", "12.1")
        ctx.error(node, f"{what} traffic_type {q(value)} is not valid" + rule)
    return None


def _log_format(ctx: Ctx, node: Node | None, what: str) -> tuple[str, ...] | None:
    """AWS's `${field} ${field}` form, or plain space-separated names."""
    if node is None:
        return V2_FIELDS
    raw = text(ctx, node, f"{what} log_format")
    if raw is None:
        return None
    fields: list[str] = []
    for word in raw.split():
        m = _FIELD_RE.fullmatch(word)
        name = (m[1] or m[2]) if m else word
        if name not in FLOW_LOG_FIELDS:
            msg = f"{what} log_format field {q(name)} is not one netemu records"
            ctx.error(node, msg + suggest(name, FLOW_LOG_FIELDS, "fields", "netemu's"))
            return None
        fields.append(name)
    if not fields:
        ctx.error(node, f"{what} log_format names no field")
        return None
    return tuple(fields)
