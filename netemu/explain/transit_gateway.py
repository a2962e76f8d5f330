"""The static walk through a transit gateway (ref 18.3, 18.5): the route table associated
with the attachment the packet came in on, longest prefix, then out by the attachment the
route names, into that VPC's router. Drops carry the names render.transit_gateway gives
the kernel's rules, so the model and the kernel agree word for word."""

from __future__ import annotations

from typing import Any, Literal

from netemu.explain.hop import Hop
from netemu.explain.packet import Packet
from netemu.explain.reason import Classifier
from netemu.model.transit_gateway import effective_routes, lookup
from netemu.model.types import Model, Subnet
from netemu.render import transit_gateway as render

Leg = Literal["request", "reply"]


def enter(
    m: Model, why: Classifier, sub: Subnet, tgw: str, leg: Leg, p: Packet, hops: list[Hop]
) -> Any:
    """From subnet `sub`'s route table to transit gateway `tgw`: down the VPC's attachment,
    unless the attachment has no subnet in `sub`'s zone (18.2)."""
    att = m.attachment_of(sub.vpc, tgw)
    assert att is not None  # validation: a VPC routes only to a gateway it is attached to
    if sub.az not in {m.subnets[s].az for s in att.subnets}:
        drop = render.az_drop(att)
        rule = f"transit_gateway_attachment:{att.name} no subnet in the source's zone"
        return why.transit(drop, rule, leg, p)
    hops.append(Hop(f"transit_gateway_attachment:{att.name}", att.id))
    return ("tgw", tgw, f"att:{att.name}"), p


def at_gateway(m: Model, why: Classifier, iif: str, p: Packet, leg: Leg, hops: list[Hop]) -> Any:
    att = m.transit_gateway_attachments[iif.split(":", 1)[1]]
    tgw = m.transit_gateways[att.transit_gateway]
    hops.append(Hop(f"transit_gateway:{tgw.name}", tgw.id))
    table = render.association(m, att.name)
    route = None
    if table is not None:
        route = lookup(effective_routes(table, m.transit_gateway_attachments, m.vpcs), p.dst)
    if table is None or route is None or route.attachment is None:
        _, rule, drop = next(d for d in render.drop_rules(m, att) if p.dst in d[0])
        return why.transit(drop, rule, leg, p)
    out = m.transit_gateway_attachments[route.attachment]
    detail = {
        "transit_gateway_route_table_route": {
            "destination_cidr": str(route.destination),
            "state": "active",
            "route_origin": route.type,
            "attachment_id": out.id,
            "resource_id": m.vpcs[out.vpc].id,
            "resource_type": "vpc",
        }
    }
    hops.append(Hop(f"transit_gateway_route_table:{table.name}", table.id, detail))
    hops.append(Hop(f"transit_gateway_attachment:{out.name}", out.id))
    return ("router", out.vpc, f"tgw:{out.name}"), p
