"""Transit gateway with real packets (ref 18.1-18.9): a namespace per gateway, one kernel
table per transit gateway route table chosen by the attachment a packet comes in on,
named drops for no route, blackholes, attachments without a table, and zones without an
attachment subnet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from live import live

from netemu.testing import Running, running, running_text

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "scenarios" / "book" / "transit-gateway.yaml")

BASE = """
name: tgwk
vpcs:
  a: {{cidr: 10.10.0.0/16}}
  b: {{cidr: 10.20.0.0/16}}
  c: {{cidr: 10.30.0.0/16}}
transit_gateways:
  tgw: {{{tgw}}}
transit_gateway_attachments:
  att-a: {{transit_gateway: tgw, vpc: a, subnet_ids: [pa]}}
  att-b: {{transit_gateway: tgw, vpc: b, subnet_ids: [pb]}}
  att-c: {{transit_gateway: tgw, vpc: c, subnet_ids: [pc]}}
{tables}
subnets:
  pa: {{vpc: a, cidr: 10.10.1.0/24, az: a, route_table: ra}}
  pa2: {{vpc: a, cidr: 10.10.2.0/24, az: c, route_table: ra}}
  pb: {{vpc: b, cidr: 10.20.1.0/24, az: a, route_table: rb}}
  pc: {{vpc: c, cidr: 10.30.1.0/24, az: a, route_table: rc}}
route_tables:
  ra:
    vpc: a
    routes:
{a_routes}
  rb:
    vpc: b
    routes:
      - {{destination: 10.0.0.0/8, transit_gateway: tgw}}
  rc:
    vpc: c
    routes:
      - {{destination: 10.0.0.0/8, transit_gateway: tgw}}
security_groups:
  open-a:
    vpc: a
    ingress: [{{protocol: all, cidr: 10.0.0.0/8}}]
  open-b:
    vpc: b
    ingress: [{{protocol: all, cidr: 10.0.0.0/8}}]
  open-c:
    vpc: c
    ingress: [{{protocol: all, cidr: 10.0.0.0/8}}]
instances:
  ia: {{subnet: pa, private_ip: 10.10.1.10, security_groups: [open-a], services: [http]}}
  ia2: {{subnet: pa2, private_ip: 10.10.2.10, security_groups: [open-a], services: [http]}}
  ib: {{subnet: pb, private_ip: 10.20.1.10, security_groups: [open-b], services: [http]}}
  ic: {{subnet: pc, private_ip: 10.30.1.10, security_groups: [open-c], services: [http]}}
