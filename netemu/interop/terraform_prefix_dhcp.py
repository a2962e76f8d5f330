"""Terraform for customer-managed prefix lists and DHCP options sets (ref 19.1, 10.20):
aws_ec2_managed_prefix_list, aws_vpc_dhcp_options and their VPC associations; the rules
and routes naming a list are written by export_terraform."""

from __future__ import annotations

from collections.abc import Callable

from netemu.interop.terraform_vpc_extras import Hcl, _s
from netemu.model.types import Model


def write(h: Hcl, model: Model, lab: Callable[[str], str]) -> None:
    for pl in model.prefix_lists.values():
        body = [
            f"name           = {_s(pl.prefix_list_name)}",
            f"address_family = {_s(pl.address_family)}",
            f"max_entries    = {pl.max_entries}",
        ]
        for e in pl.entries:
            body += ["entry {", f"  cidr = {_s(str(e.cidr))}"]
            body += [f"  description = {_s(e.description)}"] if e.description else []
            body.append("}")
        body.append(f'tags = {{ "Name" = {_s(pl.name)} }}')
        h.block(f'resource "aws_ec2_managed_prefix_list" "{lab(pl.name)}"', body)
    for d in model.dhcp_options.values():
        body = []
        if d.domain_name:
            body.append(f"domain_name = {_s(d.domain_name)}")
        for key, values in (
            ("domain_name_servers", list(d.domain_name_servers)),
            ("ntp_servers", [str(x) for x in d.ntp_servers]),
            ("netbios_name_servers", [str(x) for x in d.netbios_name_servers]),
        ):
            if values:
                body.append(f"{key} = [{', '.join(_s(v) for v in values)}]")
        if d.netbios_node_type is not None:
            body.append(f"netbios_node_type = {_s(str(d.netbios_node_type))}")
        body.append(f'tags = {{ "Name" = {_s(d.name)} }}')
        h.block(f'resource "aws_vpc_dhcp_options" "{lab(d.name)}"', body)
    for v in model.vpcs.values():
        if v.dhcp_options:
            body = [
                f"vpc_id          = aws_vpc.{lab(v.name)}.id",
                f"dhcp_options_id = aws_vpc_dhcp_options.{lab(v.dhcp_options)}.id",
            ]
            h.block(f'resource "aws_vpc_dhcp_options_association" "{lab(v.name)}"', body)
