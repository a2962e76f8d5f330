"""IPv6 in a dual-stack VPC with real packets (reference sections 4, 7, 8 and 16)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from netemu.driver.state import state_dir
from netemu.render import dhcp, dhcpv6
from netemu.render import names as n
from netemu.testing import Running, running_text

DUAL = """
name: v6k
vpcs:
  main: {cidr: 10.60.0.0/16, ipv6: true}
internet_gateways:
  igw: {vpc: main}
egress_only_internet_gateways:
  eigw: {vpc: main}
subnets:
  public: {vpc: main, cidr: 10.60.1.0/24, ipv6_cidr: "2001:db8:1:1::/64", assign_ipv6_address_on_creation: true, route_table: public, public_ip_on_launch: true}
  private: {vpc: main, cidr: 10.60.2.0/24, ipv6_cidr: "2001:db8:1:2::/64", assign_ipv6_address_on_creation: true, route_table: private, network_acl: private}
route_tables:
  public:
    vpc: main
    routes:
      - {destination: 0.0.0.0/0, internet_gateway: igw}
      - {destination: "::/0", internet_gateway: igw}
  private:
    vpc: main
    routes:
      - {destination: "::/0", egress_only_internet_gateway: eigw}
security_groups:
  web:
    vpc: main
    ingress:
      - {protocol: tcp, port: 22, cidr: "::/0"}
      - {protocol: icmpv6, cidr_ipv6: "::/0"}
      - {protocol: udp, port: 5000, cidr_ipv6: "::/0"}
  v4only:
    vpc: main
    ingress:
      - {protocol: all, cidr: 0.0.0.0/0}
network_acls:
  private:
    vpc: main
    ingress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
      - {rule: 90, protocol: tcp, port: 23, cidr_ipv6: "::/0", action: deny}
      - {rule: 100, protocol: all, cidr_ipv6: "::/0", action: allow}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
      - {rule: 100, protocol: all, cidr_ipv6: "::/0", action: allow}
instances:
  web: {subnet: public, security_groups: [web], services: [ssh]}
  four: {subnet: public, security_groups: [v4only], services: [ssh]}
  db: {subnet: private, security_groups: [web], services: [ssh, "tcp:23"]}
  quiet: {subnet: private, services: [ssh]}
