"""Validation of customer-managed prefix lists (ref 19.1-19.4, 7.9, 4.15) and DHCP options
sets (10.5, 10.20-10.22): each refusal names the place in the file and the AWS rule."""

from __future__ import annotations

from ipaddress import IPv4Network

from netemu.model import load_model_text
from netemu.ops.diff import changes
from netemu.render import dhcp
from tests.unit.problems import at, errors, one

BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
internet_gateways:
  igw: {vpc: main}
prefix_lists:
  office:
    address_family: IPv4
    max_entries: 2
    entries:
      - {cidr: 198.51.100.0/24, description: tokyo}
      - {cidr: 192.0.2.0/24}
"""


def _rules(n: int, extra: str = "") -> str:
    lines = "".join(
        f"      - {{protocol: tcp, port: {1000 + i}, cidr: 0.0.0.0/0}}\n" for i in range(n)
    )
    return BASE + "security_groups:\n  web:\n    vpc: main\n    ingress:\n" + lines + extra


def test_a_list_holds_no_more_entries_than_its_max() -> None:
    """19.2"""
    p = one(BASE + "      - {cidr: 203.0.113.0/24}\n")
    assert at(p) == "12:9" and "max_entries is 2" in p.message and "ref 19.2" in p.message


def test_a_list_holds_cidrs_of_its_own_family_only() -> None:
    """19.1"""
    p = one(BASE.replace("192.0.2.0/24", "2001:db8::/32"))
    assert at(p) == "11:16" and "is not IPv4" in p.message and "ref 19.1" in p.message
    p = one(BASE.replace("IPv4", "IPv5"))
    assert "must be IPv4 or IPv6" in p.message


def test_a_reference_to_an_unknown_list_is_refused_with_a_hint() -> None:
    """19.3"""
    p = one(_rules(0, "      - {protocol: tcp, port: 22, prefix_list_id: ofice}\n"))
    assert "unknown prefix list 'ofice'" in p.message and "did you mean 'office'" in p.message


def test_a_rule_naming_a_list_counts_as_its_max_entries_toward_the_group_quota() -> None:
    """19.2, 7.9: 58 plain rules and one list of max 2 make 60; a list of max 3 makes 61."""
    ok = _rules(58, "      - {protocol: tcp, port: 22, prefix_list_id: office}\n")
    load_model_text(ok)
    big = ok.replace("max_entries: 2", "max_entries: 3")
    p = one(big)
    assert "has 61 rules" in p.message and "max_entries" in p.message and "ref 7.9" in p.message


def test_a_route_to_a_list_counts_as_its_max_entries_toward_the_route_quota() -> None:
    """19.2, 4.15"""
    routes = "".join(f"      - {{destination: 10.{100 + i}.0.0/16, internet_gateway: igw}}\n"
                     for i in range(49))  # fmt: skip
    text = BASE + "route_tables:\n  rt:\n    vpc: main\n    routes:\n" + routes
    text += "      - {destination_prefix_list_id: office, internet_gateway: igw}\n"
    p = one(text)
    assert "has 51 routes" in p.message and "ref 4.15" in p.message


def test_a_route_to_a_list_is_one_route_per_entry_and_a_cidr_route_wins() -> None:
    """19.4, 4.12: the table holds a route per entry; an entry equal to a CIDR route of the
    table keeps the CIDR route's target."""
    text = BASE + (
        "route_tables:\n  rt:\n    vpc: main\n    routes:\n"
        "      - {destination_prefix_list_id: office, internet_gateway: igw}\n"
        "      - {destination: 192.0.2.0/24, blackhole: true}\n"
    )
    model, _ = load_model_text(text)
    routes = {
        str(r.destination): (r.target_kind, r.prefix_list) for r in model.route_tables["rt"].routes
    }
    assert routes["198.51.100.0/24"] == ("internet_gateway", "office")
    assert routes["192.0.2.0/24"] == ("blackhole", None)


