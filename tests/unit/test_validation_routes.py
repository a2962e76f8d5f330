"""Route table rules: main tables, destinations, targets, quotas (reference section 4)."""

from __future__ import annotations

import pytest

from netemu.errors import Problem
from netemu.model import load_model_text
from tests.unit.problems import at as _at
from tests.unit.problems import errors as _errors
from tests.unit.problems import one as _one

# -- route tables -------------------------------------------------------------------------

ROUTE_BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
  other: {cidr: 10.1.0.0/16}
internet_gateways:
  igw: {vpc: main}
  oigw: {vpc: other}
subnets:
  pub: {vpc: main, cidr: 10.0.0.0/24}
  priv: {vpc: main, cidr: 10.0.1.0/24}
  opub: {vpc: other, cidr: 10.1.0.0/24}
nat_gateways:
  nat: {subnet: pub}
  onat: {subnet: opub}
instances:
  box: {subnet: pub}
  obox: {subnet: opub}
route_tables:
  rt:
    vpc: main
    routes:
""".lstrip("\n")  # the first route is on line 21


def _route(*routes: str) -> list[Problem]:
    return _errors(ROUTE_BASE + "".join(f"      - {r}\n" for r in routes))


def test_two_main_route_tables_in_a_vpc_are_rejected() -> None:
    """A VPC has exactly one main route table (ref 4.1, 4.2)."""
    p = _one("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        route_tables:
          a: {vpc: main, main: true}
          b: {vpc: main, main: true}
    """)
    assert _at(p) == "5:24"
    assert "second main route table of VPC 'main'; 'a' already is" in p.message
    assert "ref 4.1, 4.2" in p.message


