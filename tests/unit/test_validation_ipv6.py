"""IPv6 of dual-stack scenarios: blocks, addresses, routes and rules (reference section 16)."""

from __future__ import annotations

import textwrap
from ipaddress import IPv6Address, IPv6Network

from netemu.model import load_model_text
from netemu.model.types import Model
from tests.unit.problems import at, one

BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16, ipv6: true}
internet_gateways:
  igw: {vpc: main}
egress_only_internet_gateways:
  eigw: {vpc: main}
subnets:
  public: {vpc: main, cidr: 10.0.1.0/24, ipv6_cidr: "2001:db8:1:1::/64", assign_ipv6_address_on_creation: true}
  private: {vpc: main, cidr: 10.0.2.0/24, ipv6_cidr: auto}
"""


def _model(extra: str = "", base: str = BASE) -> Model:
    model, _ = load_model_text(textwrap.dedent(base).lstrip("\n") + textwrap.dedent(extra))
    return model


def test_ipv6_true_gives_the_vpc_a_56_from_the_documentation_prefix() -> None:
    """An Amazon-provided /56, written from 2001:db8::/32 (ref 16.1)."""
    model = _model()
    assert model.vpcs["main"].ipv6_cidr == IPv6Network("2001:db8:1::/56")
    assert model.subnets["public"].ipv6_cidr == IPv6Network("2001:db8:1:1::/64")
    assert model.subnets["private"].ipv6_cidr == IPv6Network("2001:db8:1::/64")  # auto


def test_a_vpc_block_outside_the_documentation_prefix_is_refused() -> None:
    """Closed world: nothing may be addressed outside 2001:db8::/32 (ref 16.1)."""
    p = one("vpcs:\n  main: {cidr: 10.0.0.0/16, ipv6_cidr: '2600:1f18::/56'}\n")
    assert at(p) == "2:40" and "outside 2001:db8::/32" in p.message


def test_a_subnet_block_must_be_a_64_inside_the_vpc_block() -> None:
    """A subnet's IPv6 CIDR is a /64 of its VPC's block (ref 16.2)."""
    base = "vpcs:\n  main: {cidr: 10.0.0.0/16, ipv6: true}\nsubnets:\n"
    p = one(base + "  a: {vpc: main, cidr: 10.0.1.0/24, ipv6_cidr: '2001:db8:1::/60'}\n")
    assert at(p) == "4:48" and "between /64 and /64" in p.message
    p = one(base + "  a: {vpc: main, cidr: 10.0.1.0/24, ipv6_cidr: '2001:db8:9::/64'}\n")
    assert "is not inside 2001:db8:1::/56" in p.message


def test_a_subnet_of_a_vpc_without_ipv6_cannot_have_a_block() -> None:
    """The subnet's /64 comes from the VPC's block (ref 16.2)."""
    p = one(
        "vpcs:\n  main: {cidr: 10.0.0.0/16}\nsubnets:\n"
        "  a: {vpc: main, cidr: 10.0.1.0/24, ipv6_cidr: auto}\n"
    )
    assert "has no IPv6 block" in p.message


def test_instances_get_an_address_where_the_subnet_assigns_one() -> None:
    """AssignIpv6AddressOnCreation; ::0-::3 are reserved, picks start at ::10 (ref 16.3)."""
    model = _model("instances:\n  web: {subnet: public}\n  db: {subnet: private}\n")
    assert model.instances["web"].ipv6_address == IPv6Address("2001:db8:1:1::10")
    assert model.instances["db"].ipv6_address is None


def test_a_reserved_ipv6_address_is_refused() -> None:
    """The first four and the last address of a subnet's /64 are reserved (ref 16.3)."""
    p = one(BASE + "instances:\n  web: {subnet: public, ipv6_address: '2001:db8:1:1::2'}\n")
    assert "is reserved" in p.message and at(p) == "11:39"


