"""Secondary VPC CIDRs with real packets (ref 1.4, 1.5): each block has its local route, the
NAT gateway and the internet gateway serve every block, peering refuses overlap with any."""

from __future__ import annotations

from pathlib import Path

from live import live

from netemu.testing import Running, running, running_text

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_scenario_holds_on_real_packets() -> None:
    """1.4: instances of the primary and the secondary block talk through the local routes;
    the secondary block reaches the internet through the NAT gateway (its source is of the
    VPC, 6.14); an address of the new block that no subnet holds is dropped by the local
    route (scenarios/book/secondary-cidrs.yaml)."""
    with running(str(ROOT / "scenarios" / "book" / "secondary-cidrs.yaml")) as s:
        outcomes = s.expectations()
        assert outcomes and all(o.ok for o in outcomes), [o.title + o.why for o in outcomes]
        r = s.probe("web", "100.64.200.9", tcp=80)
        assert r.reason is not None
        assert (r.reason.code, r.reason.rule) == ("NO_ROUTE_TO_DESTINATION", "local 100.64.0.0/16")


PEERED = """
name: cidrp
vpcs:
  a: {cidr: 10.10.0.0/16, cidrs: [10.11.0.0/16]}
  b: {cidr: 10.20.0.0/16}
vpc_peering_connections:
  ab: {requester: a, accepter: b}
subnets:
  a2: {vpc: a, cidr: 10.11.1.0/24, route_table: ra}
  b1: {vpc: b, cidr: 10.20.1.0/24, route_table: rb}
route_tables:
  ra:
    vpc: a
    routes: [{destination: 10.20.0.0/16, vpc_peering_connection: ab}]
  rb:
    vpc: b
    routes: [{destination: 10.11.0.0/16, vpc_peering_connection: ab}]
security_groups:
  open-a: {vpc: a, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
  open-b: {vpc: b, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
instances:
  x: {subnet: a2, private_ip: 10.11.1.10, security_groups: [open-a], services: [http]}
  y: {subnet: b1, private_ip: 10.20.1.10, security_groups: [open-b], services: [http]}
"""


def test_a_secondary_block_is_reachable_over_a_peering() -> None:
    """1.4, 1.10, 1.17: the peer routes to the secondary block; the receiving router takes
    it as an address of its VPC."""
    with running_text(PEERED) as s:
        assert s.probe("y", "10.11.1.10", tcp=80).result == "reachable"
        assert s.probe("x", "10.20.1.10", tcp=80).result == "reachable"


ONE = """
name: cidra
vpcs:
  a: {{cidr: 10.10.0.0/16{more}}}
subnets:
  s1: {{vpc: a, cidr: 10.10.1.0/24}}
{extra_subnet}
security_groups:
  open: {{vpc: a, ingress: [{{protocol: all, cidr: 0.0.0.0/0}}]}}
instances:
  x: {{subnet: s1, private_ip: 10.10.1.10, security_groups: [open], services: [http]}}
{extra_instance}
"""


def test_a_block_added_live_through_apply_carries_traffic_at_once() -> None:
    """1.4: AssociateVpcCidrBlock on a running VPC: the new block's local route appears in
    the route tables, a subnet and an instance in it are reachable from the first block."""
    before = ONE.format(more="", extra_subnet="", extra_instance="")
    after = ONE.format(
        more=", cidrs: [100.64.0.0/16]",
        extra_subnet="  s2: {vpc: a, cidr: 100.64.1.0/24}",
        extra_instance=(
            "  y: {subnet: s2, private_ip: 100.64.1.10, security_groups: [open], services: [http]}"
        ),
    )
    with live(before) as s:
        changes = s.apply(after)
        texts = [c.text for c in changes.changes]
        assert "associate cidr block 100.64.0.0/16 with vpc a" in texts, texts
        assert Running(s.model).probe("x", "y", tcp=80).result == "reachable"
        assert Running(s.model).probe("y", "x", tcp=80).result == "reachable"