def test_table_named_like_the_implicit_main_table_is_rejected() -> None:
    """Every VPC has a main table (ref 4.1); netemu names an implicit one `<vpc>-main`."""
    p = _one("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        route_tables:
          main-main: {vpc: main}
    """)
    assert _at(p) == "4:3"
    assert "taken by the implicit main route table of VPC 'main'" in p.message


def test_route_destination_with_host_bits_is_canonicalised() -> None:
    """Route destinations are canonicalised as AWS does (ref 1.2): a warning, and the
    route holds 8.0.0.0/8."""
    model, warnings = load_model_text(
        ROUTE_BASE + "      - {destination: 8.8.8.8/8, internet_gateway: igw}\n"
    )
    [w] = [w for w in warnings if "host bits" in w.message]
    assert (w.severity, _at(w)) == ("warning", "21:23")
    assert "taken as 8.0.0.0/8" in w.message
    assert [str(r.destination) for r in model.route_tables["rt"].routes][-1] == "8.0.0.0/8"


def test_duplicate_destination_is_route_already_exists() -> None:
    """A second route to the same destination fails with RouteAlreadyExists (ref 4.9)."""
    [p] = _route(
        "{destination: 0.0.0.0/0, internet_gateway: igw}",
        "{destination: 0.0.0.0/0, blackhole: true}",
    )
    assert _at(p) == "22:23"
    assert "repeats destination 0.0.0.0/0 of route 1" in p.message
    assert "RouteAlreadyExists" in p.message and "ref 4.9" in p.message


def test_route_to_the_vpc_cidr_is_rejected() -> None:
    """Every table has the local route of the VPC CIDR (ref 4.4). AWS lets its target be
    replaced by an ENI or a GWLB endpoint, which netemu does not model; the message says
    so instead of claiming AWS forbids it."""
    [p] = _route("{destination: 10.0.0.0/16, instance: box}")
    assert _at(p) == "21:23"
    assert "is the CIDR of VPC 'main'" in p.message
    assert "Gateway Load Balancer endpoint" in p.message and "ref 4.4" in p.message
    assert "cannot be replaced" not in p.message


def test_route_more_specific_than_local_is_rejected() -> None:
    """Inside the VPC CIDR only a whole subnet CIDR to a NAT gateway or ENI (ref 4.6)."""
    [p] = _route("{destination: 10.0.1.0/25, nat_gateway: nat}")
    assert _at(p) == "21:23"
    assert "lies inside VPC 'main' 10.0.0.0/16" in p.message and "ref 4.6" in p.message


def test_route_to_a_whole_subnet_via_internet_gateway_is_rejected() -> None:
    """The more-specific route must target a NAT gateway or network interface (ref 4.6)."""
    [p] = _route("{destination: 10.0.1.0/24, internet_gateway: igw}")
    assert _at(p) == "21:23"
    assert "destination 10.0.1.0/24 lies inside VPC 'main'" in p.message and "ref 4.6" in p.message


def test_route_to_a_whole_subnet_via_nat_or_instance_is_allowed() -> None:
    """Middlebox routing: a whole subnet CIDR to a NAT gateway or ENI is fine (ref 4.6)."""
    text = ROUTE_BASE + "      - {destination: 10.0.1.0/24, instance: box}\n"
    model, _ = load_model_text(text)
    assert model.route_tables["rt"].routes[1].target == "box"


def test_route_into_the_reserved_range_is_rejected() -> None:
    """Routes to 169.254.168.0/22 cannot be created (ref 4.7)."""
    [p] = _route("{destination: 169.254.169.0/24, blackhole: true}")
    assert _at(p) == "21:23"
    assert "ref 4.7" in p.message


def test_wider_route_covering_the_reserved_range_is_allowed() -> None:
    """A wider route may include 169.254.168.0/22 (ref 4.7)."""
    model, _ = load_model_text(
        ROUTE_BASE + "      - {destination: 169.254.0.0/16, blackhole: true}\n"
    )
    assert model.route_tables["rt"].routes[1].target_kind == "blackhole"


@pytest.mark.parametrize(
    "route",
    ["{destination: 1.0.0.0/8}", "{destination: 1.0.0.0/8, instance: box, nat_gateway: nat}"],
)
def test_route_needs_exactly_one_target(route: str) -> None:
    """CreateRoute takes one target (ref 4.8)."""
    [p] = _route(route)
    assert _at(p) == "21:9"
    assert "needs exactly one target" in p.message and "ref 4.8" in p.message


@pytest.mark.parametrize(
    ("target", "label", "where"),
    [
        ("internet_gateway: oigw", "internet gateway 'oigw'", "21:52"),
        ("nat_gateway: onat", "NAT gateway 'onat'", "21:47"),
        ("instance: obox", "instance 'obox'", "21:44"),
    ],
)
def test_route_target_in_another_vpc_is_rejected(target: str, label: str, where: str) -> None:
    """A route targets a gateway or interface of its own VPC (ref 4.8, 1.9)."""
    [p] = _route(f"{{destination: 1.0.0.0/8, {target}}}")
    assert _at(p) == where
    assert f"targets {label} of VPC 'other', not of VPC 'main'" in p.message


def test_route_to_unknown_target_gets_a_hint() -> None:
    """A route target must exist (ref 4.8)."""
    [p] = _route("{destination: 1.0.0.0/8, nat_gateway: nta}")
    assert _at(p) == "21:47"
    assert "unknown NAT gateway 'nta'; did you mean 'nat'?" in p.message


def test_more_than_50_routes_exceed_the_quota() -> None:
    """At most 50 static routes per table (ref 4.15)."""
    routes = [f"{{destination: 1.{i}.0.0/16, blackhole: true}}" for i in range(51)]
    [p] = _route(*routes)
    assert _at(p) == "71:9"
    assert "has 51 routes" in p.message and "ref 4.15" in p.message


def test_blackhole_false_is_rejected() -> None:
    """A blackhole route is written `blackhole: true` (route state blackhole, ref 4.10)."""
    [p] = _route("{destination: 1.0.0.0/8, blackhole: false}")
    assert _at(p) == "21:45"
    assert "blackhole takes only true" in p.message