def test_a_route_gives_a_cidr_or_a_list_not_both() -> None:
    """19.4"""
    text = BASE + (
        "route_tables:\n  rt:\n    vpc: main\n    routes:\n"
        "      - {destination: 0.0.0.0/0, destination_prefix_list_id: office, internet_gateway: igw}\n"
    )
    assert "gives both destination and a prefix list" in one(text).message


def test_a_list_is_referenced_by_its_id_as_well() -> None:
    """19.1: references name the list or its pl- id."""
    model, _ = load_model_text(_rules(0))
    pl_id = model.prefix_lists["office"].id
    model, _ = load_model_text(
        _rules(0, f"      - {{protocol: tcp, port: 22, prefix_list_id: {pl_id}}}\n")
    )
    web = model.group("main", "web")
    assert web is not None and web.ingress[0].prefix_list == "office"


DOPT = """
vpcs:
  main: {cidr: 10.0.0.0/16, dhcp_options_id: corp}
dhcp_options:
  corp:
    domain_name: corp.example
    domain_name_servers: [AmazonProvidedDNS, 10.0.0.53]
subnets:
  s1: {vpc: main, cidr: 10.0.1.0/24}
instances:
  web: {subnet: s1}
"""


def test_a_vpc_takes_the_set_it_names_and_dnsmasq_hands_it_out() -> None:
    """10.20, 10.21: AmazonProvidedDNS is the VPC's base+2; the set replaces the default
    domain name and DNS server."""
    model, _ = load_model_text(DOPT)
    conf = dhcp.server_config(model, model.subnets["s1"])
    assert "dhcp-option=option:dns-server,10.0.0.2,10.0.0.53\n" in conf
    assert "dhcp-option=option:domain-name,corp.example\n" in conf
    assert "compute.internal" not in conf and "ec2.internal" not in conf


def test_a_set_without_name_servers_gives_no_dns_server() -> None:
    """10.21"""
    model, _ = load_model_text(
        DOPT.replace("    domain_name_servers: [AmazonProvidedDNS, 10.0.0.53]\n", "")
    )
    assert "dns-server" not in dhcp.server_config(model, model.subnets["s1"])


def test_dhcp_options_refusals() -> None:
    """10.5, 10.20-10.22"""
    p = one(DOPT.replace("dhcp_options_id: corp", "dhcp_options_id: crop"))
    assert at(p) == "2:46" and "unknown DHCP options set 'crop'" in p.message
    five = "[10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5]"
    p = one(DOPT.replace("[AmazonProvidedDNS, 10.0.0.53]", five))
    assert "lists 5 servers" in p.message and "ref 10.5" in p.message
    p = one(DOPT.replace("corp.example", "corp.example\\n"))
    assert "is not a domain name" in p.message


def test_netbios_servers_need_a_node_type() -> None:
    """10.22"""
    text = DOPT.replace(
        "    domain_name: corp.example\n",
        "    domain_name: corp.example\n    netbios_name_servers: [10.0.0.9]\n",
    )
    assert "no netbios_node_type" in one(text).message
    found = errors(text.replace("[10.0.0.9]", "[10.0.0.9]\n    netbios_node_type: 3"))
    assert len(found) == 1 and "1, 2, 4 or 8" in found[0].message


def test_apply_words_for_lists_and_sets() -> None:
    """19.5, 10.20: entries added and removed, a set associated."""
    old, _ = load_model_text(
        _rules(0, "      - {protocol: tcp, port: 22, prefix_list_id: office}\n")
    )
    new, _ = load_model_text(_rules(0, "      - {protocol: tcp, port: 22, prefix_list_id: office}\n")
                             .replace("192.0.2.0/24", "203.0.113.0/24"))  # fmt: skip
    texts = [c.text for c in changes(old, new)]
    assert texts == [
        "modify prefix list office: add 203.0.113.0/24",
        "modify prefix list office: remove 192.0.2.0/24",
    ], texts
    plain, _ = load_model_text(DOPT.replace(", dhcp_options_id: corp", ""))
    withset, _ = load_model_text(DOPT)
    assert [c.text for c in changes(plain, withset)] == [
        "associate dhcp options corp with vpc main"
    ]
    assert IPv4Network("10.0.0.0/16") == withset.vpcs["main"].cidr