def test_an_ipv6_route_to_a_nat_gateway_is_refused() -> None:
    """NatGatewayId routes are IPv4-only: IPv6 has no NAT (ref 4.8, 16.5)."""
    text = BASE + textwrap.dedent(
        """\
        nat_gateways:
          nat: {subnet: public}
        route_tables:
          rt:
            vpc: main
            routes:
              - {destination: "::/0", nat_gateway: nat}
        """
    )
    p = one(text)
    assert "egress-only internet gateway" in p.message and at(p) == "16:31"


def test_an_egress_only_gateway_takes_only_ipv6_routes() -> None:
    """EgressOnlyInternetGatewayId is IPv6-only (ref 4.8)."""
    text = BASE + "route_tables:\n  rt:\n    vpc: main\n    routes:\n"
    p = one(text + "      - {destination: 0.0.0.0/0, egress_only_internet_gateway: eigw}\n")
    assert "IPv6-only" in p.message


def test_ipv6_routes_are_kept_apart_from_ipv4_routes() -> None:
    """IPv4 and IPv6 are routed separately, each with its local route (ref 4.4, 4.5)."""
    model = _model(
        """\
        route_tables:
          rt:
            vpc: main
            routes:
              - {destination: 0.0.0.0/0, internet_gateway: igw}
              - {destination: "::/0", egress_only_internet_gateway: eigw}
        """
    )
    table = model.route_tables["rt"]
    assert [str(r.destination) for r in table.routes] == ["10.0.0.0/16", "0.0.0.0/0"]
    six = [(str(r.destination), r.target_kind) for r in table.ipv6_routes]
    assert six == [("2001:db8:1::/56", "local"), ("::/0", "egress_only_internet_gateway")]


def test_default_group_and_acl_get_ipv6_rules_when_the_vpc_has_ipv6() -> None:
    """Default SG egress ::/0 (ref 7.4); default ACL rule 101 allows ::/0 (ref 8.4)."""
    model = _model()
    group = next(g for g in model.security_groups.values() if g.is_default)
    assert [str(r.cidr_ipv6) for r in group.egress if r.cidr_ipv6] == ["::/0"]
    acl = model.network_acls["main-default"]
    assert [(r.number, str(r.cidr), r.action) for r in acl.ingress_ipv6] == [(101, "::/0", "allow")]
    v4 = _model(base="vpcs:\n  main: {cidr: 10.0.0.0/16}\n")
    assert v4.network_acls["main-default"].ingress_ipv6 == ()


def test_rules_take_ipv6_cidrs_and_icmpv6() -> None:
    """cidr_ipv6 or an IPv6 cidr; icmpv6 is protocol 58; IPv6 ACL numbers are their own
    list (ref 7.5, 8.7, 16.6)."""
    model = _model(
        """\
        security_groups:
          web:
            vpc: main
            ingress:
              - {protocol: tcp, port: 22, cidr: "::/0"}
              - {protocol: icmpv6, cidr_ipv6: "2001:db8::/32", icmp_type: 128}
        network_acls:
          acl:
            vpc: main
            ingress:
              - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
              - {rule: 100, protocol: all, cidr_ipv6: "::/0", action: allow}
        """
    )
    web = next(g for g in model.security_groups.values() if g.name == "web")
    assert [(r.protocol, str(r.cidr_ipv6), r.cidr) for r in web.ingress] == [
        (6, "::/0", None),
        (58, "2001:db8::/32", None),
    ]
    acl = model.network_acls["acl"]
    assert len(acl.ingress) == 1 and len(acl.ingress_ipv6) == 1


def test_family_6_needs_an_ipv6_address_at_both_ends() -> None:
    """An IPv6 expectation goes to the destination's IPv6 address (contract 6.2)."""
    text = BASE + "instances:\n  web: {subnet: public}\n  db: {subnet: private}\nexpect:\n"
    model = _model(
        "instances:\n  web: {subnet: public}\nexpect:\n"
        "  - {from: internet, to: web, tcp: 22, family: 6, result: reachable}\n"
        "  - {from: internet, to: '2001:db8:1:1::10', tcp: 22, result: reachable}\n"
    )
    assert [e.family for e in model.expectations] == [6, 6]
    p = one(text + "  - {from: internet, to: db, tcp: 22, family: 6, result: blocked}\n")
    assert "to 'db' has no IPv6 address" in p.message
