"""Hops, TTL and MTU as a user sees them with ping, traceroute and tracepath (reference
5.6, 6.15, 7.19, 10.9)."""

from __future__ import annotations

import re
import subprocess
import time

from netemu.render.names import instance_ns
from netemu.testing import Running, running_text
from scenarios import vpc

NAT = "nat_gateways:\n  nat: {subnet: public, elastic_ip: 203.0.113.50}\n"
VIA_NAT = "      - {destination: 0.0.0.0/0, nat_gateway: nat}"
CLIENT = "198.51.100.10"
INTERNET_HOP = "169.254.3.1"  # the emulated internet's one router (docs/aws-decisions.md)
# web admits everything except ICMP "destination unreachable" (type 3): no PMTUD.
NO_ICMP_ERRORS = """  noerrors:
    vpc: main
    ingress:
      - {protocol: tcp, ports: 0-65535, cidr: 0.0.0.0/0}
      - {protocol: udp, ports: 0-65535, cidr: 0.0.0.0/0}
      - {protocol: icmp, icmp_type: 0, cidr: 0.0.0.0/0}
      - {protocol: icmp, icmp_type: 11, cidr: 0.0.0.0/0}
"""
PMTUD = NO_ICMP_ERRORS.replace("noerrors", "pmtud") + (
    "      - {protocol: icmp, icmp_type: 3, icmp_code: 4, cidr: 0.0.0.0/0}\n"
)


def _scenario(web_groups: str = "open") -> str:
    return (
        vpc(
            name="fidhop",
            private_routes=VIA_NAT,
            groups=NO_ICMP_ERRORS + PMTUD,
            web_groups=web_groups,
        )
        + NAT
    )


def _ping_ttl(s: Running, source: str, destination: str) -> int:
    out = s.exec(source, "ping", "-c1", "-W2", destination).stdout
    found = re.search(r"ttl=(\d+)", out)
    assert found, out
    return int(found.group(1))


def _traceroute(s: Running, source: str, destination: str) -> list[str]:
    out = s.exec(source, "traceroute", "-n", "-q1", "-w1", "-m6", destination).stdout
    return [line.split()[1] for line in out.splitlines()[1:]]


def test_ping_ttl_shows_no_hop_inside_the_vpc_and_one_for_a_nat_gateway() -> None:
    """10.9: between subnets (and inside one) the VPC router does not decrement TTL, so a
    Linux ping (TTL 64) comes back with 64; 6.15: the NAT gateway is a hop; the internet
    counts as one hop in netemu."""
    with running_text(_scenario()) as s:
        assert _ping_ttl(s, "web", "172.30.1.10") == 64  # another subnet
        assert _ping_ttl(s, "web", "172.30.0.11") == 64  # the same subnet
        assert _ping_ttl(s, "db", "172.30.0.10") == 64
        assert _ping_ttl(s, "web", CLIENT) == 63  # internet gateway: no hop; internet: one
        assert _ping_ttl(s, "db", CLIENT) == 62  # NAT gateway and internet


def test_traceroute_shows_one_hop_between_subnets_and_the_nat_gateway_on_the_way_out() -> None:
    """10.9, 6.15: traceroute from web to db (another subnet) reaches db at hop 1; from
    the private db to the internet the NAT gateway's private IP is the first hop."""
    with running_text(_scenario()) as s:
        assert _traceroute(s, "web", "172.30.1.10") == ["172.30.1.10"]
        nat_ip = str(s.model.nat_gateways["nat"].eni.private_ip)
        assert _traceroute(s, "db", CLIENT) == [nat_ip, INTERNET_HOP, CLIENT]
        assert _traceroute(s, "web", CLIENT) == [INTERNET_HOP, CLIENT]


def test_mtu_is_9001_by_dhcp_inside_and_jumbo_frames_cross_subnets() -> None:
    """5.6: the instance gets MTU 9001 (DHCP option 26), and a 9001-byte packet with DF
    crosses from one subnet to another."""
    with running_text(_scenario()) as s:
        assert "mtu 9001" in s.exec("web", "ip", "link", "show", "eth0").stdout
        jumbo = s.exec("web", "ping", "-c1", "-W2", "-M", "do", "-s", "8973", "172.30.1.10")
        assert jumbo.returncode == 0, jumbo.stdout + jumbo.stderr


def test_tracepath_reports_pmtu_1500_at_the_subnet_router() -> None:
    """5.6: towards the internet, tracepath starts at 9001 and learns 1500 from the
    subnet's base+1 (the VPC router's frag-needed at the internet gateway's edge)."""
    with running_text(_scenario()) as s:
        out = s.exec("web", "tracepath", "-n", "-m4", CLIENT).stdout
    lines = out.splitlines()
    assert "pmtu 9001" in lines[0], out
    assert re.search(r"^ 1:\s+172\.30\.0\.1\s.*pmtu 1500", out, re.M), out
    assert "Resume: pmtu 1500" in out, out


