"""AWS defaults the resolver applies, and the determinism of ids, MACs and addresses."""

from __future__ import annotations

import re
import textwrap
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from netemu.model import load_model, load_model_text
from netemu.model.ids import aws_id, eni_mac
from netemu.model.types import PROTO_ALL, Model, NetworkAclRule

DATA = Path(__file__).parent / "data"
ANY = IPv4Network("0.0.0.0/0")


def _model(text: str) -> Model:
    model, warnings = load_model_text(textwrap.dedent(text).lstrip("\n"))
    assert warnings == [], warnings
    return model


def test_webdb_example_loads_without_problems() -> None:
    """The contract's section-1 example is valid as written."""
    model, warnings = load_model(str(DATA / "webdb.yaml"))
    assert warnings == []
    assert (model.name, model.region) == ("webdb", "ap-northeast-1")
    assert model.subnets["public"].az == "ap-northeast-1a"
    assert model.instances["web"].public_ip == IPv4Address("203.0.113.1")
    assert model.instances["db"].public_ip is None
    nat = model.nat_gateways["nat"].eni
    assert (nat.public_ip, nat.elastic_ip, nat.private_ip) == (
        IPv4Address("203.0.113.50"), True, IPv4Address("172.30.0.4"),
    )  # fmt: skip
    assert [e.result for e in model.expectations] == [
        "reachable", "blocked", "reachable", "reachable", "blocked",
    ]  # fmt: skip


def test_default_vpc_example_loads_with_the_aws_layout() -> None:
    """data/default-vpc.yaml: the contract's section-2 shortcut (ref 3.2, 3.3)."""
    model, warnings = load_model(str(DATA / "default-vpc.yaml"))
    assert warnings == [] and model.name == "default-vpc"
    assert [str(s.cidr) for s in model.subnets.values()] == [
        "172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20",
    ]  # fmt: skip
    web = model.instances["web"]
    assert (str(web.private_ip), str(web.public_ip)) == ("172.31.0.4", "203.0.113.1")


def test_vpc_without_a_declared_main_table_gets_an_implicit_one() -> None:
    """The main table holds only the local route and serves subnets without an
    association (ref 4.1, 4.3)."""
    model = _model("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        subnets:
          a: {vpc: main, cidr: 10.0.0.0/24}
    """)
    table = model.route_tables["main-main"]
    assert (table.main, table.implicit, table.vpc) == (True, True, "main")
    assert [(r.destination, r.target_kind, r.target) for r in table.routes] == [
        (IPv4Network("10.0.0.0/16"), "local", None)
    ]
    assert re.fullmatch(r"rtb-[0-9a-f]{17}", table.id)
    assert model.subnets["a"].route_table == "main-main"


def test_declared_main_table_replaces_the_implicit_one() -> None:
    """A table with main: true is the VPC's main table (ref 4.2); the local route comes
    first (ref 4.4)."""
    model = _model("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        route_tables:
          rt:
            vpc: main
            main: true
            routes: [{destination: 192.0.2.0/24, blackhole: true}]
        subnets:
          a: {vpc: main, cidr: 10.0.0.0/24}
    """)
    assert list(model.route_tables) == ["rt"]
    assert model.subnets["a"].route_table == "rt"
    kinds = [r.target_kind for r in model.route_tables["rt"].routes]
    assert kinds == ["local", "blackhole"]


def test_default_network_acl_allows_everything_with_rule_100() -> None:
    """Default NACL: rule 100 allows all traffic both ways (ref 8.4)."""
    model = _model(
        "vpcs:\n  main: {cidr: 10.0.0.0/16}\nsubnets:\n  a: {vpc: main, cidr: 10.0.0.0/24}\n"
    )
    acl = model.network_acls["main-default"]
    allow_all = NetworkAclRule(100, PROTO_ALL, None, None, None, ANY, "allow")
    assert (acl.ingress, acl.egress, acl.is_default) == ((allow_all,), (allow_all,), True)
    assert model.subnets["a"].network_acl == "main-default"


def test_default_network_acl_rules_can_be_replaced() -> None:
    model = _model("""
        vpcs:
          main:
            cidr: 10.0.0.0/16
            default_network_acl:
              ingress: [{rule: 10, protocol: tcp, port: 22, cidr: 0.0.0.0/0, action: deny}]
    """)
    acl = model.network_acls["main-default"]
    assert [(r.number, r.action, r.ports) for r in acl.ingress] == [(10, "deny", (22, 22))]
    assert [r.number for r in acl.egress] == [100]  # the untouched direction keeps rule 100


