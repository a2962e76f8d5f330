"""Transit gateways, VPC attachments, transit gateway route tables: AWS defaults and refusals
(ref 18.1-18.9). Routes of VPC route tables that target a transit gateway: `transit_target`."""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Network

from netemu.model.transit_gateway import (
    DEFAULT_ASN,
    TransitGateway,
    TransitGatewayRoute,
    TransitGatewayRouteTable,
    TransitGatewayVpcAttachment,
)
from netemu.model.types import Vpc
from netemu.model.validate_context import SUBNET, VPC, Ctx, aws, q
from netemu.model.validate_fields import (
    as_list,
    as_map,
    boolean,
    check_keys,
    cidr,
    integer,
    object_id,
    object_name,
    opt_bool,
    section,
    text,
)
from netemu.model.validate_tgw_defaults import ATTACHMENT, TGW, TGW_RTB, implicit_tables
from netemu.scenario import Node

TGW_KEYS = (
    "id",
    "description",
    "default_route_table_association",
    "default_route_table_propagation",
    "amazon_side_asn",
)
ATTACHMENT_SECTIONS = ("transit_gateway_attachments", "transit_gateway_vpc_attachments")
ATTACHMENT_KEYS = ("id", "transit_gateway", "vpc", "subnets", "subnet_ids")
RTB_KEYS = (
    "id",
    "transit_gateway",
    "associations",
    "propagations",
    "routes",
    "default_association_route_table",
    "default_propagation_route_table",
)
ROUTE_KEYS = (
    "destination",
    "destination_cidr_block",
    "transit_gateway_attachment",
    "transit_gateway_attachment_id",
    "blackhole",
)
# AWS's spellings (API names) beside netemu's short ones; either may be written.
ALIASES = {
    "subnet_ids": "subnets",
    "destination_cidr_block": "destination",
    "transit_gateway_attachment_id": "transit_gateway_attachment",
}
ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))  # private ASNs (18.4)
MAX_TABLES = 20  # transit gateway route tables per transit gateway (18.7)


def _canonical(ctx: Ctx, m: dict[str, Node], what: str) -> dict[str, Node]:
    """`subnet_ids` -> `subnets` and the like; both spellings at once is an error."""
    out = dict(m)
    for long, short in ALIASES.items():
        if long in out:
            if short in out:
                ctx.error(out[long].where, f"{what} gives both '{short}' and '{long}'; keep one")
            out[short] = out.pop(long)
    return out


def read_transit_gateways(ctx: Ctx, top: dict[str, Node]) -> None:
    """Transit gateways, then their attachments, then their route tables (in that order:
    each refers to the ones before it). Needs VPCs and subnets."""
    for key, kind in (("transit_gateways", TGW), ("transit_gateway_route_tables", TGW_RTB)):
        for name, node in section(ctx, top, key).items():
            ctx.declare(kind, name, node)
    sections = [k for k in ATTACHMENT_SECTIONS if k in top]
    if len(sections) == 2:
        ctx.error(
            top[sections[1]].where,
            "give attachments under one of 'transit_gateway_attachments' or "
            "'transit_gateway_vpc_attachments', not both",
        )
    attachments = section(ctx, top, sections[0]) if sections else {}
    for name, node in attachments.items():
        ctx.declare(ATTACHMENT, name, node)
    for name, node in section(ctx, top, "transit_gateways").items():
        _gateway(ctx, name, node)
    for name, node in attachments.items():
        _attachment(ctx, name, node)
    tables = section(ctx, top, "transit_gateway_route_tables")
    heads = [h for h in (_table_head(ctx, n, node) for n, node in tables.items()) if h]
    _defaults(ctx, heads)
    for head in heads:
        _table(ctx, head)
    implicit_tables(ctx)  # the default route table, default associations (18.4)


