"""A scenario's IPv6 as Terraform (`netemu export --format terraform`): the VPC's
Amazon-provided block, each subnet's /64 of it, egress-only internet gateways, IPv6 routes
and instances' addresses (ref 16.1-16.5; ACL entries: export_terraform._acl_rule).

AWS picks a VPC's /56 (`assign_generated_ipv6_cidr_block`), as netemu's documentation
range stands in for it (docs/ipv6.md). A subnet takes the /64 at the same position in
whatever block AWS gives (`cidrsubnet(block, 8, N)`), so the layout of the scenario
survives; an instance asks for one address of its subnet (`ipv6_address_count`), whose
exact value then depends on the block.
"""

from __future__ import annotations

from collections.abc import Callable

from netemu.model.types import (
    Instance,
    Model,
    Route6,
    RouteTable,
    Subnet,
    Vpc,
)

Block = Callable[[str, list[str]], None]  # (resource head, body lines)
Label = Callable[[str], str]  # a name as a Terraform label (export_terraform.label)


def vpc_lines(v: Vpc) -> list[str]:
    return ["assign_generated_ipv6_cidr_block = true"] if v.ipv6_cidr is not None else []


def subnet_lines(model: Model, s: Subnet, label: Label) -> list[str]:
    """The subnet's /64 as the N-th of its VPC's block (ref 16.2), and whether instances
    launched there get an address of it (16.3); an IPv6-only subnet also says so (16.11)."""
    vpc = model.vpcs[s.vpc]
    if s.ipv6_cidr is None or vpc.ipv6_cidr is None:
        return []
    n = (int(s.ipv6_cidr.network_address) - int(vpc.ipv6_cidr.network_address)) >> 64
    out = [f"ipv6_cidr_block = cidrsubnet(aws_vpc.{label(vpc.name)}.ipv6_cidr_block, 8, {n})"]
    if s.cidr is None:
        out.append("ipv6_native     = true")
    if s.assign_ipv6_address_on_creation or s.cidr is None:
        out.append("assign_ipv6_address_on_creation = true")
    return out


def egress_only_gateways(model: Model, block: Block, tags: Label, label: Label) -> None:
    for g in model.egress_only_internet_gateways.values():
        block(
            f'resource "aws_egress_only_internet_gateway" "{label(g.name)}"',
            [f"vpc_id = aws_vpc.{label(g.vpc)}.id", tags(g.name)],
        )


def routes(t: RouteTable, label: Label) -> list[str]:
    """The table's IPv6 routes as `route` blocks (the local one is AWS's own, 4.5)."""
    out: list[str] = []
    for r in t.ipv6_routes:
        target = _target(r, label)
        if target is not None:
            out += ["route {", f'  ipv6_cidr_block = "{r.destination}"', f"  {target}", "}"]
        elif r.target_kind == "blackhole":
            why = "a blackhole route; AWS only shows one when its target is gone"
            out.append(f"# {r.destination}: {why}")
    return out


def _target(r: Route6, label: Label) -> str | None:
    name = label(r.target or "")
    if r.target_kind == "internet_gateway":
        return f"gateway_id = aws_internet_gateway.{name}.id"
    if r.target_kind == "egress_only_internet_gateway":
        return f"egress_only_gateway_id = aws_egress_only_internet_gateway.{name}.id"
    if r.target_kind == "instance":
        return f"network_interface_id = aws_instance.{name}.primary_network_interface_id"
    return None  # local, blackhole


def instance_lines(i: Instance) -> list[str]:
    return ["ipv6_address_count          = 1"] if i.eni.ipv6_address is not None else []
