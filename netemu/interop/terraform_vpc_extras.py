"""Terraform for the VPC objects of issue 15: secondary blocks, peering connections,
elastic IPs associated with nothing, VPC endpoints and the AWS-managed prefix lists rules
name (export_terraform writes everything else)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from netemu.model.aws_services import managed_prefix_lists
from netemu.model.types import Model


class Hcl(Protocol):
    def block(self, head: str, body: list[str], comment: str = "") -> None: ...


def _s(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(h: Hcl, model: Model, lab: Callable[[str], str]) -> None:
    """`lab` names a resource after a scenario name (export_terraform.label)."""
    for v in model.vpcs.values():
        for i, block in enumerate(v.secondary_cidrs):  # ref 1.4
            body = [f"vpc_id     = aws_vpc.{lab(v.name)}.id", f"cidr_block = {_s(str(block))}"]
            h.block(f'resource "aws_vpc_ipv4_cidr_block_association" "{lab(v.name)}_{i + 1}"', body)
    for p in model.vpc_peering_connections.values():  # ref 1.10, 1.14
        body = [
            f"vpc_id      = aws_vpc.{lab(p.requester)}.id",
            f"peer_vpc_id = aws_vpc.{lab(p.accepter)}.id",
            f"auto_accept = {str(p.active).lower()}",
            f'tags        = {{ "Name" = {_s(p.name)} }}',
        ]
        note = "" if p.active else f"{p.status} in netemu: accept it (or not) by hand"
        h.block(f'resource "aws_vpc_peering_connection" "{lab(p.name)}"', body, note)
    for e in model.elastic_ips.values():  # ref 9.13: the associated ones go with the instance
        if e.instance is None:
            body = ['domain = "vpc"', f'tags   = {{ "Name" = {_s(e.name)} }}']
            h.block(f'resource "aws_eip" "{lab(e.name)}"', body, f"netemu used {e.address}")
    named = {r.prefix_list_id for g in model.security_groups.values() for r in g.egress + g.ingress}
    for pl in managed_prefix_lists(model.region).values():  # ref 17.6: looked up by name
        if pl.id in named:
            h.block(f'data "aws_prefix_list" "{pl.service}"', [f"name = {_s(pl.name)}"])
    for ep in model.vpc_endpoints.values():  # ref 17.1-17.3; the routes come with it
        body = [
            f"vpc_id            = aws_vpc.{lab(ep.vpc)}.id",
            f"service_name      = {_s(ep.service_name)}",
            f"vpc_endpoint_type = {_s(ep.vpc_endpoint_type)}",
        ]
        if ep.vpc_endpoint_type == "Gateway":
            tables = ", ".join(f"aws_route_table.{lab(t)}.id" for t in ep.route_table_ids)
            body.append(f"route_table_ids   = [{tables}]")
        else:
            subnets = ", ".join(f"aws_subnet.{lab(x)}.id" for x in ep.subnet_ids)
            body.append(f"subnet_ids          = [{subnets}]")
            groups = ", ".join(
                f"aws_default_security_group.{lab(g.vpc)}.id"
                if g.is_default
                else f"aws_security_group.{lab(g.name)}.id"
                for g in (model.security_groups[x] for x in ep.security_group_ids)
            )
            body.append(f"security_group_ids  = [{groups}]")
            body.append(f"private_dns_enabled = {str(ep.private_dns_enabled).lower()}")
        body.append(f'tags              = {{ "Name" = {_s(ep.name)} }}')
        h.block(f'resource "aws_vpc_endpoint" "{lab(ep.name)}"', body)