def _gateway(ctx: Ctx, name: str, node: Node) -> None:
    object_name(ctx, TGW, name, node)
    what = f"transit gateway {q(name)}"
    m = as_map(ctx, node, what)
    if m is None:
        return
    check_keys(ctx, m, node, what, TGW_KEYS)
    if "description" in m:
        text(ctx, m["description"], f"{what} description")
    asn = DEFAULT_ASN
    if "amazon_side_asn" in m:
        rule = aws("a private ASN: 64512-65534 or 4200000000-4294967294", "18.4")
        value = integer(ctx, m["amazon_side_asn"], f"{what} amazon_side_asn", 1, 4294967294)
        if value is not None and not any(lo <= value <= hi for lo, hi in ASN_RANGES):
            ctx.error(m["amazon_side_asn"], f"{what} amazon_side_asn {value} is not private" + rule)
        asn = value or DEFAULT_ASN
    ctx.transit_gateways[name] = TransitGateway(
        name,
        object_id(ctx, m, "tgw", name, what),
        len(ctx.transit_gateways),
        opt_bool(ctx, m, "default_route_table_association", what, True),
        opt_bool(ctx, m, "default_route_table_propagation", what, True),
        asn,
    )


def _attachment(ctx: Ctx, name: str, node: Node) -> None:
    object_name(ctx, ATTACHMENT, name, node)
    what = f"transit gateway attachment {q(name)}"
    raw = as_map(ctx, node, what, null_ok=False)
    if raw is None:
        return
    check_keys(ctx, raw, node, what, ATTACHMENT_KEYS, ("transit_gateway", "vpc"))
    m = _canonical(ctx, raw, what)
    tgw = _ref(ctx, m, "transit_gateway", TGW, ctx.transit_gateways, what)
    vpc = _ref(ctx, m, "vpc", VPC, ctx.vpcs, what)
    subnets = _attachment_subnets(ctx, m, node, what, vpc)
    if tgw is None or vpc is None or subnets is None:
        return
    other = next(
        (
            a
            for a in ctx.transit_gateway_attachments.values()
            if a.vpc == vpc and a.transit_gateway == tgw
        ),
        None,
    )
    if other is not None:
        rule = aws(
            "one attachment per VPC and transit gateway (DuplicateTransitGatewayAttachment)", "18.2"
        )
        msg = f"{what}: VPC {q(vpc)} is already attached to {q(tgw)} by {q(other.name)}"
        ctx.error(node.where, msg + rule)
        return
    ctx.transit_gateway_attachments[name] = TransitGatewayVpcAttachment(
        name,
        object_id(ctx, m, "tgw-attach", name, what),
        tgw,
        vpc,
        subnets,
        len(ctx.transit_gateway_attachments),
    )


def _ref(
    ctx: Ctx, m: dict[str, Node], key: str, kind: str, found: Mapping[str, object], what: str
) -> str | None:
    node = m.get(key)
    if node is None:
        return None
    name = text(ctx, node, f"{what} {key}")
    if name is None:
        return None
    obj = ctx.lookup(kind, name, node, found, what)
    return name if obj is not None else None


def _attachment_subnets(
    ctx: Ctx, m: dict[str, Node], node: Node, what: str, vpc: str | None
) -> tuple[str, ...] | None:
    """One subnet of the VPC per Availability Zone, at least one (18.2)."""
    if "subnets" not in m:
        rule = aws("a VPC attachment names at least one subnet", "18.2")
        ctx.error(node.where, f"{what} needs the key 'subnets' (or 'subnet_ids')" + rule)
        return None
    items = as_list(ctx, m["subnets"], f"{what} subnets")
    if not isinstance(m["subnets"].value, list):
        return None  # said by as_list
    if not items:
        rule = aws("a VPC attachment names at least one subnet", "18.2")
        ctx.error(m["subnets"], f"{what} names no subnet" + rule)
        return None
    out: list[str] = []
    zones: dict[str, str] = {}
    ok = True
    for item in items:
        name = text(ctx, item, f"{what} subnet")
        sub = ctx.lookup(SUBNET, name, item, ctx.subnets, what) if name is not None else None
        if name is None or sub is None:
            ok = False
            continue
        if vpc is not None and sub.vpc != vpc:
            rule = aws("the attachment's subnets are subnets of its VPC", "18.2")
            ctx.error(item, f"{what}: subnet {q(name)} is in VPC {q(sub.vpc)}, not {q(vpc)}" + rule)
            ok = False
            continue
        if sub.az in zones:
            rule = aws("one subnet per Availability Zone (DuplicateSubnetsInSameZone)", "18.2")
            msg = f"{what}: subnets {q(zones[sub.az])} and {q(name)} are both in {sub.az}"
            ctx.error(item, msg + rule)
            ok = False
            continue
        zones[sub.az] = name
        out.append(name)
    return tuple(out) if ok else None


