"""Instances, NAT gateways, private and public addresses, the internet (ref 2.3, 5, 6, 9)."""

from __future__ import annotations

import textwrap

import pytest

from netemu.errors import Problem, ScenarioInvalid
from netemu.model import load_model_text
from tests.unit.problems import at as _at
from tests.unit.problems import errors as _errors

BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
internet_gateways:
  igw: {vpc: main}
subnets:
  pub: {vpc: main, cidr: 10.0.0.0/24, route_table: pub}
  tiny: {vpc: main, cidr: 10.0.1.0/28}
route_tables:
  pub: {vpc: main, routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]}
""".lstrip("\n")  # 9 lines; what a test appends starts on line 10


def _bad(extra: str) -> list[Problem]:
    return _errors(BASE + textwrap.dedent(extra).lstrip("\n"))


def _ok(extra: str) -> tuple[object, list[Problem]]:
    return load_model_text(BASE + textwrap.dedent(extra).lstrip("\n"))


# -- private addresses --------------------------------------------------------------------


def test_private_ip_outside_its_subnet_is_rejected() -> None:
    """A private IP comes from the subnet's range (ref 9.1)."""
    [p] = _bad("""
        instances:
          web: {subnet: pub, private_ip: 10.0.1.5}
    """)
    assert _at(p) == "11:34"
    assert "private_ip 10.0.1.5 is not inside subnet 'pub' 10.0.0.0/24" in p.message
    assert "ref 9.1" in p.message


@pytest.mark.parametrize("last_octet", [0, 1, 2, 3, 255])
def test_reserved_private_ip_is_rejected(last_octet: int) -> None:
    """Base, +1 (router), +2 (DNS), +3 and the last address are reserved (ref 2.3)."""
    [p] = _bad(f"""
        instances:
          web: {{subnet: pub, private_ip: 10.0.0.{last_octet}}}
    """)
    assert _at(p) == "11:34"
    assert f"10.0.0.{last_octet} is reserved in subnet 'pub'" in p.message
    assert "ref 2.3" in p.message


def test_private_ip_used_twice_is_rejected_also_against_nat_gateways() -> None:
    """An address belongs to one ENI; NAT gateway ENIs count (ref 9.1, 6.5)."""
    errors = _bad("""
        instances:
          web: {subnet: pub, private_ip: 10.0.0.10}
          db: {subnet: pub, private_ip: 10.0.0.10}
        nat_gateways:
          nat: {subnet: pub, private_ip: 10.0.0.10}
    """)
    assert [_at(p) for p in errors] == ["12:33", "14:34"]
    assert "already used by instance 'web'" in errors[0].message
    assert "NAT gateway 'nat' private_ip 10.0.0.10 is already used" in errors[1].message


def test_full_subnet_is_reported_at_the_instance_that_does_not_fit() -> None:
    """A /28 offers 11 addresses, five being reserved (ref 2.3)."""
    instances = "".join(f"  i{n}: {{subnet: tiny}}\n" for n in range(12))
    [p] = _bad("instances:\n" + instances)
    assert _at(p) == "22:3"
    assert "subnet 'tiny' 10.0.1.0/28 has no free address left for instance 'i11'" in p.message
    assert "a /28 offers 11 addresses" in p.message and "ref 2.3" in p.message


def test_instance_in_unknown_subnet_gets_a_hint() -> None:
    """An instance launches into an existing subnet (ref 9.1)."""
    [p] = _bad("""
        instances:
          web: {subnet: pubb}
    """)
    assert _at(p) == "11:17"
    assert "unknown subnet 'pubb'; did you mean 'pub'?" in p.message


def test_instance_state_must_be_running_or_stopped() -> None:
    """netemu models the running and stopped states (ref 9.10)."""
    [p] = _bad("""
        instances:
          web: {subnet: pub, state: paused}
    """)
    assert _at(p) == "11:29"
    assert "state 'paused' must be running or stopped" in p.message


@pytest.mark.parametrize("service", ["ftp", "tcp:0", "tcp:70000", "sctp:9"])
def test_unknown_service_is_rejected(service: str) -> None:
    [p] = _bad(f"""
        instances:
          web: {{subnet: pub, services: [ssh, "{service}"]}}
    """)
    assert _at(p) == "11:38"
    assert f"service '{service}' is not ssh, http" in p.message


