"""Validation of VPC endpoints and AWS-managed prefix lists (ref 17.1-17.7): each refusal
names the place in the file and the AWS rule; what is accepted resolves as AWS does it."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from netemu.errors import ScenarioInvalid
from netemu.model import load_model_text
from netemu.model.aws_services import SERVICES, managed_prefix_lists, prefix_list_id
from tests.unit.problems import at, one

S3_PL = prefix_list_id("us-east-1", "s3")
BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16, dns_hostnames: true}
  other: {cidr: 10.1.0.0/16}
subnets:
  a: {vpc: main, cidr: 10.0.1.0/24, az: a, route_table: private}
  b: {vpc: main, cidr: 10.0.2.0/24, az: a}
route_tables:
  private: {vpc: main}
  theirs: {vpc: other}
vpc_endpoints:
"""


def test_a_gateway_endpoint_adds_its_prefix_list_route_to_each_table() -> None:
    """17.2: one route per prefix-list entry, target the endpoint, DestinationPrefixListId;
    the service becomes an internet host at its documentation address."""
    model, _ = load_model_text(
        BASE + "  s3: {vpc: main, service_name: com.amazonaws.us-east-1.s3,"
        " route_table_ids: [private]}\n"
    )
    route = model.route_tables["private"].routes[-1]
    assert (route.target_kind, route.target, route.prefix_list_id) == ("vpc_endpoint", "s3", S3_PL)
    assert route.destination == SERVICES["s3"].cidr
    assert model.vpc_endpoints["s3"].vpc_endpoint_type == "Gateway"  # the default (17.1)
    assert model.internet_hosts["s3"].ip == SERVICES["s3"].address
    assert all(SERVICES[s].cidr.subnet_of(IPv4Network("198.51.100.0/24")) for s in SERVICES)


def test_only_s3_and_dynamodb_have_gateway_endpoints() -> None:
    """17.1"""
    p = one(BASE + "  q: {vpc: main, service_name: com.amazonaws.us-east-1.sqs}\n")
    assert at(p) == "11:32" and "no Gateway endpoint" in p.message and "ref 17.1" in p.message


def test_a_service_of_another_region_or_unknown_is_refused() -> None:
    p = one(BASE + "  s3: {vpc: main, service_name: com.amazonaws.eu-west-1.s3}\n")
    assert "not an emulated service of us-east-1" in p.message


def test_an_endpoint_route_table_belongs_to_the_endpoint_vpc() -> None:
    """17.2"""
    p = one(
        BASE + "  s3: {vpc: main, service_name: com.amazonaws.us-east-1.s3,"
        " route_table_ids: [theirs]}\n"
    )
    assert "is in VPC 'other', not 'main'" in p.message and "ref 17.2" in p.message


def test_a_route_table_has_one_endpoint_route_per_service() -> None:
    """17.2"""
    spec = "{vpc: main, service_name: com.amazonaws.us-east-1.s3, route_table_ids: [private]}"
    p = one(BASE + f"  one: {spec}\n  two: {spec}\n")
    assert at(p) == "12:3" and "already routes" in p.message


def test_a_static_route_to_the_same_cidr_wins_over_the_prefix_list_route() -> None:
    """4.12: static beats prefix list on the same destination; no second route is made."""
    text = BASE.replace(
        "  private: {vpc: main}",
        "  private:\n    vpc: main\n    routes:\n"
        f"      - {{destination: {SERVICES['s3'].cidr}, blackhole: true}}",
    )
    model, _ = load_model_text(
        text + "  s3: {vpc: main, service_name: com.amazonaws.us-east-1.s3,"
        " route_table_ids: [private]}\n"
    )
    kinds = [r.target_kind for r in model.route_tables["private"].routes]
    assert kinds == ["local", "blackhole"]


def test_gateway_and_interface_keys_do_not_mix() -> None:
    """17.2, 17.3"""
    p = one(BASE + "  s3: {vpc: main, service_name: com.amazonaws.us-east-1.s3, subnet_ids: [a]}\n")
    assert "'subnet_ids' is for Interface endpoints" in p.message


