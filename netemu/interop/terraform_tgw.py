"""Terraform for transit gateways (ref 18.2-18.5): the gateway, its VPC attachments, route
tables, associations, propagations and static routes, as the AWS provider writes them.

The gateway's default route table is the provider's `association_default_route_table_id`
(it cannot be declared); an attachment joins it, or stays out of it, through the
attachment's `transit_gateway_default_route_table_association` / `_propagation` flags.
"""

from __future__ import annotations

from collections.abc import Callable

from netemu.interop.terraform_vpc_extras import Hcl, _s
from netemu.model.transit_gateway import TransitGatewayRouteTable
from netemu.model.types import Model


def write(h: Hcl, model: Model, lab: Callable[[str], str]) -> None:
    """`lab` names a resource after a scenario name (export_terraform.label)."""
    for t in model.transit_gateways.values():
        body = [
            f"default_route_table_association = {_onoff(t.default_route_table_association)}",
            f"default_route_table_propagation = {_onoff(t.default_route_table_propagation)}",
            f"amazon_side_asn                 = {t.amazon_side_asn}",
            f'tags                            = {{ "Name" = {_s(t.name)} }}',
        ]
        h.block(f'resource "aws_ec2_transit_gateway" "{lab(t.name)}"', body)
    tables = model.transit_gateway_route_tables
    for a in model.transit_gateway_attachments.values():
        tgw = model.transit_gateways[a.transit_gateway]
        assoc = next((t for t in tables.values() if a.name in t.associations), None)
        in_default = assoc is not None and assoc.name == tgw.association_default_route_table
        prop = tgw.propagation_default_route_table
        propagates = prop is not None and a.name in tables[prop].propagations
        subnets = ", ".join(f"aws_subnet.{lab(s)}.id" for s in a.subnets)
        body = [
            f"transit_gateway_id = aws_ec2_transit_gateway.{lab(tgw.name)}.id",
            f"vpc_id             = aws_vpc.{lab(a.vpc)}.id",
            f"subnet_ids         = [{subnets}]",
            f"transit_gateway_default_route_table_association = {str(in_default).lower()}",
            f"transit_gateway_default_route_table_propagation = {str(propagates).lower()}",
            f'tags = {{ "Name" = {_s(a.name)} }}',
        ]
        h.block(f'resource "aws_ec2_transit_gateway_vpc_attachment" "{lab(a.name)}"', body)
    for table in tables.values():
        _table(h, model, table, lab)


def _onoff(flag: bool) -> str:
    return '"enable"' if flag else '"disable"'


def _table(
    h: Hcl, model: Model, table: TransitGatewayRouteTable, lab: Callable[[str], str]
) -> None:
    tgw = model.transit_gateways[table.transit_gateway]
    default = table.name in (
        tgw.association_default_route_table,
        tgw.propagation_default_route_table,
    )
    if default:
        ref = f"aws_ec2_transit_gateway.{lab(tgw.name)}.association_default_route_table_id"
    else:
        body = [
            f"transit_gateway_id = aws_ec2_transit_gateway.{lab(tgw.name)}.id",
            f'tags               = {{ "Name" = {_s(table.name)} }}',
        ]
        h.block(f'resource "aws_ec2_transit_gateway_route_table" "{lab(table.name)}"', body)
        ref = f"aws_ec2_transit_gateway_route_table.{lab(table.name)}.id"
        for kind, names in (
            ("association", table.associations),
            ("propagation", table.propagations),
        ):
            for a in names:
                attachment = f"aws_ec2_transit_gateway_vpc_attachment.{lab(a)}.id"
                body = [
                    f"transit_gateway_attachment_id  = {attachment}",
                    f"transit_gateway_route_table_id = {ref}",
                ]
                head = f"aws_ec2_transit_gateway_route_table_{kind}"
                h.block(f'resource "{head}" "{lab(table.name)}_{lab(a)}"', body)
    for i, r in enumerate(table.static_routes):
        target = (
            "blackhole                      = true"
            if r.attachment is None
            else "transit_gateway_attachment_id  = "
            f"aws_ec2_transit_gateway_vpc_attachment.{lab(r.attachment)}.id"
        )
        body = [
            f"destination_cidr_block         = {_s(str(r.destination))}",
            target,
            f"transit_gateway_route_table_id = {ref}",
        ]
        h.block(f'resource "aws_ec2_transit_gateway_route" "{lab(table.name)}_{i + 1}"', body)
