"""VPC peering with real packets (ref 1.10-1.17): a cable between two VPC routers that
carries only what is addressed to the peer VPC, routes on both sides, peer groups."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from live import live

from netemu.testing import Running, running, running_text

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "scenarios" / "book" / "vpc-peering.yaml")

TWO = """
name: pcxk
vpcs:
  a: {{cidr: 10.10.0.0/16}}
  b: {{cidr: 10.20.0.0/16}}
vpc_peering_connections:
  ab: {{requester: a, accepter: b{status}}}
internet_gateways:
  igw: {{vpc: a}}
subnets:
  pa: {{vpc: a, cidr: 10.10.1.0/24, public_ip_on_launch: true, route_table: ra}}
  pb: {{vpc: b, cidr: 10.20.1.0/24, route_table: rb}}
route_tables:
  ra:
    vpc: a
    routes:
      - {{destination: 0.0.0.0/0, internet_gateway: igw}}
{a_routes}
  rb:
    vpc: b
    routes:
{b_routes}
security_groups:
  open-a:
    vpc: a
    ingress: [{{protocol: all, cidr: 0.0.0.0/0}}]
  open-b:
    vpc: b
    ingress: [{{protocol: all, cidr: 0.0.0.0/0}}]
instances:
  ia: {{subnet: pa, private_ip: 10.10.1.10, security_groups: [open-a], services: [http]}}
  ib: {{subnet: pb, private_ip: 10.20.1.10, security_groups: [open-b], services: [http]}}
internet:
  hosts:
    site: {{ip: 198.51.100.10, services: [http]}}
"""
A_TO_B = "      - {destination: 10.20.0.0/16, vpc_peering_connection: ab}"
B_TO_A = "      - {destination: 10.10.0.0/16, vpc_peering_connection: ab}"
B_DEFAULT = "      - {destination: 0.0.0.0/0, vpc_peering_connection: ab}"


def _two(a_routes: str = A_TO_B, b_routes: str = B_TO_A, status: str = "") -> str:
    return TWO.format(a_routes=a_routes, b_routes=b_routes, status=status)


def test_routes_on_both_sides_carry_traffic_both_ways() -> None:
    """1.10: with a route to the peering connection on each side, both VPCs reach each
    other by private address (TCP and ICMP), and each sees the other's own address."""
    with running_text(_two()) as s:
        for src, dst in (("ia", "10.20.1.10"), ("ib", "10.10.1.10")):
            r = s.probe(src, dst, tcp=80)
            assert r.result == "reachable", r
            assert r.seen_source == str(s.model.instances[src].private_ip)
            assert s.probe(src, dst, icmp=True).result == "reachable"


def test_a_route_on_one_side_only_drops_the_reply_at_the_other() -> None:
    """1.10: each side must route the other's CIDR to the connection; with the route only
    in a, the request arrives in b and b's route table has no route back."""
    with running_text(_two(b_routes="")) as s:
        r = s.probe("ia", "ib", tcp=80)
        assert r.result == "blocked"
        assert r.reason is not None
        got = (r.reason.code, r.reason.component, r.reason.leg)
        assert got == ("NO_ROUTE_TO_DESTINATION", "route_table:rb", "reply")


def test_a_peer_cannot_use_the_internet_gateway_across_the_peering() -> None:
    """1.12, 1.17: b routes everything to the peering; a's router refuses what is not for
    a's CIDR with PCX_REQUIRES_ADDRESS_IN_VPC_CIDR, while a itself reaches the internet."""
    with running_text(_two(b_routes=B_TO_A + "\n" + B_DEFAULT)) as s:
        r = s.probe("ib", "site", tcp=80)
        assert r.result == "blocked"
        assert r.reason is not None
        got = (r.reason.code, r.reason.component, r.reason.direction, r.reason.leg)
        assert got == (
            "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR",
            "vpc_peering_connection:ab",
            "ingress",
            "request",
        )
        assert s.probe("ia", "site", tcp=80).result == "reachable"


def test_a_connection_not_accepted_is_a_blackhole() -> None:
    """1.14: a route to a pending-acceptance connection is a blackhole (BAD_STATE_ROUTE)."""
    with running_text(_two(status=", status: pending-acceptance")) as s:
        r = s.probe("ia", "ib", tcp=80)
        assert r.result == "blocked"
        assert r.reason is not None
        assert (r.reason.code, r.reason.component) == ("BAD_STATE_ROUTE", "route_table:ra")


def test_shipped_scenario_not_transitive_no_edge_to_edge_peer_groups() -> None:
    """1.10 (not transitive), 1.12 (no edge-to-edge: neither the internet gateway nor the
    NAT gateway of the hub), 1.14, 1.16 (a peer VPC's group): every expectation of
    scenarios/book/vpc-peering.yaml holds on real packets."""
    with running(SHIPPED) as s:
        outcomes = s.expectations()
        assert outcomes and all(o.ok for o in outcomes), [o.title + o.why for o in outcomes]


def test_cross_check_agrees_with_the_static_walk() -> None:
    """13.x: `netemu test --cross-check` finds no disagreement between the kernel and the
    model on the shipped peering scenario."""
    r = subprocess.run(
        [sys.executable, "-m", "netemu.cli", "test", SHIPPED, "--cross-check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 disagreement(s)" in r.stdout


def test_accepting_and_deleting_a_connection_live_through_apply() -> None:
    """1.14: a pending connection carries nothing; accepted by `netemu apply` its cable
    appears and the routes to it carry traffic at once; deleted (with its routes), the VPCs
    are disconnected again (1.9)."""
    pending = _two(status=", status: pending-acceptance")
    with live(pending) as s:
        assert Running(s.model).probe("ia", "10.20.1.10", tcp=80).result == "blocked"
        changes = s.apply(_two())
        assert "accept vpc peering connection ab" in [c.text for c in changes.changes]
        assert Running(s.model).probe("ia", "10.20.1.10", tcp=80).result == "reachable"
        alone = _two(a_routes="", b_routes="").replace(
            "vpc_peering_connections:\n  ab: {requester: a, accepter: b}\n", ""
        )
        changes = s.apply(alone)
        assert "delete vpc peering connection ab" in [c.text for c in changes.changes]
        r = Running(s.model).probe("ia", "10.20.1.10", tcp=80)
        assert r.result == "blocked" and r.reason is not None
        assert r.reason.code == "DISCONNECTED_VPCS"