def test_an_interface_endpoint_has_one_subnet_per_zone_and_needs_dns_hostnames() -> None:
    """17.3, 17.4"""
    p = one(
        BASE + "  sqs: {vpc: main, vpc_endpoint_type: Interface,"
        " service_name: com.amazonaws.us-east-1.sqs, subnet_ids: [a, b]}\n"
    )
    assert "both in us-east-1a" in p.message and "ref 17.3" in p.message
    text = BASE.replace("dns_hostnames: true", "dns_hostnames: false")
    p = one(
        text + "  sqs: {vpc: main, vpc_endpoint_type: Interface,"
        " service_name: com.amazonaws.us-east-1.sqs, subnet_ids: [a]}\n"
    )
    assert "private DNS needs dns_hostnames" in p.message and "ref 17.4" in p.message


def test_an_endpoint_policy_is_kept_with_a_warning() -> None:
    """17.5: not enforced, said so."""
    _, warnings = load_model_text(
        BASE + "  s3: {vpc: main, service_name: com.amazonaws.us-east-1.s3,"
        " policy_document: '{}'}\n"
    )
    assert any("not enforced" in w.message for w in warnings)


def test_a_rule_naming_a_managed_prefix_list_matches_its_entries() -> None:
    """17.7: PrefixListId in a rule; one model rule per entry, carrying the id."""
    text = BASE + (
        "  s3: {vpc: main, service_name: com.amazonaws.us-east-1.s3}\n"
        "security_groups:\n  app:\n    vpc: main\n    egress:\n"
        f"      - {{protocol: tcp, port: 443, prefix_list_id: {S3_PL}}}\n"
    )
    model, _ = load_model_text(text)
    (rule,) = model.group("main", "app").egress  # type: ignore[union-attr]
    assert (rule.cidr, rule.prefix_list_id) == (SERVICES["s3"].cidr, S3_PL)


def test_an_unknown_prefix_list_is_refused_with_the_regions_lists() -> None:
    """17.6"""
    text = BASE + (
        "security_groups:\n  app:\n    vpc: main\n    egress:\n"
        "      - {protocol: tcp, port: 443, prefix_list_id: pl-00000000}\n"
    )
    p = one(text)
    assert at(p) == "15:52" and f"{S3_PL} (com.amazonaws.us-east-1.s3)" in p.message
    p = one(
        text.replace("prefix_list_id: pl-00000000", f"prefix_list_id: {S3_PL}, cidr: 1.0.0.0/8")
    )
    assert "exactly one of" in p.message


def test_prefix_list_ids_differ_per_region() -> None:
    east = set(managed_prefix_lists("us-east-1"))
    assert east and east.isdisjoint(managed_prefix_lists("ap-northeast-1"))


def test_a_declared_host_may_not_take_a_service_name() -> None:
    text = BASE + (
        "  s3: {vpc: main, service_name: com.amazonaws.us-east-1.s3}\n"
        "internet:\n  hosts:\n    s3: {ip: 198.51.100.20}\n"
    )
    with pytest.raises(ScenarioInvalid) as e:
        load_model_text(text)
    assert any("emulated service" in p.message for p in e.value.problems)


def test_aws_services_without_an_endpoint_are_internet_hosts() -> None:
    model, _ = load_model_text(BASE + "internet:\n  aws_services: [dynamodb]\n")
    assert model.internet_hosts["dynamodb"].aws_service == "dynamodb"
    p = one(BASE + "internet:\n  aws_services: [s4]\n")
    assert "not an emulated service" in p.message


def test_interface_endpoint_connections_are_always_tracked() -> None:
    """7.16, 17.8: an all-open group untracks an instance's flows (7.13), never those of an
    interface endpoint's ENI."""
    from netemu.render import untracked

    text = BASE + (
        "  sqs: {vpc: main, vpc_endpoint_type: Interface, service_name: com.amazonaws."
        "us-east-1.sqs, subnet_ids: [a], security_group_ids: [open]}\n"
        "security_groups:\n  open:\n    vpc: main\n"
        "    ingress: [{protocol: all, cidr: 0.0.0.0/0}]\n"
        "    egress: [{protocol: all, cidr: 0.0.0.0/0}]\n"
        "instances:\n  web: {subnet: a, security_groups: [open]}\n"
    )
    model, _ = load_model_text(text)
    (eni,) = model.vpc_endpoints["sqs"].network_interfaces
    assert (eni.owner_kind, eni.owner, eni.subnet) == ("vpc_endpoint", "sqs-a", "a")
    assert untracked.selectors(model, model.instances["web"].eni, "ingress") != []
    assert untracked.selectors(model, eni, "ingress") == []