"""
A_TO_TGW = "      - {destination: 10.0.0.0/8, transit_gateway: tgw}"
# Default association and propagation off: only what the tables below say.
MANUAL = "default_route_table_association: false, default_route_table_propagation: false"


def _scenario(tgw: str = "", tables: str = "", a_routes: str = A_TO_TGW) -> str:
    return BASE.format(tgw=tgw, tables=tables, a_routes=a_routes)


def _table(associations: str, propagations: str = "", routes: str = "") -> str:
    out = (
        "transit_gateway_route_tables:\n  rt:\n    transit_gateway: tgw\n"
        f"    associations: [{associations}]\n    propagations: [{propagations}]\n"
    )
    return out + (f"    routes:\n{routes}\n" if routes else "")


def _reason(r: object) -> tuple[str, str, str | None, str]:
    reason = getattr(r, "reason", None)
    assert reason is not None, r
    return (reason.code, reason.component, reason.rule, reason.leg)


def test_default_association_and_propagation_connect_every_attached_vpc() -> None:
    """18.1, 18.4: with the defaults left enabled, every attachment is associated with the
    gateway's default route table and propagates its CIDR there: the three VPCs reach one
    another through the gateway, which A sees as a hop of its own."""
    with running_text(_scenario()) as s:
        for src, dst in (("ia", "10.20.1.10"), ("ib", "10.30.1.10"), ("ic", "10.10.1.10")):
            r = s.probe(src, dst, tcp=80)
            assert r.result == "reachable", r
            assert r.seen_source == str(s.model.instances[src].private_ip)
            assert "transit_gateway:tgw" in r.hops, r.hops
        assert s.probe("ia", "10.30.1.10", icmp=True).result == "reachable"


def test_two_vpcs_talk_only_when_the_route_table_says_so() -> None:
    """18.3, 18.5: with the defaults off, both attachments associated with one table that
    has no propagation: no route (TGW_RTB_CANNOT_ROUTE, on the request). A propagation of
    b only: the request arrives and the reply finds no route back to a. Propagations of
    both, or static routes to both attachments: both ways."""
    with running_text(_scenario(MANUAL, _table("att-a, att-b"))) as s:
        r = s.probe("ia", "10.20.1.10", tcp=80)
        assert r.result == "blocked"
        assert _reason(r) == (
            "TGW_RTB_CANNOT_ROUTE",
            "transit_gateway_route_table:rt",
            None,
            "request",
        )
    with running_text(_scenario(MANUAL, _table("att-a, att-b", "att-b"))) as s:
        r = s.probe("ia", "10.20.1.10", tcp=80)
        assert r.result == "blocked"
        assert _reason(r) == (
            "TGW_RTB_CANNOT_ROUTE",
            "transit_gateway_route_table:rt",
            None,
            "reply",
        )
    with running_text(_scenario(MANUAL, _table("att-a, att-b", "att-a, att-b"))) as s:
        assert s.probe("ia", "10.20.1.10", tcp=80).result == "reachable"
        assert s.probe("ib", "10.10.1.10", tcp=80).result == "reachable"
    static = (
        "      - {destination_cidr_block: 10.20.0.0/16, transit_gateway_attachment_id: att-b}\n"
        "      - {destination_cidr_block: 10.10.0.0/16, transit_gateway_attachment_id: att-a}"
    )
    with running_text(_scenario(MANUAL, _table("att-a, att-b", routes=static))) as s:
        assert s.probe("ia", "10.20.1.10", tcp=80).result == "reachable"


def test_transitive_through_the_gateway_unlike_peering() -> None:
    """18.1 (unlike 1.10): a and c are never peered or routed to each other directly; the
    gateway's one table carries a -> c and c -> a, as it carries a -> b."""
    tables = _table("att-a, att-b, att-c", "att-a, att-b, att-c")
    with running_text(_scenario(MANUAL, tables)) as s:
        for dst in ("10.20.1.10", "10.30.1.10"):
            assert s.probe("ia", dst, tcp=80).result == "reachable"
        assert s.probe("ic", "10.10.1.10", tcp=80).result == "reachable"


def test_a_blackhole_route_drops_with_its_reason() -> None:
    """18.5: a static blackhole route for c's CIDR in the default table drops with
    TGW_RTB_BAD_STATE_ROUTE naming the route; a blackhole for all of 10.0.0.0/8 does not
    take b's traffic, since b's propagated /16 is the longer prefix."""
    tables = (
        "transit_gateway_route_tables:\n  rt:\n    transit_gateway: tgw\n"
        "    default_association_route_table: true\n    default_propagation_route_table: true\n"
        "    routes:\n      - {destination_cidr_block: 10.30.0.0/16, blackhole: true}\n"
        "      - {destination_cidr_block: 10.0.0.0/8, blackhole: true}\n"
    )
    with running_text(_scenario(tables=tables)) as s:
        r = s.probe("ia", "10.30.1.10", tcp=80)
        assert r.result == "blocked"
        assert _reason(r) == (
            "TGW_RTB_BAD_STATE_ROUTE",
            "transit_gateway_route_table:rt",
            "10.30.0.0/16",
            "request",
        )
        assert s.probe("ia", "10.20.1.10", tcp=80).result == "reachable"