"""


@pytest.fixture(scope="module")
def dual() -> Iterator[Running]:
    with running_text(DUAL, "v6k.yaml") as s:
        yield s


def test_the_instance_holds_its_global_ipv6_address_and_the_internet_sees_it(
    dual: Running,
) -> None:
    """16.4: the internet gateway routes IPv6 as it is: no NAT, the instance's own address
    is its address on the internet, both ways."""
    web = dual.model.instances["web"]
    addrs = dual.exec("web", "ip", "-6", "-o", "addr", "show", "dev", "eth0").stdout
    assert f"{web.ipv6_address}/128" in addrs
    r = dual.probe("internet", "2001:db8:1:1::10", tcp=22)
    assert (r.result, r.dst_ip) == ("reachable", str(web.ipv6_address))
    out = dual.exec("web", "ping", "-6", "-c1", "-W2", "2001:db8:ff00::10")
    assert out.returncode == 0, out.stdout + out.stderr


def test_egress_only_gateway_lets_out_and_refuses_what_the_internet_starts(
    dual: Running,
) -> None:
    """16.5: stateful and outbound-only: the private instance reaches the internet over
    IPv6, the internet cannot open a connection to it (a named drop at the gateway)."""
    out = dual.exec("db", "ping", "-6", "-c1", "-W2", "2001:db8:ff00::10")
    assert out.returncode == 0, out.stdout + out.stderr
    r = dual.probe("internet", "2001:db8:1:2::10", tcp=22)
    assert r.result == "blocked"
    assert r.reason is not None
    assert (r.reason.code, r.reason.component) == (
        "NO_POSSIBLE_DESTINATION",
        "egress_only_internet_gateway:eigw",
    )


def test_an_ipv4_rule_never_admits_ipv6(dual: Running) -> None:
    """8.8, 16.6: `all from 0.0.0.0/0` admits IPv4 only; IPv6 finds no rule of its own."""
    four = dual.model.instances["four"]
    assert dual.probe("internet", "four", tcp=22).result == "reachable"  # IPv4, by its EIP
    r = dual.probe("internet", str(four.ipv6_address), tcp=22)
    assert r.result == "blocked"
    assert r.reason is not None and r.reason.code == "ENI_SG_RULES_MISMATCH"


def test_ipv6_acl_entries_are_their_own_list(dual: Running) -> None:
    """8.7, 8.8: IPv6 entry 90 denies tcp/23 over IPv6 inside the VPC, IPv4 is untouched."""
    db = dual.model.instances["db"]
    r = dual.probe("web", str(db.ipv6_address), tcp=23)
    assert r.result == "blocked"
    assert r.reason is not None
    assert (r.reason.code, r.reason.component, r.reason.rule) == (
        "SUBNET_ACL_RESTRICTION",
        "network_acl:private",
        "90",
    )
    assert dual.probe("web", str(db.ipv6_address), tcp=22).result == "reachable"


def test_default_group_lets_ipv6_out_and_neighbour_discovery_is_not_filtered(
    dual: Running,
) -> None:
    """7.4, 16.7: the default group's ::/0 egress rule; it admits no ICMPv6 inbound, yet
    neighbour discovery with the subnet's router address works."""
    out = dual.exec("quiet", "ping", "-6", "-c1", "-W2", "2001:db8:ff00::10")
    assert out.returncode == 0, out.stdout + out.stderr
    neigh = dual.exec("quiet", "ip", "-6", "neigh", "show", "dev", "eth0").stdout
    assert "fe80::1" in neigh and "FAILED" not in neigh


def test_book_dual_stack_scenario_agrees_with_its_model() -> None:
    """4.5, 16.4, 16.5: every expectation of the dual-stack book scenario holds on the
    kernel, and the static walk (explain.ipv6) gives the same verdicts and reasons."""
    from pathlib import Path

    from netemu.explain.crosscheck import compare
    from netemu.explain.static import explain
    from netemu.probe.expect import spec_of
    from netemu.testing import running

    path = Path(__file__).parents[2] / "scenarios" / "book" / "webdb-dualstack.yaml"
    with running(str(path)) as s:
        outcomes = s.expectations()
        assert [o.why for o in outcomes if not o.ok] == []
        for o in outcomes:
            assert compare(o.result, explain(s.model, spec_of(o.expectation))) == [], o.title


def test_flow_logs_record_ipv6_flows_accepted_and_rejected() -> None:
    """12.1, 12.2, 12.4, 16.4: an accepted IPv6 connection gives ACCEPT records with the
    IPv6 addresses, both ways, on the instance's interface; one the security group refuses
    gives a REJECT record; a UDP exchange over IPv6 gives its own ACCEPT records."""
    import json
    import time
    from pathlib import Path

    from netemu.driver.state import state_dir
    from netemu.flowlogs import records

    text = DUAL.replace("name: v6k", "name: v6fl") + (
        "flow_logs:\n  all: {resource: main, traffic_type: ALL, max_aggregation_interval: 1}\n"
    )
    with running_text(text, "v6fl.yaml") as s:
        web = s.model.instances["web"]
        four = s.model.instances["four"]
        assert s.probe("internet", str(web.ipv6_address), tcp=22).result == "reachable"
        assert s.probe("internet", str(four.ipv6_address), tcp=22).result == "blocked"
        assert s.probe("internet", str(web.ipv6_address), udp=5000).result == "reachable"
        time.sleep(2.2)
        path = Path(state_dir(s.model.name)) / records.RECORDS
        rows = [json.loads(x) for x in path.read_text().splitlines()]
    mine = sorted(
        (r["action"], r["flow-direction"], r["srcaddr"], r["dstaddr"])
        for r in rows
        if r["log-status"] == "OK" and r["interface-id"] == web.eni.id and r["protocol"] == 6
    )
    assert mine == [
        ("ACCEPT", "egress", str(web.ipv6_address), "2001:db8:ff00::10"),
        ("ACCEPT", "ingress", "2001:db8:ff00::10", str(web.ipv6_address)),
    ]
    refused = {
        (r["action"], r["flow-direction"], r["srcaddr"], r["dstaddr"], r["type"])
        for r in rows
        if r["log-status"] == "OK" and r["interface-id"] == four.eni.id and r["protocol"] == 6
    }
    assert refused == {("REJECT", "ingress", "2001:db8:ff00::10", str(four.ipv6_address), "IPv6")}
    udp = sorted(
        (r["action"], r["flow-direction"], r["srcaddr"], r["dstaddr"], r["dstport"] or r["srcport"])
        for r in rows
        if r["log-status"] == "OK" and r["interface-id"] == web.eni.id and r["protocol"] == 17
    )
    assert udp == [
        ("ACCEPT", "egress", str(web.ipv6_address), "2001:db8:ff00::10", udp[0][4]),
        ("ACCEPT", "ingress", "2001:db8:ff00::10", str(web.ipv6_address), 5000),
    ], udp