def test_default_security_group_admits_its_members_and_sends_anywhere() -> None:
    """Default SG: inbound all from itself, outbound all to 0.0.0.0/0 (ref 7.4); its id is
    unique per VPC."""
    model = _model("vpcs:\n  a: {cidr: 10.0.0.0/16}\n  b: {cidr: 10.1.0.0/16}\n")
    ga, gb = model.group("a", "default"), model.group("b", "default")
    assert ga is not None and gb is not None and ga.id != gb.id and ga.is_default
    [inbound] = ga.ingress
    [outbound] = ga.egress
    assert (inbound.protocol, inbound.security_group, inbound.cidr) == (PROTO_ALL, ga.id, None)
    assert (outbound.protocol, outbound.cidr, outbound.security_group) == (PROTO_ALL, ANY, None)


def test_default_security_group_rules_can_be_replaced() -> None:
    model = _model("""
        vpcs:
          main:
            cidr: 10.0.0.0/16
            default_security_group:
              ingress: [{protocol: tcp, port: 22, cidr: 10.0.0.0/8}]
              egress: []
    """)
    group = model.group("main", "default")
    assert group is not None
    assert [(r.protocol, r.ports) for r in group.ingress] == [(6, (22, 22))]
    assert group.egress == ()


def test_new_security_group_default_rules() -> None:
    """A new group: no inbound rules, one outbound rule to 0.0.0.0/0 (ref 7.3);
    `egress: []` means none."""
    model = _model("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        security_groups:
          open: {vpc: main}
          closed: {vpc: main, egress: []}
    """)
    open_, closed = model.group("main", "open"), model.group("main", "closed")
    assert open_ is not None and closed is not None
    assert open_.ingress == () and [r.cidr for r in open_.egress] == [ANY]
    assert closed.egress == ()


def test_default_vpc_shortcut_builds_the_aws_default_vpc() -> None:
    """172.31.0.0/16, one public /20 per zone laid out contiguously, an IGW, a main table
    with 0.0.0.0/0 -> igw, DNS hostnames on (ref 3.2, 3.4)."""
    model = _model("region: eu-west-1\nvpcs:\n  dflt: {default: true}\n")
    vpc = model.vpcs["dflt"]
    assert (vpc.cidr, vpc.is_default, vpc.dns_hostnames) == (
        IPv4Network("172.31.0.0/16"), True, True,
    )  # fmt: skip
    assert [(s.name, str(s.cidr), s.az, s.public_ip_on_launch) for s in model.subnets.values()] == [
        ("default-a", "172.31.0.0/20", "eu-west-1a", True),
        ("default-b", "172.31.16.0/20", "eu-west-1b", True),
        ("default-c", "172.31.32.0/20", "eu-west-1c", True),
    ]
    assert all(s.default_for_az and s.route_table == "dflt-main" for s in model.subnets.values())
    assert model.igw_of("dflt") == model.internet_gateways["dflt-igw"]
    routes = model.route_tables["dflt-main"].routes
    assert [(str(r.destination), r.target_kind, r.target) for r in routes] == [
        ("172.31.0.0/16", "local", None),
        ("0.0.0.0/0", "internet_gateway", "dflt-igw"),
    ]


def test_default_vpc_azs_choose_the_zones() -> None:
    model = _model("""
        vpcs:
          d: {default: true, azs: [b, us-east-1d]}
        instances:
          web: {subnet: default-d}
    """)
    assert [(s.name, str(s.cidr)) for s in model.subnets.values()] == [
        ("default-b", "172.31.0.0/20"),
        ("default-d", "172.31.16.0/20"),
    ]
    web = model.instances["web"]
    assert (web.private_ip, web.public_ip) == (
        IPv4Address("172.31.16.4"),
        IPv4Address("203.0.113.1"),
    )


def test_unassigned_addresses_are_the_lowest_free_skipping_the_five_reserved() -> None:
    """Explicit addresses are reserved first; the rest get the lowest free one, instances
    before NAT gateways, in file order (ref 2.3)."""
    model = _model("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        internet_gateways:
          igw: {vpc: main}
        route_tables:
          pub: {vpc: main, routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]}
        subnets:
          pub: {vpc: main, cidr: 10.0.0.0/24, route_table: pub}
        nat_gateways:
          nat: {subnet: pub}
        instances:
          a: {subnet: pub}
          b: {subnet: pub, private_ip: 10.0.0.5}
          c: {subnet: pub}
    """)
    ips = {e.owner: str(e.private_ip) for e in model.enis()}
    assert ips == {"a": "10.0.0.4", "b": "10.0.0.5", "c": "10.0.0.6", "nat": "10.0.0.7"}
    assert [e.owner for e in model.enis_in("pub")] == ["a", "b", "c", "nat"]


