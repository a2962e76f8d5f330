"""Validation of VPC peering connections (ref 1.10-1.16) and elastic IP objects (9.3, 9.4,
9.13): each refusal names the place in the file and the AWS rule."""

from __future__ import annotations

from netemu.model import load_model_text
from tests.unit.problems import at, one

PEERED = """
vpcs:
  a: {cidr: 10.0.0.0/16}
  b: {cidr: 10.1.0.0/16}
  c: {cidr: 10.2.0.0/16}
vpc_peering_connections:
  ab: {requester: a, accepter: b}
"""


def test_overlapping_vpcs_cannot_be_peered() -> None:
    """1.11"""
    p = one(PEERED.replace("c: {cidr: 10.2.0.0/16}", "c: {cidr: 10.0.128.0/17}")
            + "  ac: {requester: a, accepter: c}\n")  # fmt: skip
    assert at(p) == "7:32" and "overlaps" in p.message and "ref 1.11" in p.message


def test_two_vpcs_have_at_most_one_connection_and_never_with_themselves() -> None:
    """1.10, 1.11"""
    p = one(PEERED + "  ba: {requester: b, accepter: a}\n")
    assert at(p) == "7:3" and "already peered by 'ab'" in p.message
    p = one(PEERED + "  aa: {requester: a, accepter: a}\n")
    assert "with itself" in p.message and "ref 1.10" in p.message


def test_a_route_may_only_target_a_connection_of_its_own_vpc() -> None:
    """1.10"""
    text = PEERED + (
        "route_tables:\n  rc:\n    vpc: c\n    routes:\n"
        "      - {destination: 10.1.0.0/16, vpc_peering_connection: ab}\n"
    )
    p = one(text)
    assert at(p) == "11:60" and "not of VPC 'c'" in p.message


def test_unknown_status_and_unknown_vpc_are_refused() -> None:
    p = one(PEERED.replace("accepter: b}", "accepter: b, status: accepted}"))
    assert "pending-acceptance" in p.message and "ref 1.14" in p.message
    p = one(PEERED.replace("accepter: b}", "accepter: bb}"))
    assert "unknown VPC 'bb'" in p.message


def test_peer_groups_only_across_an_active_connection() -> None:
    """1.16, 7.6"""
    groups = (
        "security_groups:\n  ga: {vpc: a}\n  gc: {vpc: c}\n  gb:\n    vpc: b\n    ingress:\n"
        "      - {protocol: tcp, port: 22, security_group: ga}\n"
    )
    model, _ = load_model_text(PEERED + groups)
    [rule] = model.group("b", "gb").ingress  # type: ignore[union-attr]
    assert rule.security_group == model.group("a", "ga").id  # type: ignore[union-attr]
    p = one(PEERED + groups.replace("security_group: ga", "security_group: gc"))
    assert "of VPC 'c', not of 'b'" in p.message


EIPS = """
vpcs:
  main: {cidr: 10.0.0.0/16}
subnets:
  pub: {vpc: main, cidr: 10.0.0.0/24, public_ip_on_launch: true}
elastic_ips:
  one: {address: 198.51.100.5, instance: web}
  two: {}
instances:
  web: {subnet: pub}
  api: {subnet: pub}
"""


def test_an_associated_elastic_ip_replaces_the_auto_public_ip() -> None:
    """9.3, 9.13"""
    model, _ = load_model_text(EIPS)
    web = model.instances["web"]
    assert str(web.public_ip) == "198.51.100.5" and web.eni.elastic_ip
    assert model.elastic_ips["one"].instance == "web"
    assert model.elastic_ips["two"].instance is None  # allocated from the pool
    assert model.elastic_ips["two"].address in model.public_pool
    assert model.elastic_ips["two"].address != model.instances["api"].public_ip


def test_elastic_ip_refusals() -> None:
    """9.4, 9.13"""
    p = one(EIPS.replace("  api: {subnet: pub}", "  api: {subnet: pub, elastic_ip: one}"))
    assert "already associated with instance 'web'" in p.message and at(p) == "10:34"
    p = one(EIPS.replace("instance: web}", "instance: web, network_interface: eni-1}"))
    assert "names both" in p.message
    p = one(EIPS.replace("two: {}", "two: {address: 198.51.100.5}"))
    assert "already used by 'web'" in p.message and "ref 9.4" in p.message
    p = one(EIPS.replace("  web: {subnet: pub}", "  web: {subnet: pub, elastic_ip: auto}"))
    assert "has its own elastic_ip" in p.message


# -- secondary VPC CIDRs (ref 1.4, 1.5, 1.8) ------------------------------------------------


def _vpc(primary: str, *more: str) -> str:
    return f"vpcs:\n  v: {{cidr: {primary}, cidrs: [{', '.join(more)}]}}\n"


def test_secondary_blocks_the_primary_range_allows() -> None:
    """1.5: next to a 10/8 primary, another 10/8 block, 100.64.0.0/10 and public ranges."""
    model, _ = load_model_text(_vpc("10.1.0.0/16", "10.2.0.0/16", "100.64.0.0/16", "8.8.0.0/24"))
    assert [str(c) for c in model.vpcs["v"].cidrs] == [
        "10.1.0.0/16",
        "10.2.0.0/16",
        "100.64.0.0/16",
        "8.8.0.0/24",
    ]
    [local, *_] = model.route_tables["v-main"].routes
    assert [str(r.destination) for r in model.route_tables["v-main"].routes] == [
        str(c) for c in model.vpcs["v"].cidrs
    ]  # one local route per block (1.4)
    assert local.target_kind == "local"


def test_secondary_blocks_the_primary_range_refuses() -> None:
    """1.5, 1.4, 1.8"""
    cases = {
        ("10.1.0.0/16", "192.168.0.0/16"): "cannot add a block of 192.168.0.0/16",
        ("172.20.0.0/16", "10.5.0.0/16"): "cannot add a block of 10.0.0.0/8",
        ("172.20.0.0/16", "172.31.0.0/16"): "cannot add a block of 172.31.0.0/16",
        ("10.0.0.0/16", "10.0.0.0/17"): "overlaps its block 10.0.0.0/16",
        ("10.0.0.0/16", "198.19.0.0/16"): "198.19.0.0/16 cannot be added",
        ("8.8.0.0/16", "10.9.0.0/16"): "a public range cannot add",
        ("10.1.0.0/16", "10.2.0.0/8"): "must be between /16 and /28",
    }
    for (primary, block), words in cases.items():
        p = one(_vpc(primary, block))
        assert words in p.message, p.message
        assert p.pos is not None and p.pos.line == 2 and p.pos.col > 25  # at the block itself
    p = one(_vpc("10.0.0.0/16", *(f"10.{n}.0.0/16" for n in range(1, 6))))
    assert "a block too many" in p.message and "ref 1.8" in p.message


def test_subnets_and_peering_see_every_block() -> None:
    """1.4 (a subnet in a secondary block), 1.11 (overlap with any block refuses peering)."""
    text = _vpc("10.1.0.0/16", "100.64.0.0/16") + "subnets:\n  s: {vpc: v, cidr: 100.64.3.0/24}\n"
    model, _ = load_model_text(text)
    assert str(model.subnets["s"].cidr) == "100.64.3.0/24"
    peered = (
        _vpc("10.1.0.0/16", "100.64.0.0/16")
        + "  w: {cidr: 100.64.128.0/17}\n"
        + "vpc_peering_connections:\n  vw: {requester: v, accepter: w}\n"
    )
    p = one(peered)
    assert "100.64.0.0/16 overlaps VPC 'w' 100.64.128.0/17" in p.message
