"""Default route tables of transit gateways: the one AWS creates, and the associations
and propagations it makes for new attachments (ref 18.4, 18.6)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Network

from netemu.model.ids import aws_id
from netemu.model.transit_gateway import TransitGateway, TransitGatewayRouteTable
from netemu.model.validate_context import Ctx, aws, q

TGW = "transit gateway"
ATTACHMENT = "transit gateway attachment"
TGW_RTB = "transit gateway route table"


def implicit_tables(ctx: Ctx) -> None:
    """The default route table AWS creates with a gateway that has either default setting
    enabled and no declared default table; then each attachment named in no table's
    associations is associated with the association default, and every attachment
    propagates to the propagation default unless that table lists its own (18.4)."""
    tables = ctx.transit_gateway_route_tables
    for tgw in list(ctx.transit_gateways.values()):
        mine = [t for t in tables.values() if t.transit_gateway == tgw.name]
        assoc = next((t for t in mine if t.default_association), None)
        prop = next((t for t in mine if t.default_propagation), None)
        wants = (tgw.default_route_table_association and assoc is None) or (
            tgw.default_route_table_propagation and prop is None
        )
        if wants:
            name = f"{tgw.name}-default"
            if name in tables or ctx.is_declared(TGW_RTB, name):
                rule = aws(
                    "a transit gateway with a default setting enabled has a default route table",
                    "18.4",
                )
                node = ctx.declared.get(TGW_RTB, {}).get(name)
                ctx.error(
                    node.where if node else None,
                    f"transit gateway route table {q(name)}: that name is taken by the implicit "
                    f"default route table of transit gateway {q(tgw.name)}; rename the table, or "
                    "mark it default_association_route_table / default_propagation_route_table"
                    + rule,
                )
                continue
            implicit = TransitGatewayRouteTable(
                name,
                aws_id(ctx.scenario, "tgw-rtb", name),
                tgw.name,
                len(tables),
                (),
                (),
                default_association=tgw.default_route_table_association and assoc is None,
                default_propagation=tgw.default_route_table_propagation and prop is None,
                implicit=True,
            )
            tables[name] = implicit
            assoc = implicit if implicit.default_association else assoc
            prop = implicit if implicit.default_propagation else prop
        attachments = [
            a for a in ctx.transit_gateway_attachments.values() if a.transit_gateway == tgw.name
        ]
        taken = {x for t in tables.values() for x in t.associations}
        if assoc is not None and (
            assoc.implicit or "associations" not in _declared_keys(ctx, assoc.name)
        ):
            extra = tuple(a.name for a in attachments if a.name not in taken)
            tables[assoc.name] = replace(
                tables[assoc.name], associations=tables[assoc.name].associations + extra
            )
        if prop is not None and (
            prop.implicit or "propagations" not in _declared_keys(ctx, prop.name)
        ):
            have = tables[prop.name].propagations
            extra = tuple(a.name for a in attachments if a.name not in have)
            tables[prop.name] = replace(tables[prop.name], propagations=have + extra)
        ctx.transit_gateways[tgw.name] = _gw_with(
            tgw, assoc.name if assoc else None, prop.name if prop else None
        )
    _warn_overlaps(ctx)


def _declared_keys(ctx: Ctx, table: str) -> set[str]:
    node = ctx.declared.get(TGW_RTB, {}).get(table)
    return set(node.value) if node is not None and isinstance(node.value, dict) else set()


def _gw_with(t: TransitGateway, assoc: str | None, prop: str | None) -> TransitGateway:
    return replace(t, association_default_route_table=assoc, propagation_default_route_table=prop)


def _warn_overlaps(ctx: Ctx) -> None:
    """A VPC whose CIDR overlaps one already propagated into a table is not propagated
    (18.6): said as a warning, since AWS accepts the attachment."""
    for table in ctx.transit_gateway_route_tables.values():
        seen: list[tuple[IPv4Network, str]] = []
        for name in table.propagations:
            att = ctx.transit_gateway_attachments[name]
            for block in ctx.vpcs[att.vpc].cidrs:
                clash = next((o for o in seen if o[0].overlaps(block)), None)
                if clash is not None:
                    node = ctx.declared.get(ATTACHMENT, {}).get(name)
                    rule = aws(
                        "routes of a VPC that overlaps an attached VPC are not propagated", "18.6"
                    )
                    msg = (
                        f"transit gateway route table {q(table.name)}: {block} of attachment "
                        f"{q(name)} overlaps {clash[0]} of {q(clash[1])} and is not propagated"
                    )
                    ctx.warn(node.where if node else None, msg + rule)
                else:
                    seen.append((block, name))