def _big_ping(s: Running) -> str:
    r = s.exec("web", "ping", "-c2", "-i0.3", "-W1", "-M", "do", "-s", "3000", CLIENT)
    return r.stdout + r.stderr


def test_pmtud_needs_icmp_3_4_in_the_security_group() -> None:
    """7.19: frag-needed is an ICMP error, not a reply, so path MTU discovery works only
    when the instance's group admits ICMP type 3 code 4. Without it a too-big packet just
    vanishes; with it the sender learns MTU 1500 from the subnet's base+1."""
    with running_text(_scenario(web_groups="noerrors")) as s:
        out = _big_ping(s)
        assert "Frag needed" not in out and "mtu=1500" not in out, out
    with running_text(_scenario(web_groups="pmtud")) as s:
        out = _big_ping(s)
        assert "From 172.30.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1500)" in out, out
        route = s.exec("web", "ip", "route", "get", CLIENT).stdout
        assert "mtu 1500" in route, route


def test_neighbours_resolve_to_each_enis_own_mac() -> None:
    """9.6, 4.13: in an instance's neighbour table another ENI's address resolves to that
    ENI's MAC (as in describe-network-interfaces), the subnet's base+1 to the router's."""
    with running_text(_scenario()) as s:
        app, nat = s.model.instances["app"].eni, s.model.nat_gateways["nat"].eni
        assert s.exec("web", "ping", "-c1", "-W2", str(app.private_ip)).returncode == 0
        s.exec("web", "ping", "-c1", "-W1", str(nat.private_ip))  # it answers no ping (6.10)
        assert s.exec("web", "ping", "-c1", "-W2", "172.30.1.10").returncode == 0  # via .1
        neigh = s.exec("web", "ip", "neigh", "show", "dev", "eth0").stdout
        macs = {line.split()[0]: line.split()[2] for line in neigh.splitlines() if "lladdr" in line}
        assert macs[str(app.private_ip)] == app.mac, neigh
        assert macs[str(nat.private_ip)] == nat.mac, neigh
        router = macs.get("172.30.0.1")
        assert router not in (None, app.mac, nat.mac), neigh


TWO_VPCS = """
name: fidpmtu
region: ap-northeast-1
vpcs:
  shop: {{cidr: 10.81.0.0/16}}
  partner: {{cidr: 10.82.0.0/16}}
internet_gateways:
  shop-igw: {{vpc: shop}}
  partner-igw: {{vpc: partner}}
subnets:
  shop-public: {{vpc: shop, cidr: 10.81.0.0/24, public_ip_on_launch: true, route_table: shop}}
  partner-public: {{vpc: partner, cidr: 10.82.0.0/24, public_ip_on_launch: true, route_table: partner}}
route_tables:
  shop:
    vpc: shop
    routes: [{{destination: 0.0.0.0/0, internet_gateway: shop-igw}}]
  partner:
    vpc: partner
    routes: [{{destination: 0.0.0.0/0, internet_gateway: partner-igw}}]
security_groups:
  api:
    vpc: shop
    ingress:
      - {{protocol: tcp, port: 8080, cidr: 0.0.0.0/0}}
{icmp}
  partner:
    vpc: partner
    ingress:
      - {{protocol: icmp, icmp_type: 3, icmp_code: 4, cidr: 0.0.0.0/0}}
instances:
  api: {{subnet: shop-public, security_groups: [api]}}
  client: {{subnet: partner-public, security_groups: [partner]}}
"""
SEND_BIG = """
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen()
while True:
    c, _ = l.accept()
    c.sendall(b"x" * 200000); c.close()
"""
DOWNLOAD = """
import socket, sys
s = socket.create_connection((sys.argv[1], 8080), timeout=4)
got = 0
try:
    while (data := s.recv(65536)):
        got += len(data)
except TimeoutError:
    pass
print(got)
"""


def _download(icmp_rule: str) -> int:
    with running_text(TWO_VPCS.format(icmp=icmp_rule)) as s:
        server = subprocess.Popen(
            ["ip", "netns", "exec", instance_ns("fidpmtu", "api"), "python3", "-c", SEND_BIG]
        )
        try:
            time.sleep(0.5)
            api = str(s.model.instances["api"].public_ip)
            return int(s.exec("client", "python3", "-c", DOWNLOAD, api, timeout=20).stdout)
        finally:
            server.kill()
            server.wait()


def test_large_responses_over_the_internet_hang_until_the_group_admits_icmp_3_4() -> None:
    """7.19, 5.6: two instances with jumbo frames talk through their internet gateways
    (1500). The server's big segments meet frag-needed at its VPC router; without an
    inbound ICMP type 3 code 4 rule its group drops that, the server keeps resending what
    cannot pass and the download hangs after the handshake; with the rule it completes."""
    assert _download("") == 0
    rule = "      - {protocol: icmp, icmp_type: 3, icmp_code: 4, cidr: 0.0.0.0/0}"
    assert _download(rule) == 200000