def test_a_vpc_route_table_without_a_route_to_the_gateway_has_no_route() -> None:
    """4.5, 18.8: a's route table has no route to the gateway: the packet dies in a's
    router with NO_ROUTE_TO_DESTINATION (the VPCs are attached to one gateway, so not
    DISCONNECTED_VPCS); b's request to a crosses the gateway and a's reply has no way back."""
    with running_text(_scenario(a_routes="")) as s:
        r = s.probe("ia", "10.20.1.10", tcp=80)
        assert r.result == "blocked"
        assert _reason(r) == ("NO_ROUTE_TO_DESTINATION", "route_table:ra", None, "request")
        r = s.probe("ib", "10.10.1.10", tcp=80)
        assert r.result == "blocked"
        assert _reason(r) == ("NO_ROUTE_TO_DESTINATION", "route_table:ra", None, "reply")


def test_an_attachment_without_a_route_table_is_not_routed() -> None:
    """18.3: with default association off and a's attachment in no table's associations,
    what a sends is dropped at the gateway as TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION."""
    with running_text(_scenario(MANUAL, _table("att-b", "att-a, att-b"))) as s:
        r = s.probe("ia", "10.20.1.10", tcp=80)
        assert r.result == "blocked"
        assert _reason(r)[:2] == (
            "TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION",
            "transit_gateway_attachment:att-a",
        )


def test_a_zone_without_an_attachment_subnet_cannot_reach_the_gateway() -> None:
    """18.2: a's attachment has a subnet in zone a only; ia2 in zone c routes to the
    gateway like ia, but its traffic is dropped (TGW_ROUTE_AZ_RESTRICTION)."""
    with running_text(_scenario()) as s:
        assert s.probe("ia", "10.20.1.10", tcp=80).result == "reachable"
        r = s.probe("ia2", "10.20.1.10", tcp=80)
        assert r.result == "blocked"
        assert _reason(r)[:2] == ("TGW_ROUTE_AZ_RESTRICTION", "transit_gateway_attachment:att-a")


def test_shipped_scenario_isolated_spokes_shared_services_blackhole() -> None:
    """18.1, 18.3-18.5: every expectation of scenarios/book/transit-gateway.yaml holds on
    real packets."""
    with running(SHIPPED) as s:
        outcomes = s.expectations()
        assert outcomes and all(o.ok for o in outcomes), [o.title + o.why for o in outcomes]


def test_cross_check_agrees_with_the_static_walk() -> None:
    """13.1, 18.1-18.9: `netemu test --cross-check` finds no disagreement between the kernel and
    the model on the shipped transit gateway scenario."""
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


def test_enabling_a_propagation_live_through_apply() -> None:
    """18.5: `netemu apply` enables the missing propagation of a; the reply that found no
    route back now does, at once."""
    before = _scenario(MANUAL, _table("att-a, att-b", "att-b"))
    with live(before) as s:
        assert Running(s.model).probe("ia", "10.20.1.10", tcp=80).result == "blocked"
        changes = s.apply(_scenario(MANUAL, _table("att-a, att-b", "att-b, att-a")))
        texts = [c.text for c in changes.changes]
        assert "enable propagation of att-a to tgw route table rt" in texts, texts
        assert Running(s.model).probe("ia", "10.20.1.10", tcp=80).result == "reachable"


def test_jumbo_frames_learn_the_gateways_8500_mtu() -> None:
    """18.9, 5.6, 7.19: instances send 9001-byte frames; across the gateway the path MTU is
    8500, learnt from ICMP "fragmentation needed": a 300 kB download completes when the
    sender's group admits ICMP, and hangs (the sender's group refuses the frag-needed)
    when it admits only TCP."""
    download = "expect:\n  - {from: ia, to: ib, tcp: 9000, size: 300000, result: reachable}\n"
    with running_text(_scenario() + download) as s:
        [outcome] = s.expectations()
        assert outcome.ok, outcome.why
    tcp_only = _scenario().replace(
        "  open-b:\n    vpc: b\n    ingress: [{protocol: all, cidr: 10.0.0.0/8}]",
        "  open-b:\n    vpc: b\n    ingress: [{protocol: tcp, ports: 0-65535, cidr: 10.0.0.0/8}]",
    )
    with running_text(tcp_only + download) as s:
        [outcome] = s.expectations()
        assert not outcome.ok
        reason = outcome.result.reason
        assert reason is not None and reason.code == "ENI_SG_RULES_MISMATCH", outcome.why
