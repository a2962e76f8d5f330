"""`netemu apply`'s change list for IPv6, without a kernel (ref 16.1-16.5, 16.9)."""

from __future__ import annotations

from netemu.model import load_model_text
from netemu.ops.apply import empty_like
from netemu.ops.diff import changes

V4 = """
name: ua6
vpcs:
  main: {cidr: 10.62.0.0/16}
subnets:
  private: {vpc: main, cidr: 10.62.2.0/24, route_table: private}
route_tables:
  private: {vpc: main}
instances:
  db: {subnet: private}
"""
DUAL = """
name: ua6
vpcs:
  main: {cidr: 10.62.0.0/16, ipv6: true}
egress_only_internet_gateways:
  eigw: {vpc: main}
subnets:
  private: {vpc: main, cidr: 10.62.2.0/24, ipv6_cidr: "2001:db8:1:2::/64", route_table: private}
route_tables:
  private:
    vpc: main
    routes:
      - {destination: "::/0", egress_only_internet_gateway: eigw}
instances:
  db: {subnet: private, ipv6_address: "2001:db8:1:2::10"}
"""


def _lines(old: str, new: str) -> list[str]:
    a, b = load_model_text(old, "a.yaml")[0], load_model_text(new, "b.yaml")[0]
    return [c.text for c in changes(a, b)]


def test_adding_ipv6_names_each_step_in_aws_order() -> None:
    """16.1-16.5, 16.9: the VPC's block, the subnet's /64, the egress-only gateway, its route
    and the instance's address, in the order AWS needs them."""
    lines = _lines(V4, DUAL)
    wanted = [
        "associate ipv6 cidr block 2001:db8:1::/56 with vpc main",
        "associate ipv6 cidr block 2001:db8:1:2::/64 with subnet private",
        "create egress-only internet gateway eigw for vpc main",
        "assign ipv6 address 2001:db8:1:2::10 to instance db",
    ]
    assert [line for line in lines if line in wanted] == wanted, lines
    assert any("::/0" in line and "eigw" in line for line in lines), lines


def test_removing_the_egress_only_gateway_is_a_delete() -> None:
    """16.5, 16.9: DeleteEgressOnlyInternetGateway, and its route goes."""
    no_eigw = (
        DUAL.replace("egress_only_internet_gateways:\n  eigw: {vpc: main}\n", "")
        .replace('      - {destination: "::/0", egress_only_internet_gateway: eigw}\n', "")
        .replace("    routes:\n", "")
    )
    lines = _lines(DUAL, no_eigw)
    assert "delete egress-only internet gateway eigw" in lines, lines


def test_a_scenario_applied_from_nothing_lists_its_egress_only_gateway() -> None:
    """16.9: `apply` of a scenario not yet up lists CreateEgressOnlyInternetGateway too."""
    model = load_model_text(DUAL, "b.yaml")[0]
    lines = [c.text for c in changes(empty_like(model), model)]
    assert "create egress-only internet gateway eigw for vpc main" in lines, lines
