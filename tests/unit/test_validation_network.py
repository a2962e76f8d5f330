"""VPC, default VPC, internet gateway and subnet rules (reference sections 1, 2, 3, 5)."""

from __future__ import annotations

import pytest

from netemu.model import load_model_text
from tests.unit.problems import at as _at
from tests.unit.problems import one as _one

# -- VPCs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cidr", ["10.0.0.0/15", "10.0.0.0/29"])
def test_vpc_cidr_outside_16_to_28_is_rejected(cidr: str) -> None:
    """A VPC CIDR is /16 to /28 (ref 1.1)."""
    p = _one(f"""
        vpcs:
          main: {{cidr: {cidr}}}
    """)
    assert _at(p) == "2:16"
    assert "must be between /16 and /28" in p.message and "ref 1.1" in p.message


def test_vpc_cidr_with_host_bits_is_canonicalised_with_a_warning() -> None:
    """AWS zeroes host bits (`100.68.0.18/18` -> `100.68.0.0/18`, ref 1.2): a warning
    naming the canonical form, and the model holds the canonical CIDR."""
    model, warnings = load_model_text("vpcs:\n  main: {cidr: 100.68.0.18/18}\n")
    assert [(w.severity, _at(w)) for w in warnings] == [("warning", "2:16")]
    assert "host bits set; taken as 100.68.0.0/18" in warnings[0].message
    assert "ref 1.2" in warnings[0].message
    assert str(model.vpcs["main"].cidr) == "100.68.0.0/18"


def test_subnet_cidr_with_host_bits_is_canonicalised() -> None:
    """The same canonicalisation applies to subnets (ref 1.2)."""
    model, warnings = load_model_text(
        "vpcs:\n  main: {cidr: 10.0.0.0/16}\nsubnets:\n  a: {vpc: main, cidr: 10.0.1.7/24}\n"
    )
    assert ["host bits" in w.message for w in warnings] == [True]
    assert str(model.subnets["a"].cidr) == "10.0.1.0/24"


def test_link_local_vpc_cidr_is_refused() -> None:
    """169.254.0.0/16 may never be used (ref 1.3)."""
    p = _one("""
        vpcs:
          main: {cidr: 169.254.0.0/16}
    """)
    assert _at(p) == "2:16"
    assert "link-local" in p.message and "ref 1.3" in p.message


def test_docker_range_vpc_cidr_only_warns() -> None:
    """AWS advises against 172.17.0.0/16 (ref 1.3): a warning, not an error."""
    _, warnings = load_model_text("vpcs:\n  main: {cidr: 172.17.0.0/16}\n")
    assert [(w.severity, _at(w)) for w in warnings] == [("warning", "2:16")]
    assert "172.17.0.0/16" in warnings[0].message


def test_sixth_vpc_exceeds_the_quota() -> None:
    """Default quota: 5 VPCs per Region (ref 1.8)."""
    vpcs = "".join(f"  v{i}: {{cidr: 10.{i}.0.0/16}}\n" for i in range(6))
    p = _one("vpcs:\n" + vpcs)
    assert _at(p) == "7:3"
    assert "VPC 'v5' is a VPC too many" in p.message and "ref 1.8" in p.message


def test_overlapping_vpc_cidrs_are_allowed() -> None:
    """Different VPCs may use the same CIDR; they are isolated (ref 1.9)."""
    model, warnings = load_model_text("vpcs:\n  a: {cidr: 10.0.0.0/16}\n  b: {cidr: 10.0.0.0/16}\n")
    assert len(model.vpcs) == 2 and warnings == []


def test_vpc_without_cidr_is_reported_at_the_vpc() -> None:
    """Missing required keys are reported at the object that lacks them."""
    p = _one("""
        vpcs:
          main: {dns_hostnames: true}
    """)
    assert _at(p) == "2:3"
    assert "VPC 'main' needs the key 'cidr'" in p.message


def test_scenario_without_vpcs_is_rejected() -> None:
    """A scenario emulates at least one VPC (contract section 1)."""
    p = _one("name: empty\n")
    assert _at(p) == "1:1"
    assert "needs a 'vpcs' mapping" in p.message


def test_second_default_vpc_is_rejected() -> None:
    """One default VPC per Region (ref 3.1)."""
    p = _one("""
        vpcs:
          a: {default: true}
          b: {default: true}
    """)
    assert _at(p) == "3:16"
    assert "second default VPC; 'a' already is" in p.message and "ref 3.1" in p.message


def test_default_vpc_with_another_cidr_is_rejected() -> None:
    """A default VPC is always 172.31.0.0/16 (ref 3.2)."""
    p = _one("""
        vpcs:
          a: {default: true, cidr: 10.0.0.0/16}
    """)
    assert _at(p) == "2:28"
    assert "ref 3.2" in p.message


def test_default_vpc_zone_listed_twice_is_rejected() -> None:
    """At most one default subnet per Availability Zone (ref 3.5)."""
    p = _one("""
        vpcs:
          a: {default: true, azs: [a, b, a]}
    """)
    assert _at(p) == "2:34"
    assert "lists zone us-east-1a twice" in p.message and "ref 3.5" in p.message


def test_azs_only_apply_to_a_default_vpc() -> None:
    """Default subnets exist only in a default VPC (ref 3.5)."""
    p = _one("""
        vpcs:
          a: {cidr: 10.0.0.0/16, azs: [a]}
    """)
    assert _at(p) == "2:26"
    assert "'azs' only applies to a default VPC" in p.message