class _Head:
    """A transit gateway route table before defaults are applied."""

    def __init__(self, name: str, node: Node, m: dict[str, Node], tgw: str, index: int) -> None:
        self.name, self.node, self.m, self.tgw, self.index = name, node, m, tgw, index
        self.associations: list[str] = []
        self.propagations: list[str] = []
        self.default_association = False
        self.default_propagation = False


def _table_head(ctx: Ctx, name: str, node: Node) -> _Head | None:
    object_name(ctx, TGW_RTB, name, node)
    what = f"transit gateway route table {q(name)}"
    m = as_map(ctx, node, what, null_ok=False)
    if m is None:
        return None
    check_keys(ctx, m, node, what, RTB_KEYS, ("transit_gateway",))
    tgw = _ref(ctx, m, "transit_gateway", TGW, ctx.transit_gateways, what)
    if tgw is None:
        return None
    head = _Head(name, node, m, tgw, 0)
    head.associations = _attachment_list(ctx, m, "associations", tgw, what)
    head.propagations = _attachment_list(ctx, m, "propagations", tgw, what)
    gateway = ctx.transit_gateways[tgw]
    for key, setting, enabled in (
        (
            "default_association_route_table",
            "default_route_table_association",
            gateway.default_route_table_association,
        ),
        (
            "default_propagation_route_table",
            "default_route_table_propagation",
            gateway.default_route_table_propagation,
        ),
    ):
        flag = opt_bool(ctx, m, key, what, False)
        if flag and not enabled:
            rule = aws(
                "a default route table serves a transit gateway setting that is enabled", "18.4"
            )
            msg = f"{what} is {key} but transit gateway {q(tgw)} has {setting}: false"
            ctx.error(m[key], msg + rule)
            flag = False
        setattr(head, key.replace("_route_table", ""), flag)
    return head


def _one_attachment(ctx: Ctx, item: Node, tgw: str, what: str) -> str | None:
    """An attachment of transit gateway `tgw`, by name."""
    name = text(ctx, item, f"{what} attachment")
    if name is None:
        return None
    att = ctx.lookup(ATTACHMENT, name, item, ctx.transit_gateway_attachments, what)
    if att is None:
        return None
    if att.transit_gateway != tgw:
        rule = aws("a route table serves attachments of its own transit gateway", "18.3")
        msg = f"{what}: attachment {q(name)} is of transit gateway {q(att.transit_gateway)}"
        ctx.error(item, msg + rule)
        return None
    return name


def _attachment_list(ctx: Ctx, m: dict[str, Node], key: str, tgw: str, what: str) -> list[str]:
    out: list[str] = []
    for item in as_list(ctx, m.get(key), f"{what} {key}"):
        name = _one_attachment(ctx, item, tgw, f"{what} {key}")
        if name is None:
            continue
        if name in out:
            ctx.error(item, f"{what} {key} names attachment {q(name)} twice")
            continue
        out.append(name)
    return out


