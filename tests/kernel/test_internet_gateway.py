"""Internet gateway, public addresses and route tables, with real packets (ref 4, 5, 9)."""

from __future__ import annotations

from netemu.testing import running_text
from scenarios import vpc


def test_internet_host_reaches_public_instance_and_back() -> None:
    """5.2: IGW attached, route to it, a public IP, SG allowing: a full round trip."""
    with running_text(vpc()) as s:
        r = s.probe("client", "web", tcp=22)
        assert r.result == "reachable"
        assert r.dst_ip == str(s.model.instances["web"].public_ip)
        assert s.probe("client", "web", icmp=True).result == "reachable"


def test_instance_sees_only_its_private_address_internet_sees_public() -> None:
    """5.3: 1:1 NAT at the gateway; the OS never holds the public address."""
    with running_text(vpc()) as s:
        web = s.model.instances["web"]
        addrs = s.exec("web", "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout
        assert str(web.private_ip) in addrs
        assert str(web.public_ip) not in addrs
        out = s.probe("web", "client", tcp=80)
        assert out.result == "reachable"
        assert out.seen_source == str(web.public_ip)
        inbound = s.probe("client", "web", tcp=22)
        assert inbound.seen_source == "198.51.100.10"


def test_instance_without_public_ip_cannot_reach_internet() -> None:
    """5.5: the gateway drops egress from a private address with no public one."""
    with running_text(vpc()) as s:
        r = s.probe("app", "client", tcp=80)
        assert r.result == "blocked"
        assert r.reason and r.reason.code == "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS"
        assert r.reason.component == "internet_gateway:igw"
        assert r.reason.leg == "request"


def test_public_ip_without_route_to_gateway_is_useless() -> None:
    """5.4: a public IP in a subnet whose route table has no IGW route does not give access."""
    text = vpc(db_extra=", public_ip: true")
    with running_text(text) as s:
        out = s.probe("db", "client", tcp=80)
        assert out.result == "blocked"
        assert out.reason and out.reason.code == "NO_ROUTE_TO_DESTINATION"
        assert out.reason.component == "route_table:private"
        inbound = s.probe("client", "db", tcp=22)
        # The request arrives (ingress needs no route), the reply has no way out.
        assert inbound.result == "blocked"
        assert inbound.reason and inbound.reason.leg == "reply"
        assert inbound.reason.code == "NO_ROUTE_TO_DESTINATION"


def test_longest_prefix_match_wins() -> None:
    """4.5: a /32 to the gateway beats a /24 blackhole, which beats 0.0.0.0/0."""
    routes = (
        "      - {destination: 0.0.0.0/0, internet_gateway: igw}\n"
        "      - {destination: 198.51.100.0/24, blackhole: true}\n"
        "      - {destination: 198.51.100.20/32, internet_gateway: igw}"
    )
    with running_text(vpc(public_routes=routes)) as s:
        assert s.probe("web", "repo", tcp=80).result == "reachable"
        r = s.probe("web", "client", tcp=80)
        assert r.result == "blocked"
        assert r.reason and r.reason.code == "BAD_STATE_ROUTE"
        assert r.reason.rule == "198.51.100.0/24"


def test_blackhole_route_drops() -> None:
    """4.10: traffic matching a blackhole route is dropped."""
    routes = "      - {destination: 0.0.0.0/0, blackhole: true}"
    with running_text(vpc(public_routes=routes)) as s:
        r = s.probe("web", "client", icmp=True)
        assert r.result == "blocked"
        assert r.reason and r.reason.code == "BAD_STATE_ROUTE"
        assert r.reason.component == "route_table:public"


def test_custom_main_route_table_serves_subnets_without_association() -> None:
    """4.1, 4.2: a table marked main serves every subnet that names no table."""
    text = """
name: mainrt
vpcs: {main: {cidr: 10.0.0.0/16}}
internet_gateways: {igw: {vpc: main}}
subnets:
  a: {vpc: main, cidr: 10.0.0.0/24, public_ip_on_launch: true}
route_tables:
  everything:
    vpc: main
    main: true
    routes:
      - {destination: 0.0.0.0/0, internet_gateway: igw}
security_groups:
  open: {vpc: main, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
instances:
  web: {subnet: a, security_groups: [open]}
"""
    with running_text(text) as s:
        assert s.model.subnets["a"].route_table == "everything"
        assert s.probe("internet", "web", tcp=22).result == "reachable"
        assert s.probe("web", "internet", tcp=443).result == "reachable"


def test_two_vpcs_cannot_exchange_packets() -> None:
    """1.9: separate VPCs are isolated; private addresses do not cross."""
    text = """
name: twovpc
vpcs:
  a: {cidr: 10.1.0.0/16}
  b: {cidr: 10.2.0.0/16}
internet_gateways:
  igw-a: {vpc: a}
  igw-b: {vpc: b}
subnets:
  sa: {vpc: a, cidr: 10.1.0.0/24, route_table: ra}
  sb: {vpc: b, cidr: 10.2.0.0/24, route_table: rb}
route_tables:
  ra: {vpc: a, routes: [{destination: 0.0.0.0/0, internet_gateway: igw-a}]}
  rb: {vpc: b, routes: [{destination: 0.0.0.0/0, internet_gateway: igw-b}]}
security_groups:
  open-a: {vpc: a, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
  open-b: {vpc: b, ingress: [{protocol: all, cidr: 0.0.0.0/0}]}
instances:
  x: {subnet: sa, security_groups: [open-a]}
  y: {subnet: sb, security_groups: [open-b]}
"""
    with running_text(text) as s:
        r = s.probe("x", str(s.model.instances["y"].private_ip), icmp=True)
        assert r.result == "blocked"
        assert r.reason and r.reason.code == "DISCONNECTED_VPCS"
        r = s.probe("y", str(s.model.instances["x"].private_ip), tcp=22)
        assert r.result == "blocked"
        assert r.reason and r.reason.code == "DISCONNECTED_VPCS"


def test_two_subnets_talk_over_the_local_route() -> None:
    """4.4: every table's local route connects all subnets of the VPC."""
    with running_text(vpc()) as s:
        assert s.probe("web", "db", tcp=3306).result == "reachable"
        assert s.probe("db", "web", icmp=True).result == "reachable"
        # From inside the VPC an instance is addressed by its private IP.
        assert s.probe("db", "web", tcp=22).dst_ip == "172.30.0.10"