def test_service_listed_twice_is_rejected() -> None:
    """ssh is tcp 22, so "tcp:22" repeats it."""
    [p] = _bad("""
        instances:
          web: {subnet: pub, services: [ssh, "tcp:22"]}
    """)
    assert _at(p) == "11:38"
    assert "lists tcp port 22 twice" in p.message


# -- NAT gateways -------------------------------------------------------------------------


def test_nat_gateway_in_vpc_without_internet_gateway_is_rejected() -> None:
    """A public NAT gateway needs an IGW in its VPC (ref 6.1, 6.2)."""
    errors = _errors("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        subnets:
          pub: {vpc: main, cidr: 10.0.0.0/24}
        nat_gateways:
          nat: {subnet: pub}
    """)
    assert [_at(p) for p in errors] == ["6:3"]
    assert "NAT gateway 'nat' is in VPC 'main', which has no internet gateway" in errors[0].message
    assert "ref 6.1, 6.2" in errors[0].message


def test_nat_gateway_subnet_without_route_to_igw_only_warns() -> None:
    """The NAT gateway's own subnet needs 0.0.0.0/0 -> igw (ref 6.6): a warning."""
    _, warnings = _ok("""
        nat_gateways:
          nat: {subnet: tiny}
    """)
    assert [(w.severity, _at(w)) for w in warnings] == [("warning", "11:3")]
    assert "route table 'main-main' has no 0.0.0.0/0 route to internet gateway 'igw'" in (
        warnings[0].message
    )
    assert "ref 6.6" in warnings[0].message


def test_nat_gateway_in_public_subnet_gives_no_warning() -> None:
    _, warnings = _ok("""
        nat_gateways:
          nat: {subnet: pub}
    """)
    assert warnings == []


def test_nat_gateway_named_like_an_instance_is_rejected() -> None:
    """Expectations name instances and NAT gateways alike, so names must differ."""
    [p] = _bad("""
        instances:
          x: {subnet: pub}
        nat_gateways:
          x: {subnet: pub}
    """)
    assert _at(p) == "13:3"
    assert "same name as instance 'x'" in p.message


# -- public addresses ---------------------------------------------------------------------


def test_elastic_ip_used_twice_is_rejected() -> None:
    """An elastic IP is associated with one address at a time (ref 9.4)."""
    [p] = _bad("""
        instances:
          web: {subnet: pub, elastic_ip: 203.0.113.9}
        nat_gateways:
          nat: {subnet: pub, elastic_ip: 203.0.113.9}
    """)
    assert _at(p) == "13:34"
    assert "elastic_ip 203.0.113.9 is already used by instance 'web'" in p.message
    assert "ref 9.4" in p.message


def test_elastic_ip_inside_a_vpc_cidr_is_rejected() -> None:
    """Public addresses are not RFC 1918 ones (ref 5.5)."""
    [p] = _bad("""
        instances:
          web: {subnet: pub, elastic_ip: 10.0.5.5}
    """)
    assert _at(p) == "11:34"
    assert "is not a public address" in p.message and "ref 5.5" in p.message


def test_elastic_ip_inside_a_public_vpc_cidr_is_rejected() -> None:
    """Public addresses live outside every VPC; the IGW maps them 1:1 (ref 5.3)."""
    [p] = _errors("""
        vpcs:
          main: {cidr: 100.0.0.0/16}
        internet_gateways:
          igw: {vpc: main}
        subnets:
          pub: {vpc: main, cidr: 100.0.0.0/24}
        instances:
          web: {subnet: pub, elastic_ip: 100.0.200.1}
    """)
    assert _at(p) == "8:34"
    assert "lies inside VPC 'main' 100.0.0.0/16" in p.message


def test_elastic_ip_equal_to_an_internet_host_is_rejected() -> None:
    """An address has one owner on the emulated internet (ref 9.4)."""
    [p] = _bad("""
        instances:
          web: {subnet: pub, elastic_ip: 198.51.100.10}
    """)
    assert _at(p) == "11:34"
    assert "is the address of internet host 'internet'" in p.message


def test_six_elastic_ips_exceed_the_default_quota_as_a_warning() -> None:
    """Default quota: 5 elastic IPs per Region (ref 1.8), adjustable: a warning."""
    instances = "".join(f"  i{n}: {{subnet: pub, elastic_ip: auto}}\n" for n in range(6))
    _, warnings = _ok("instances:\n" + instances)
    assert [(w.severity, _at(w)) for w in warnings] == [("warning", "16:33")]


def test_exhausted_public_pool_is_rejected() -> None:
    """Auto public IPs come from internet.public_pool (ref 9.3); a /30 holds two."""
    [p] = _bad("""
        instances:
          a: {subnet: pub, public_ip: true}
          b: {subnet: pub, public_ip: true}
          c: {subnet: pub, public_ip: true}
        internet:
          public_pool: 203.0.113.0/30
    """)
    assert _at(p) == "13:3"
    assert "public_pool 203.0.113.0/30 has no free address left for instance 'c'" in p.message


def test_public_pool_overlapping_a_vpc_is_rejected() -> None:
    """Public addresses are neither private (ref 5.5) nor inside a VPC (ref 5.3)."""
    errors = _bad("""
        internet:
          public_pool: 10.0.0.0/24
    """)
    assert [_at(p) for p in errors] == ["11:16", "11:16"]
    assert "is not a public range" in errors[0].message
    assert "overlaps VPC 'main' 10.0.0.0/16" in errors[1].message


def test_public_pool_overlapping_a_public_vpc_cidr_is_rejected() -> None:
    """A VPC may use a public CIDR (ref 1.3) but then not the pool's (ref 5.3)."""
    [p] = _errors("""
        vpcs:
          main: {cidr: 203.0.0.0/16}
    """)
    assert _at(p) == "2:16"
    assert "public_pool 203.0.113.0/24 overlaps VPC 'main' 203.0.0.0/16" in p.message


# -- internet hosts -----------------------------------------------------------------------


def test_internet_host_inside_the_public_pool_is_rejected() -> None:
    """Pool addresses belong to ENIs (contract: internet.public_pool)."""
    [p] = _bad("""
        internet:
          hosts:
            h: {ip: 203.0.113.5}
    """)
    assert _at(p) == "12:13"
    assert "lies inside the public_pool 203.0.113.0/24" in p.message


def test_internet_host_inside_a_vpc_is_rejected() -> None:
    """The internet lies outside every VPC and is not RFC 1918 (ref 1.9, 5.5)."""
    [p] = _bad("""
        internet:
          hosts:
            h: {ip: 10.0.0.50}
    """)
    assert _at(p) == "12:13"
    assert "not a public address" in p.message


def test_two_internet_hosts_with_one_ip_are_rejected() -> None:
    """Each internet host has its own address."""
    [p] = _bad("""
        internet:
          hosts:
            h1: {ip: 198.51.100.7}
            h2: {ip: 198.51.100.7}
    """)
    assert _at(p) == "13:14"
    assert "already the address of internet host 'h1'" in p.message


def test_internet_host_named_like_an_instance_is_rejected() -> None:
    """Expectations refer to hosts and instances by name."""
    [p] = _bad("""
        instances:
          web: {subnet: pub}
        internet:
          hosts:
            web: {ip: 198.51.100.7}
    """)
    assert _at(p) == "14:5"
    assert "internet host 'web' has the same name as instance 'web'" in p.message


def test_instance_named_like_the_default_internet_host_is_rejected() -> None:
    """Without internet.hosts there is a host named `internet` (contract section 1)."""
    [p] = _bad("""
        instances:
          internet: {subnet: pub}
    """)
    assert _at(p) == "11:3"
    assert "name of the default internet host" in p.message


def test_nat_gateway_idle_timeout_is_configurable_and_bounded() -> None:
    """6.12: AWS forgets an idle TCP mapping after 350 s; netemu lets a scenario choose."""
    from netemu.model import load_model_text

    with open("tests/unit/data/webdb.yaml") as f:
        base = f.read()
    model, _ = load_model_text(base)
    assert model.nat_gateways["nat"].idle_timeout == 350
    text = base.replace("elastic_ip: 203.0.113.50}", "elastic_ip: 203.0.113.50, idle_timeout: 120}")
    model, _ = load_model_text(text)
    assert model.nat_gateways["nat"].idle_timeout == 120
    bad = text.replace("idle_timeout: 120", "idle_timeout: 0")
    with pytest.raises(ScenarioInvalid) as caught:
        load_model_text(bad)
    assert "idle_timeout 0 is outside 1..432000" in str(caught.value)