def test_auto_public_ips_come_from_the_pool_skipping_explicit_elastic_ips() -> None:
    """Pool addresses, lowest first, skip the pool's network address and explicit EIPs;
    instances first, then `elastic_ip: auto` NAT gateways (ref 9.3, 9.4)."""
    model = _model("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        internet_gateways:
          igw: {vpc: main}
        route_tables:
          pub: {vpc: main, routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]}
        subnets:
          pub: {vpc: main, cidr: 10.0.0.0/24, route_table: pub, public_ip_on_launch: true}
        nat_gateways:
          nat: {subnet: pub, elastic_ip: auto}
        instances:
          a: {subnet: pub}
          b: {subnet: pub, elastic_ip: 203.0.113.2}
          c: {subnet: pub}
          d: {subnet: pub, public_ip: false}
        internet:
          hosts:
            h: {ip: 198.51.100.3}
          public_pool: 203.0.113.0/28
    """)
    public = {
        e.owner: (str(e.public_ip) if e.public_ip else None, e.elastic_ip) for e in model.enis()
    }
    assert public == {
        "a": ("203.0.113.1", False),
        "b": ("203.0.113.2", True),
        "c": ("203.0.113.3", False),
        "d": (None, False),
        "nat": ("203.0.113.4", True),
    }


def test_public_ip_defaults_to_the_subnet_setting() -> None:
    """MapPublicIpOnLaunch decides unless the launch overrides it (ref 2.6, 2.7)."""
    model = _model("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        subnets:
          priv: {vpc: main, cidr: 10.0.1.0/24}
        instances:
          a: {subnet: priv}
          b: {subnet: priv, public_ip: true}
    """)
    assert model.instances["a"].public_ip is None
    assert model.instances["b"].public_ip == IPv4Address("203.0.113.1")


def test_instance_defaults() -> None:
    """Default group [default] (ref 7.1), source/dest check on (ref 9.9), running."""
    model = _model("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        subnets:
          s: {vpc: main, cidr: 10.0.0.0/24}
        instances:
          web: {subnet: s}
    """)
    web = model.instances["web"]
    default = model.group("main", "default")
    assert default is not None
    assert (web.eni.security_groups, web.eni.source_dest_check, web.state, web.services) == (
        (default.id,), True, "running", (),
    )  # fmt: skip
    assert model.internet_hosts["internet"].ip == IPv4Address("198.51.100.10")
    assert model.public_pool == IPv4Network("203.0.113.0/24")


def test_ids_and_macs_are_stable_across_loads() -> None:
    """The same scenario always yields the same ids and MACs."""
    first, _ = load_model(str(DATA / "webdb.yaml"))
    second, _ = load_model(str(DATA / "webdb.yaml"))
    assert first == second
    ids = [v.id for v in first.vpcs.values()] + [e.id for e in first.enis()]
    ids += [i.id for i in first.instances.values()] + list(first.security_groups)
    assert len(set(ids)) == len(ids)
    for eni in first.enis():
        assert re.fullmatch(r"eni-[0-9a-f]{17}", eni.id)
        assert re.fullmatch(r"02(:[0-9a-f]{2}){5}", eni.mac)
    assert first.vpcs["main"].id == aws_id("webdb", "vpc", "main")


def test_ids_depend_on_the_scenario_name() -> None:
    assert aws_id("a", "vpc", "main") != aws_id("b", "vpc", "main")
    assert re.fullmatch(r"i-[0-9a-f]{17}", aws_id("a", "i", "web"))


def test_mac_collision_is_perturbed_deterministically() -> None:
    first = eni_mac("eni-0123", set())
    again = eni_mac("eni-0123", {first})
    assert again != first and again == eni_mac("eni-0123", {first})