def _capture(s: Running, ns: str, ifname: str, count: int, bpf: str) -> subprocess.Popen[str]:
    dump = subprocess.Popen(
        ["ip", "netns", "exec", ns, "tcpdump", "-l", "-n", "-vvv", "-i", ifname, "-c", str(count), bpf],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert dump.stderr and "listening on" in dump.stderr.readline()
    return dump


def test_instance_leases_its_ipv6_address_by_dhcpv6_and_its_route_by_router_advertisement(
    dual: Running,
) -> None:
    """16.7, 16.8: eth0 carries the model's address as a /128 leased by the subnet's
    dnsmasq (its lease file holds it), and the default route comes from a router
    advertisement (proto ra) of the subnet's fe80::1."""
    web = dual.model.instances["web"]
    addr = dual.exec("web", "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global")
    assert addr.stdout.split()[3] == f"{web.ipv6_address}/128"
    route = dual.exec("web", "ip", "-6", "route", "show", "default").stdout
    assert route.startswith("default via fe80::1 dev eth0 proto ra"), route
    with open(os.path.join(state_dir(dual.model.name), dhcp.leases("public"))) as f:
        assert f" {web.ipv6_address} " in f.read()


def test_router_advertisement_sets_managed_and_dhcpv6_reply_carries_the_model_address(
    dual: Running,
) -> None:
    """16.8: on the wire, the VPC router's advertisement has the managed flag (addresses by
    DHCPv6) and a prefix without the autonomous flag (no SLAAC); a DHCPv6 exchange run
    again from the instance is answered with its reserved address."""
    db = dual.model.instances["db"]
    ins = n.instance_ns(dual.model.name, "db")
    dump = _capture(dual, ins, "eth0", 1, "icmp6 and ip6[40] == 134")
    try:  # a router solicitation, as the kernel sends at link up
        solicit = (
            "from scapy.all import IPv6, ICMPv6ND_RS, send;"
            "send(IPv6(dst='ff02::2')/ICMPv6ND_RS(), iface='eth0', verbose=0)"
        )
        r = subprocess.run(
            ["ip", "netns", "exec", ins, sys.executable, "-c", solicit],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        ra, _ = dump.communicate(timeout=10)
    finally:
        dump.kill()
        dump.wait()
    assert "fe80::1 > " in ra and "router advertisement" in ra, ra
    assert re.search(r"Flags \[managed[,\]]", ra), ra
    assert re.search(r"prefix info option .*2001:db8:1:2::/64, Flags \[none\]", ra), ra
    dump = _capture(dual, ins, "eth0", 4, "udp port 546 or udp port 547")
    try:  # dhclient once more with the instance's DUID (the server binds the address to
        # it), its event script a no-op: the lease is not applied again
        state = state_dir(dual.model.name)
        with open(os.path.join(state, dhcpv6.leases("db"))) as f:
            duid = [line for line in f if line.startswith("default-duid")]
        lf = os.path.join(state, "dhcp", "again.leases6")
        with open(lf, "w") as f:
            f.writelines(duid)
        subprocess.run(
            ["ip", "netns", "exec", ins, "timeout", "4", "dhclient", "-6", "-1", "-d",
             "--no-pid", "-cf", "/dev/null", "-sf", "/bin/true", "-lf", lf, "eth0"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        exchange, _ = dump.communicate(timeout=10)
    finally:
        dump.kill()
        dump.wait()
    assert "dhcp6 reply" in exchange, exchange
    assert f"IA_ADDR {db.ipv6_address}" in exchange, exchange


def test_udp_over_ipv6_is_answered_where_the_rules_allow_it(dual: Running) -> None:
    """16.4, 16.6, 16.10: a UDP datagram from the internet reaches the public instance's IPv6
    address on the port its group allows and is answered; another port meets the group;
    the static walk gives the same verdicts."""
    from netemu.explain.crosscheck import compare
    from netemu.explain.static import explain

    web = str(dual.model.instances["web"].ipv6_address)
    ok = dual.probe("internet", web, udp=5000)
    assert (ok.result, ok.dst_ip) == ("reachable", web)
    refused = dual.probe("internet", web, udp=5001)
    assert refused.result == "blocked"
    assert refused.reason is not None and refused.reason.code == "ENI_SG_RULES_MISMATCH"
    for r in (ok, refused):
        assert compare(r, explain(dual.model, r.spec)) == []


def test_udp_leaves_through_the_egress_only_gateway_and_its_answer_comes_back(
    dual: Running,
) -> None:
    """16.5, 16.10: the private instance's UDP datagram goes out through the egress-only gateway
    and its answer comes back (stateful). A datagram the internet sends in through the
    internet gateway is answered out through the egress-only gateway: to the gateway that
    answer is a datagram the VPC starts (docs/aws-decisions.md), unlike a TCP SYN-ACK. The
    static walk agrees on both."""
    from netemu.explain.crosscheck import compare
    from netemu.explain.static import explain

    db = str(dual.model.instances["db"].ipv6_address)
    out = dual.probe("db", "2001:db8:ff00::10", udp=5000)
    inbound = dual.probe("internet", db, udp=5000)
    assert (out.result, inbound.result) == ("reachable", "reachable")
    for r in (out, inbound):
        assert compare(r, explain(dual.model, r.spec)) == []


def test_udp_the_internet_starts_is_dropped_by_the_egress_only_gateway() -> None:
    """16.5: in a VPC whose only way to the internet is the egress-only gateway, a
    datagram the internet starts is dropped there, with the gateway's name."""
    text = """
name: v6u
vpcs:
  main: {cidr: 10.61.0.0/16, ipv6: true}
egress_only_internet_gateways:
  eigw: {vpc: main}
subnets:
  private: {vpc: main, cidr: 10.61.2.0/24, ipv6_cidr: "2001:db8:1:2::/64", assign_ipv6_address_on_creation: true, route_table: private}
route_tables:
  private:
    vpc: main
    routes:
      - {destination: "::/0", egress_only_internet_gateway: eigw}
security_groups:
  open:
    vpc: main
    ingress:
      - {protocol: udp, port: 5000, cidr_ipv6: "::/0"}
instances:
  db: {subnet: private, security_groups: [open]}
"""
    with running_text(text, "v6u.yaml") as s:
        db = str(s.model.instances["db"].ipv6_address)
        assert s.probe("db", "2001:db8:ff00::10", udp=5000).result == "reachable"
        inbound = s.probe("internet", db, udp=5000)
        assert inbound.result == "blocked"
        assert inbound.reason is not None
        assert (inbound.reason.code, inbound.reason.component, inbound.reason.leg) == (
            "NO_POSSIBLE_DESTINATION",
            "egress_only_internet_gateway:eigw",
            "request",
        )


def test_verify_reads_ipv6_state_back_and_names_what_differs() -> None:
    """16.7, 16.8 (netemu verify): a dual-stack scenario verifies clean with its IPv6
    addresses, routes and rules read from the kernel, the DHCPv6 address and the router
    advertisement's default route included; a removed default route, a stray global
    address and a removed ip -6 rule are each named."""
    from netemu import verify
    from netemu.render import render

    with running_text(DUAL.replace("name: v6k", "name: v6v"), "v6v.yaml") as s:
        plan = render(s.model)
        assert verify.verify(s.model, plan) == []
        # The next router advertisement would put the route back before verify reads it.
        assert s.exec("web", "sysctl", "-qw", "net.ipv6.conf.eth0.accept_ra=0").returncode == 0
        s.exec("web", "ip", "-6", "route", "del", "default")
        sns, rns = n.subnet_ns("v6v", "public"), n.router_ns("v6v", "main")
        subprocess.run(["ip", "-n", sns, "addr", "add", "2001:db8:1:1::99/64", "dev", "up"],
                       check=True)  # fmt: skip
        subprocess.run(["ip", "-n", rns, "-6", "rule", "del", "pref", "1000"], check=True)
        found = [str(d) for d in verify.verify(s.model, plan)]
        assert (
            f"{n.instance_ns('v6v', 'web')}: route: missing IPv6 route ::/0 via fe80::1 "
            "dev eth0 table 254 metric 1024" in found
        ), found
        assert f"{sns}: address: unexpected 2001:db8:1:1::99/64 on up" in found, found
        assert any(d.startswith(f"{rns}: rule: missing IPv6 rule 1000: fwmark") for d in found)
        assert len(found) == 3, found


APPLY_BASE = """
name: v6a
vpcs:
  main: {cidr: 10.63.0.0/16, ipv6: true}
subnets:
  private: {vpc: main, cidr: 10.63.2.0/24, ipv6_cidr: "2001:db8:1:2::/64", route_table: private}
route_tables:
  private: {vpc: main}
instances:
  db: {subnet: private}
"""
APPLY_EIGW = (
    APPLY_BASE.replace(
        "subnets:\n", "egress_only_internet_gateways:\n  eigw: {vpc: main}\nsubnets:\n"
    )
    .replace(
        "  private: {vpc: main}\n",
        "  private:\n    vpc: main\n    routes:\n"
        '      - {destination: "::/0", egress_only_internet_gateway: eigw}\n',
    )
    .replace("db: {subnet: private}", 'db: {subnet: private, ipv6_address: "2001:db8:1:2::10"}')
)


def test_apply_creates_and_deletes_an_egress_only_gateway_live() -> None:
    """16.3, 16.5, 16.8, 16.9: `apply` names the new egress-only gateway, its route and the
    instance's new IPv6 address in AWS terms; the running instance leases that address by
    DHCPv6 at once and reaches the internet through the gateway; deleting the gateway and
    its route cuts that path again."""
    from live import live

    with live(APPLY_BASE) as s:
        changed = s.apply(APPLY_EIGW)
        lines = [c.text for c in changed.changes]
        assert "create egress-only internet gateway eigw for vpc main" in lines, lines
        assert "assign ipv6 address 2001:db8:1:2::10 to instance db" in lines, lines
        ins = n.instance_ns("v6a", "db")
        addr = subprocess.run(["ip", "-n", ins, "-6", "-o", "addr", "show", "scope", "global"],
                              capture_output=True, text=True).stdout  # fmt: skip
        assert "2001:db8:1:2::10/128" in addr, addr
        ping = ["ip", "netns", "exec", ins, "ping", "-6", "-c1", "-W2", "2001:db8:ff00::10"]
        out = subprocess.run(ping, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        back = [c.text for c in s.apply(APPLY_BASE).changes]
        assert "delete egress-only internet gateway eigw" in back, back
        assert subprocess.run(ping, capture_output=True, text=True).returncode != 0
