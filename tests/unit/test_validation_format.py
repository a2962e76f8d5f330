"""Format rules: unknown keys, names, types, references, and the `expect` list (contract 1, 3)."""

from __future__ import annotations

import pytest

from netemu.errors import Problem
from netemu.model import load_model_text
from tests.unit.problems import at as _at
from tests.unit.problems import errors as _errors

VPC = "vpcs:\n  main: {cidr: 10.0.0.0/16}\n"


def test_unknown_key_gets_a_did_you_mean_hint_and_the_valid_keys() -> None:
    [p] = _errors("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        subnets:
          a: {vpc: main, cidr: 10.0.0.0/24, cidr_block: 10.0.0.0/24}
    """)
    assert _at(p) == "4:37"
    assert "unknown key 'cidr_block' in subnet 'a'; did you mean 'cidr'?" in p.message
    assert (
        "valid keys: assign_ipv6_address_on_creation, az, cidr, default_for_az, enable_dns64, id, ipv6_cidr, ipv6_native, network_acl, public_ip_on_launch, route_table, vpc"
        in p.message
    )


def test_unknown_top_level_key_is_rejected() -> None:
    [p] = _errors(VPC + "subnet: {}\n")
    assert _at(p) == "3:1"
    assert "did you mean 'subnets'?" in p.message


def test_missing_required_key_is_reported_at_the_parent() -> None:
    [p] = _errors(VPC + "subnets:\n  a:\n    cidr: 10.0.0.0/24\n")
    assert _at(p) == "4:3"
    assert "subnet 'a' needs the key 'vpc'" in p.message


def test_unknown_reference_gets_a_hint_against_existing_names() -> None:
    [p] = _errors(VPC + "subnets:\n  a: {vpc: mian, cidr: 10.0.0.0/24}\n")
    assert _at(p) == "4:12"
    assert "unknown VPC 'mian'; did you mean 'main'? (known VPCs: main)" in p.message


@pytest.mark.parametrize("name", ["Web", "web-app-1", "1a"])
def test_scenario_name_must_be_short_lowercase(name: str) -> None:
    """The name prefixes kernel objects: [a-z][a-z0-9-]{0,11}."""
    if name == "web-app-1":
        model, _ = load_model_text(f"name: {name}\n" + VPC)
        assert model.name == name
        return
    [p] = _errors(f"name: {name}\n" + VPC)
    assert _at(p) == "1:7"
    assert "must be a lowercase letter" in p.message


def test_scenario_name_longer_than_12_is_rejected() -> None:
    [p] = _errors("name: abcdefghijklm\n" + VPC)
    assert _at(p) == "1:7"
    assert "name 'abcdefghijklm' must be a lowercase letter then up to 11" in p.message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("scenarios/WebDB.yaml", "webdb"),
        ("/tmp/2-tier_app.yaml", "tier-app"),
        ("a-very-long-scenario-name.yaml", "a-very-long"),
        ("123.yaml", "scenario"),
        ("<test>", "test"),
    ],
)
def test_default_name_comes_from_the_file_stem(path: str, expected: str) -> None:
    model, _ = load_model_text(VPC, path)
    assert model.name == expected


def test_region_must_look_like_a_region() -> None:
    [p] = _errors("region: Tokyo\n" + VPC)
    assert _at(p) == "1:9"
    assert "does not look like us-east-1" in p.message


@pytest.mark.parametrize("name", ["web app", "wéb", "a" * 33, "-web", '"we\\u0007b"'])
def test_object_names_with_odd_characters_are_rejected(name: str) -> None:
    """Object names become parts of kernel names: [A-Za-z0-9][A-Za-z0-9_-]{0,31}."""
    [p] = _errors(f"vpcs:\n  {name}: {{cidr: 10.0.0.0/16}}\n")
    assert _at(p) == "2:3"
    assert "name" in p.message and "is not valid" in p.message
    assert "\x07" not in str(p)  # control characters are escaped in messages


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("vpcs: [main]\n", "1:7", "'vpcs' must be a mapping"),
        ("vpcs:\n  main: {cidr: [10.0.0.0/16]}\n", "2:16", "must be a single value, not a list"),
        ("vpcs:\n  main: {cidr: 10.0.0.0/16, dns_hostnames: 1}\n", "2:44", "true or false"),
        ("vpcs:\n  main: 5\n", "2:9", "must be a mapping of keys to values, not the integer '5'"),
        ("- just\n- a list\n", "1:1", "the scenario must be a mapping"),
        ("42\n", "1:1", "the scenario must be a mapping"),
    ],
)
def test_wrong_types_are_problems_not_exceptions(text: str, where: str, fragment: str) -> None:
    [p] = _errors(text)
    assert _at(p) == where
    assert fragment in p.message


def test_string_where_an_integer_is_expected_is_rejected() -> None:
    [p] = _errors(
        VPC
        + "security_groups:\n"
        + '  g: {vpc: main, ingress: [{protocol: tcp, port: "22", cidr: 0.0.0.0/0}]}\n'
    )
    assert _at(p) == "4:50"
    assert "must be an integer from 0 to 65535, not the string '22'" in p.message


def test_huge_integer_is_a_problem() -> None:
    port = "9" * 5000  # beyond Python's int-from-string limit
    [p] = _errors(
        VPC
        + "security_groups:\n"
        + f"  g: {{vpc: main, ingress: [{{protocol: tcp, port: {port}, cidr: 0.0.0.0/0}}]}}\n"
    )
    assert _at(p) == "4:50"
    assert "is outside 0..65535" in p.message and len(p.message) < 400


def test_empty_scenario_is_rejected() -> None:
    [p] = _errors("# nothing here\n")
    assert _at(p) == "1:1"
    assert "the scenario is empty" in p.message


def test_all_problems_are_reported_at_once() -> None:
    """Three independent mistakes give three problems, in file order."""
    errors = _errors("""
        vpcs:
          main: {cidr: 10.0.0.0/15}
          other: {cidr: 10.1.0.0/16, colour: blue}
        subnets:
          a: {vpc: other, cidr: 10.2.0.0/24}
    """)
    assert [_at(p) for p in errors] == ["2:16", "3:30", "5:25"]


def test_broken_vpc_does_not_cascade_into_its_subnets() -> None:
    """A subnet of a VPC that failed its own checks is not reported again."""
    errors = _errors("""
        vpcs:
          main: {cidr: 10.0.0.0/8}
        subnets:
          a: {vpc: main, cidr: 10.0.0.0/24}
        instances:
          web: {subnet: a}
    """)
    assert [_at(p) for p in errors] == ["2:16"]


# -- expectations -------------------------------------------------------------------------

EXPECT_BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
internet_gateways:
  igw: {vpc: main}
subnets:
  pub: {vpc: main, cidr: 10.0.0.0/24}
instances:
  web: {subnet: pub}
nat_gateways:
  nat: {subnet: pub}
expect:
""".lstrip("\n")  # the expectation is on line 12


def _expect(item: str) -> list[Problem]:
    return _errors(EXPECT_BASE + f"  - {item}\n")


@pytest.mark.parametrize(
    ("item", "where", "fragment"),
    [
        (
            "{from: wbe, to: web, tcp: 22, result: reachable}",
            "12:12",
            "'wbe' is not a known instance or internet host; did you mean 'web'?",
        ),
        (
            "{from: nat, to: web, tcp: 22, result: reachable}",
            "12:12",
            "from 'nat' is a NAT gateway",
        ),
        (
            "{from: web, to: nowhere, tcp: 22, result: reachable}",
            "12:21",
            "not a known instance or internet host or NAT gateway, or an IPv4 address",
        ),
        (
            "{from: web, to: 300.1.1.1, tcp: 22, result: reachable}",
            "12:21",
            "is not a valid IPv4 address",
        ),
        (
            "{from: web, to: internet, result: reachable}",
            "12:5",
            "exactly one of 'tcp: PORT', 'udp: PORT' or 'icmp: true'",
        ),
        (
            "{from: web, to: internet, tcp: 22, udp: 53, result: reachable}",
            "12:5",
            "exactly one of",
        ),
        (
            "{from: web, to: internet, tcp: 0, result: reachable}",
            "12:36",
            "tcp port 0 is outside 1..65535",
        ),
        (
            "{from: web, to: internet, icmp: false, result: reachable}",
            "12:37",
            "icmp takes only true",
        ),
        (
            "{from: web, to: internet, tcp: 22, result: ok}",
            "12:48",
            "result 'ok' must be reachable or blocked",
        ),
        (
            "{from: web, to: internet, tcp: 22, result: blocked, reason: SG_DENY}",
            "12:65",
            "reason 'SG_DENY' is not a known code",
        ),
        (
            "{from: web, to: internet, tcp: 22, result: reachable, reason: INSTANCE_STOPPED}",
            "12:67",
            "a reason only goes with result: blocked",
        ),
        (
            "{from: web, to: internet, tcp: 22, result: reachable, seen_source: me}",
            "12:72",
            "seen_source 'me' must be an IPv4 address, nat or public_ip",
        ),
        (
            "{from: web, to: internet, tcp: 22, result: reachable, source_port: 0}",
            "12:72",
            "source_port 0 is outside 1..65535",
        ),
        ("{from: web, tcp: 22, result: reachable}", "12:5", "expectation 1 needs the key 'to'"),
    ],
)
def test_bad_expectations_are_rejected(item: str, where: str, fragment: str) -> None:
    [p] = _expect(item)
    assert _at(p) == where
    assert fragment in p.message


def test_expectations_are_resolved() -> None:
    model, _ = load_model_text(
        EXPECT_BASE
        + "  - {from: internet, to: web, tcp: 22, result: blocked, reason: ENI_SG_RULES_MISMATCH}\n"
        + "  - {from: web, to: 198.51.100.99, udp: 53, result: reachable,"
        + " seen_source: public_ip, source_port: 40000}\n"
        + "  - {from: web, to: nat, icmp: true, result: blocked}\n"
    )
    first, second, third = model.expectations
    assert (first.source, first.destination, first.protocol, first.port) == (
        "internet",
        "web",
        "tcp",
        22,
    )
    assert (
        first.reason == "ENI_SG_RULES_MISMATCH" and first.pos is not None and first.pos.line == 12
    )
    assert (second.destination, second.protocol, second.seen_source, second.source_port) == (
        "198.51.100.99", "udp", "public_ip", 40000,
    )  # fmt: skip
    assert (third.destination, third.protocol, third.port) == ("nat", "icmp", None)
