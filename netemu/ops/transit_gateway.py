"""What `netemu apply` does with transit gateways, their VPC attachments and route tables,
in AWS terms (Create/DeleteTransitGateway, Create/DeleteTransitGatewayVpcAttachment,
Associate/DisassociateTransitGatewayRouteTable, Enable/DisableTransitGatewayRouteTable-
Propagation, Create/DeleteTransitGatewayRoute; ref 18.1-18.9). The kernel side is the plan
diff of render.transit_gateway: the gateway's namespace, cables, tables and rules."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.ops.words import Change, _c


def changes(old: Model, new: Model) -> list[Change]:
    out: list[Change] = []
    for name in new.transit_gateways:
        if name not in old.transit_gateways:
            out.append(_c("create", f"transit_gateway:{name}", f"create transit gateway {name}"))
    for name, att in new.transit_gateway_attachments.items():
        was = old.transit_gateway_attachments.get(name)
        res = f"transit_gateway_attachment:{name}"
        if was is None or (was.transit_gateway, was.vpc) != (att.transit_gateway, att.vpc):
            where = f"{att.vpc} [{', '.join(att.subnets)}] -> {att.transit_gateway}"
            text = f"create transit gateway vpc attachment {name} ({where})"
            out.append(_c("create", res, text))
        elif was.subnets != att.subnets:
            text = f"modify transit gateway vpc attachment {name}: subnets {', '.join(att.subnets)}"
            out.append(_c("modify", res, text))
    for name, table in new.transit_gateway_route_tables.items():
        res = f"transit_gateway_route_table:{name}"
        was_t = old.transit_gateway_route_tables.get(name)
        if was_t is None:
            text = f"create transit gateway route table {name} ({table.transit_gateway})"
            out.append(_c("create", res, text))
        before = was_t.associations if was_t else ()
        for a in before:
            if a not in table.associations:
                out.append(_c("disassociate", res, f"disassociate {a} from tgw route table {name}"))
        for a in table.associations:
            if a not in before:
                out.append(_c("associate", res, f"associate {a} with tgw route table {name}"))
        before = was_t.propagations if was_t else ()
        for a in before:
            if a not in table.propagations:
                out.append(
                    _c("modify", res, f"disable propagation of {a} to tgw route table {name}")
                )
        for a in table.propagations:
            if a not in before:
                out.append(
                    _c("modify", res, f"enable propagation of {a} to tgw route table {name}")
                )
        routes_before = {r.destination: r for r in (was_t.static_routes if was_t else ())}
        routes_after = {r.destination: r for r in table.static_routes}
        for dst, r in routes_after.items():
            target = r.attachment or "blackhole"
            if dst not in routes_before:
                out.append(_c("create", res, f"create tgw route {dst} -> {target} in {name}"))
            elif routes_before[dst] != r:
                out.append(_c("modify", res, f"replace tgw route {dst} -> {target} in {name}"))
        for dst in routes_before:
            if dst not in routes_after:
                out.append(_c("delete", res, f"delete tgw route {dst} from {name}"))
    for name in old.transit_gateway_route_tables:
        if name not in new.transit_gateway_route_tables:
            res = f"transit_gateway_route_table:{name}"
            out.append(_c("delete", res, f"delete transit gateway route table {name}"))
    for name in old.transit_gateway_attachments:
        if name not in new.transit_gateway_attachments:
            res = f"transit_gateway_attachment:{name}"
            out.append(_c("delete", res, f"delete transit gateway vpc attachment {name}"))
    for name in old.transit_gateways:
        if name not in new.transit_gateways:
            out.append(_c("delete", f"transit_gateway:{name}", f"delete transit gateway {name}"))
    return out
