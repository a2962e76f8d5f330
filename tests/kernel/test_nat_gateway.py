"""NAT gateway with real packets (ref section 6)."""

from __future__ import annotations

import subprocess

from netemu.render.names import nat_gateway_ns
from netemu.testing import running_text
from scenarios import vpc

NAT = "nat_gateways:\n  nat: {subnet: public, elastic_ip: 203.0.113.50}\n"
VIA_NAT = "      - {destination: 0.0.0.0/0, nat_gateway: nat}"


def test_snat_to_elastic_ip_with_ports_in_range() -> None:
    """6.7, 6.8: the internet sees the elastic IP; source ports land in 1024-65535, also
    when the instance used a port below 1024."""
    with running_text(vpc(private_routes=VIA_NAT) + NAT) as s:
        for port in (40000, 80, 1023):
            r = s.probe("db", "client", tcp=443, source_port=port)
            assert r.result == "reachable"
            assert r.seen_source == "203.0.113.50"
            assert r.seen_port is not None and 1024 <= r.seen_port <= 65535
        assert s.probe("db", "client", udp=53).seen_source == "203.0.113.50"
        assert s.probe("db", "client", icmp=True).result == "reachable"


def test_no_inbound_through_the_nat_gateway() -> None:
    """6.9, 6.10: nothing started outside gets in, not even a ping of the gateway itself."""
    with running_text(vpc(private_routes=VIA_NAT) + NAT) as s:
        for kw in ({"tcp": 22}, {"udp": 53}, {"icmp": True}):
            r = s.probe("client", "nat", **kw)  # type: ignore[arg-type]
            assert r.result == "blocked"
            assert r.reason and r.reason.code == "NO_POSSIBLE_DESTINATION"
        r = s.probe("client", "203.0.113.50", tcp=3306)
        assert r.result == "blocked" and r.reason and r.reason.code == "NO_POSSIBLE_DESTINATION"


def test_nat_gateway_subnet_acl_applies_both_ways() -> None:
    """6.13: no security group on a NAT gateway, but its subnet's ACL sees its traffic both
    ways: an ACL admitting replies only on 32768-65535 breaks exactly the connections whose
    NAT port (random in 1024-65535, 6.8) falls below that range."""
    acls = (
        "  pub:\n    vpc: main\n    ingress:\n"
        "      - {rule: 100, protocol: all, cidr: 172.30.0.0/16, action: allow}\n"
        "      - {rule: 110, protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0, action: allow}\n"
        "    egress:\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
    )
    text = vpc(private_routes=VIA_NAT, acls=acls, public_extra=", network_acl: pub") + NAT
    with running_text(text) as s:
        results = [s.probe("db", "client", tcp=80) for _ in range(20)]
    assert {r.result for r in results} == {"reachable", "blocked"}  # 1 run in 10^6 fails
    for r in results:
        assert r.seen_port is not None
        assert (r.result == "reachable") == (r.seen_port >= 32768)
        if r.result == "blocked":
            assert r.reason and (r.reason.code, r.reason.component, r.reason.leg) == (
                "SUBNET_ACL_RESTRICTION",
                "network_acl:pub",
                "reply",
            )


def test_idle_tcp_mappings_expire_after_350_seconds_or_as_configured() -> None:
    """6.12: the gateway's connection tracking forgets an idle TCP mapping after 350 s, or
    after the scenario's `idle_timeout`."""
    timeout = "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established"
    for nat, expected in ((NAT, "350"), (NAT.replace("}", ", idle_timeout: 60}"), "60")):
        with running_text(vpc(private_routes=VIA_NAT) + nat) as s:
            ns = nat_gateway_ns(s.model.name, "nat")
            out = subprocess.run(
                ["ip", "netns", "exec", ns, "cat", timeout],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert out.strip() == expected


def test_nat_gateway_in_the_subnet_it_serves_is_a_named_loop() -> None:
    """6.6: the NAT gateway's own subnet needs a route to the internet gateway; when that
    subnet sends 0.0.0.0/0 to the NAT gateway itself, the translated packet comes back to
    it, and the probe names the route table instead of timing out."""
    text = (
        vpc(private_routes=VIA_NAT)
        + "nat_gateways:\n  nat: {subnet: private, elastic_ip: 203.0.113.50}\n"
    )
    with running_text(text) as s:
        r = s.probe("db", "client", tcp=80)
        assert r.result == "blocked"
        assert r.reason and (r.reason.code, r.reason.component) == (
            "NO_ROUTE_TO_DESTINATION",
            "route_table:private",
        )
        assert r.elapsed_ms < 500


TRACEROUTE = """
import socket, sys
hops = []
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.settimeout(0.5)
for ttl in range(1, 8):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    udp.sendto(b"netemu", ("198.51.100.10", 33434 + ttl))
    try:
        data, (hop, _) = icmp.recvfrom(512)
    except TimeoutError:
        hop = "*"
    hops.append(hop)
    udp.close()
print(" ".join(hops))
"""


def test_nat_gateway_appears_as_a_hop_in_traceroute() -> None:
    """6.15: the NAT gateway decrements TTL, so traceroute from a private instance shows
    its private address. (The instance's group must admit ICMP time-exceeded: errors are
    not replies, 7.19.)"""
    groups = "  trace:\n    vpc: main\n    ingress:\n      - {protocol: icmp, icmp_type: 11, icmp_code: -1, cidr: 0.0.0.0/0}\n"
    with running_text(vpc(private_routes=VIA_NAT, groups=groups, db_groups="trace") + NAT) as s:
        hops = s.exec("db", "python3", "-c", TRACEROUTE).stdout.split()
        assert str(s.model.nat_gateways["nat"].eni.private_ip) in hops
