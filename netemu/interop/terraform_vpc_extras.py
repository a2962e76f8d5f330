"""Terraform for the VPC objects of issue 15: secondary blocks, peering connections and
elastic IPs associated with nothing (export_terraform writes everything else)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

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