def _defaults(ctx: Ctx, heads: list[_Head]) -> None:
    """At most one default table per setting and gateway; an attachment is associated
    with one table at most (18.3), and the per-gateway table quota (18.7)."""
    owner: dict[str, str] = {}
    for head in heads:
        what = f"transit gateway route table {q(head.name)}"
        for att in head.associations:
            if att in owner:
                rule = aws("an attachment is associated with one route table", "18.3")
                by = q(owner[att])
                msg = f"{what} associates attachment {q(att)}, already associated with {by}"
                ctx.error(head.m["associations"], msg + rule)
            owner[att] = head.name
    for tgw in ctx.transit_gateways.values():
        mine = [h for h in heads if h.tgw == tgw.name]
        if len(mine) > MAX_TABLES:
            rule = aws("at most 20 route tables per transit gateway", "18.7")
            ctx.error(
                mine[MAX_TABLES].node.where,
                f"transit gateway {q(tgw.name)} has {len(mine)} route tables" + rule,
            )
        for flag in ("default_association", "default_propagation"):
            flagged = [h for h in mine if getattr(h, flag)]
            for extra in flagged[1:]:
                rule = aws("a transit gateway has one default route table per setting", "18.4")
                msg = (
                    f"transit gateway route table {q(extra.name)} is {flag}_route_table, "
                    f"and so is {q(flagged[0].name)}"
                )
                ctx.error(extra.m[f"{flag}_route_table"], msg + rule)


def _table(ctx: Ctx, head: _Head) -> None:
    what = f"transit gateway route table {q(head.name)}"
    routes = _routes(ctx, head, what)
    ctx.transit_gateway_route_tables[head.name] = TransitGatewayRouteTable(
        head.name,
        object_id(ctx, head.m, "tgw-rtb", head.name, what),
        head.tgw,
        len(ctx.transit_gateway_route_tables),
        tuple(head.associations),
        tuple(head.propagations),
        tuple(routes),
        head.default_association,
        head.default_propagation,
    )


def _routes(ctx: Ctx, head: _Head, what: str) -> list[TransitGatewayRoute]:
    out: list[TransitGatewayRoute] = []
    seen: dict[IPv4Network, int] = {}
    for index, item in enumerate(as_list(ctx, head.m.get("routes"), f"{what} routes")):
        rwhat = f"{what} route {index + 1}"
        raw = as_map(ctx, item, rwhat, null_ok=False)
        if raw is None:
            continue
        check_keys(ctx, raw, item, rwhat, ROUTE_KEYS)
        m = _canonical(ctx, raw, rwhat)
        if "destination" not in m:
            ctx.error(item.where, f"{rwhat} needs the key 'destination_cidr_block'")
            continue
        dest = cidr(ctx, m["destination"], f"{rwhat} destination")
        targets = [k for k in ("transit_gateway_attachment", "blackhole") if k in m]
        if len(targets) != 1:
            rule = aws("a route has an attachment or is a blackhole", "18.5")
            msg = f"{rwhat} needs exactly one of transit_gateway_attachment or blackhole: true"
            ctx.error(item.where, msg + rule)
            continue
        attachment: str | None = None
        if targets[0] == "blackhole":
            if boolean(ctx, m["blackhole"], f"{rwhat} blackhole") is not True:
                ctx.error(
                    m["blackhole"],
                    f"{rwhat}: blackhole takes only true; give an attachment instead",
                )
                continue
        else:
            attachment = _one_attachment(ctx, m["transit_gateway_attachment"], head.tgw, rwhat)
            if attachment is None:
                continue
        if dest is None:
            continue
        if dest in seen:
            rule = aws("one static route per destination (RouteAlreadyExists)", "18.5")
            ctx.error(
                m["destination"], f"{rwhat} repeats destination {dest} of route {seen[dest]}" + rule
            )
            continue
        seen[dest] = index + 1
        out.append(TransitGatewayRoute(dest, attachment))
    return out


def transit_target(ctx: Ctx, name: str, node: Node, what: str, vpc: Vpc) -> str | bool:
    """A VPC route's `transit_gateway:` target: a gateway the table's VPC is attached to
    (18.8)."""
    tgw = ctx.lookup(TGW, name, node, ctx.transit_gateways, what)
    if tgw is None:
        return False
    attached = any(
        a.vpc == vpc.name and a.transit_gateway == name
        for a in ctx.transit_gateway_attachments.values()
    )
    if not attached:
        rule = aws("a route targets a transit gateway the VPC is attached to", "18.8")
        ctx.error(
            node,
            f"{what} targets transit gateway {q(name)}, "
            f"to which VPC {q(vpc.name)} has no attachment" + rule,
        )
        return False
    return name