# -- internet gateways --------------------------------------------------------------------


def test_second_internet_gateway_in_a_vpc_is_rejected() -> None:
    """One internet gateway per VPC (ref 5.1)."""
    p = _one("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        internet_gateways:
          one: {vpc: main}
          two: {vpc: main}
    """)
    assert _at(p) == "5:14"
    assert "already has internet gateway 'one'" in p.message and "ref 5.1" in p.message


def test_default_vpc_already_has_its_internet_gateway() -> None:
    """The default VPC comes with an attached IGW (ref 3.2), so another one is a second."""
    p = _one("""
        vpcs:
          d: {default: true}
        internet_gateways:
          extra: {vpc: d}
    """)
    assert _at(p) == "4:16"
    assert "already has internet gateway 'd-igw'" in p.message


# -- subnets ------------------------------------------------------------------------------

SUBNET_BASE = """
vpcs:
  main: {cidr: 172.30.0.0/16}
subnets:
""".lstrip("\n")  # the subnet is on line 4


def test_subnet_outside_vpc_is_rejected() -> None:
    """A subnet's CIDR lies within its VPC's CIDR (ref 2.1)."""
    p = _one(SUBNET_BASE + "  private: {vpc: main, cidr: 172.31.0.0/24}\n")
    assert _at(p) == "4:30"
    assert p.message == (
        "subnet 'private' CIDR 172.31.0.0/24 is not inside VPC 'main' 172.30.0.0/16 "
        "(AWS: a subnet's CIDR must lie within its VPC's CIDR, ref 2.1)"
    )


def test_overlapping_subnets_conflict() -> None:
    """Subnets of one VPC must not overlap: InvalidSubnet.Conflict (ref 2.1)."""
    p = _one(
        SUBNET_BASE
        + "  a: {vpc: main, cidr: 172.30.0.0/23}\n"
        + "  b: {vpc: main, cidr: 172.30.1.0/24}\n"
    )
    assert _at(p) == "5:24"
    assert "conflicts with subnet 'a' 172.30.0.0/23" in p.message
    assert "InvalidSubnet.Conflict" in p.message and "ref 2.1" in p.message


def test_subnets_of_different_vpcs_may_overlap() -> None:
    """The no-overlap rule holds within one VPC (ref 2.1); VPCs are isolated (ref 1.9)."""
    model, _ = load_model_text(
        "vpcs:\n  a: {cidr: 10.0.0.0/16}\n  b: {cidr: 10.0.0.0/16}\n"
        "subnets:\n  x: {vpc: a, cidr: 10.0.0.0/24}\n  y: {vpc: b, cidr: 10.0.0.0/24}\n"
    )
    assert set(model.subnets) == {"x", "y"}


def test_subnet_cidr_larger_than_16_is_rejected() -> None:
    """A subnet CIDR is /16 to /28 (ref 2.1)."""
    p = _one(SUBNET_BASE + "  a: {vpc: main, cidr: 172.30.0.0/29}\n")
    assert _at(p) == "4:24"
    assert "between /16 and /28" in p.message and "ref 2.1" in p.message


def test_subnet_with_unknown_vpc_gets_a_hint_and_no_cascade() -> None:
    """Unknown references get a did-you-mean hint; no 'not inside VPC' follows."""
    p = _one(SUBNET_BASE + "  a: {vpc: mian, cidr: 10.9.0.0/24}\n")
    assert _at(p) == "4:12"
    assert "unknown VPC 'mian'; did you mean 'main'?" in p.message


def test_subnet_zone_of_another_region_is_rejected() -> None:
    """A subnet lives in one zone of the scenario's Region (ref 2.2)."""
    p = _one(SUBNET_BASE + "  a: {vpc: main, cidr: 172.30.0.0/24, az: eu-west-1a}\n")
    assert _at(p) == "4:43"
    assert "not an Availability Zone of us-east-1" in p.message and "ref 2.2" in p.message


def test_subnet_route_table_of_another_vpc_is_rejected() -> None:
    """A subnet associates with a route table of its own VPC (ref 2.8)."""
    p = _one("""
        vpcs:
          a: {cidr: 10.0.0.0/16}
          b: {cidr: 10.1.0.0/16}
        route_tables:
          rb: {vpc: b}
        subnets:
          s: {vpc: a, cidr: 10.0.0.0/24, route_table: rb}
    """)
    assert _at(p) == "7:47"
    assert "uses route table 'rb' of VPC 'b'" in p.message and "ref 2.8" in p.message


def test_subnet_network_acl_of_another_vpc_is_rejected() -> None:
    """A subnet associates with a network ACL of its own VPC (ref 2.8)."""
    p = _one("""
        vpcs:
          a: {cidr: 10.0.0.0/16}
          b: {cidr: 10.1.0.0/16}
        subnets:
          s: {vpc: a, cidr: 10.0.0.0/24, network_acl: b-default}
    """)
    assert _at(p) == "5:47"
    assert "uses network ACL 'b-default' of VPC 'b'" in p.message


def test_subnet_named_like_a_default_subnet_is_rejected() -> None:
    """The default VPC shortcut names its subnets `default-<zone>` (ref 3.2)."""
    p = _one("""
        vpcs:
          d: {default: true, azs: [a]}
        subnets:
          default-a: {vpc: d, cidr: 172.31.128.0/24}
    """)
    assert _at(p) == "4:3"
    assert "taken by a subnet of the default VPC" in p.message
