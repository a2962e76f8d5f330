"""IPv6-only subnets (ipv6_native) with real packets (reference 16.2, 16.4-16.6, 16.11, 16.12)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netemu.testing import Running, running, running_text

# The IPv6-only subnet routes ::/0 to the internet gateway here (the book scenario uses an
# egress-only gateway), so the internet can reach its instance where the groups allow.
NATIVE = """
name: v6n
vpcs:
  main: {cidr: 10.64.0.0/16, ipv6: true}
internet_gateways:
  igw: {vpc: main}
subnets:
  dual: {vpc: main, cidr: 10.64.1.0/24, ipv6_cidr: "2001:db8:1:1::/64", assign_ipv6_address_on_creation: true, route_table: out}
  only6: {vpc: main, ipv6_native: true, ipv6_cidr: "2001:db8:1:6::/64", route_table: out}
route_tables:
  out:
    vpc: main
    routes:
      - {destination: 0.0.0.0/0, internet_gateway: igw}
      - {destination: "::/0", internet_gateway: igw}
security_groups:
  app:
    vpc: main
    ingress:
      - {protocol: tcp, port: 22, cidr_ipv6: "::/0"}
      - {protocol: icmpv6, cidr_ipv6: "::/0"}
      - {protocol: tcp, port: 8080, security_group: peer}
  peer:
    vpc: main
    ingress:
      - {protocol: tcp, port: 22, cidr_ipv6: "::/0"}
      - {protocol: icmpv6, cidr_ipv6: "::/0"}
instances:
  web: {subnet: dual, security_groups: [peer], services: [ssh]}
  app: {subnet: only6, security_groups: [app], services: [ssh, "tcp:8080", "tcp:9000"]}
"""


@pytest.fixture(scope="module")
def native() -> Iterator[Running]:
    with running_text(NATIVE, "v6n.yaml") as s:
        yield s


def test_the_instance_holds_no_ipv4_address_and_its_resource_name(native: Running) -> None:
    """16.11, 16.12: eth0 has no IPv4 address (no DHCPv4 lease was asked for), its IPv6
    address came by DHCPv6 and its default route by router advertisement; the host name
    is the instance id."""
    app = native.model.instances["app"]
    assert native.exec("app", "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout == ""
    assert native.exec("app", "ip", "-4", "route").stdout == ""
    six = native.exec("app", "ip", "-6", "-o", "addr", "show", "dev", "eth0").stdout
    assert f"{app.ipv6_address}/128" in six
    assert "default via fe80::1" in native.exec("app", "ip", "-6", "route").stdout
    assert native.exec("app", "hostname").stdout.strip() == app.id


def test_it_reaches_a_dual_stack_instance_and_the_internet_over_ipv6(native: Running) -> None:
    """16.4, 16.11: to the dual-stack instance over the VPC's local route, to the internet
    through the internet gateway untranslated, and from the internet back to it."""
    web, app = native.model.instances["web"], native.model.instances["app"]
    for dst in (str(web.ipv6_address), "2001:db8:ff00::10"):
        out = native.exec("app", "ping", "-6", "-c1", "-W2", dst)
        assert out.returncode == 0, out.stdout + out.stderr
    r = native.probe("web", str(app.ipv6_address), tcp=22)
    assert (r.result, r.src_ip) == ("reachable", str(web.ipv6_address))
    r = native.probe("internet", str(app.ipv6_address), tcp=22)
    assert (r.result, r.dst_ip) == ("reachable", str(app.ipv6_address))


def test_security_groups_apply_to_the_ipv6_only_instance(native: Running) -> None:
    """7.6, 16.6: a group reference matches the member's IPv6 address; a port no rule
    admits is dropped by the security group."""
    app = native.model.instances["app"]
    assert native.probe("web", str(app.ipv6_address), tcp=8080).result == "reachable"
    r = native.probe("internet", str(app.ipv6_address), tcp=8080)
    assert r.result == "blocked" and r.reason is not None
    assert r.reason.code == "ENI_SG_RULES_MISMATCH"
    r = native.probe("web", str(app.ipv6_address), tcp=9000)
    assert r.result == "blocked" and r.reason is not None
    assert r.reason.code == "ENI_SG_RULES_MISMATCH"


def test_an_ipv4_probe_to_it_exits_2_with_the_reason(native: Running) -> None:
    """A probe by IPv4 to an instance that has none is a usage mistake: exit 2, one line."""
    out = subprocess.run(
        [sys.executable, "-m", "netemu.cli", "probe", "web", "app", "--tcp", "22"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.strip() == (
        "netemu: instance 'app' has no IPv4 address (its subnet is IPv6-only); "
        "probe it over IPv6 (-6, family: 6)"
    )


def test_verify_finds_the_kernel_as_planned(native: Running) -> None:
    """netemu verify: no IPv4 address or lease is expected on the instance, the IPv6 side
    (DHCPv6 address, router advertisement route) is read back."""
    from netemu import verify
    from netemu.render import render

    assert verify.verify(native.model, render(native.model)) == []


def test_apply_adds_and_removes_an_ipv6_only_subnet_and_its_instance_live() -> None:
    """16.9, 16.11: `apply` creates the IPv6-only subnet and launches its instance, which
    leases its IPv6 address and is reachable at once; the reverse removes both; the kernel
    verifies clean after each step."""
    from live import live

    from netemu import verify
    from netemu.render import render

    after = NATIVE.replace("name: v6n", "name: v6na")
    only6 = '  only6: {vpc: main, ipv6_native: true, ipv6_cidr: "2001:db8:1:6::/64", '
    only6 += "route_table: out}\n"
    app = '  app: {subnet: only6, security_groups: [app], services: [ssh, "tcp:8080", '
    app += '"tcp:9000"]}\n'
    before = after.replace(only6, "").replace(app, "")
    assert before != after and only6 not in before and app not in before
    with live(before) as s:
        lines = [c.text for c in s.apply(after).changes]
        assert "create subnet only6 (2001:db8:1:6::/64) in vpc main" in lines, lines
        assert "launch instance app in subnet only6 (2001:db8:1:6::10)" in lines, lines
        r = Running(s.model).probe("web", "2001:db8:1:6::10", tcp=22)
        assert r.result == "reachable"
        assert verify.verify(s.model, render(s.model)) == []
        back = [c.text for c in s.apply(before).changes]
        assert "delete subnet only6" in back, back
        assert verify.verify(s.model, render(s.model)) == []


def test_book_ipv6_only_scenario_agrees_with_its_model() -> None:
    """16.5, 16.11: every expectation of scenarios/book/ipv6-only.yaml holds on the kernel
    (the egress-only gateway included), and the static walk gives the same verdicts."""
    from netemu.explain.crosscheck import compare
    from netemu.explain.static import explain
    from netemu.probe.expect import spec_of

    path = Path(__file__).parents[2] / "scenarios" / "book" / "ipv6-only.yaml"
    with running(str(path)) as s:
        outcomes = s.expectations()
        assert [o.why for o in outcomes if not o.ok] == []
        for o in outcomes:
            assert compare(o.result, explain(s.model, spec_of(o.expectation))) == [], o.title


def test_flow_logs_record_the_ipv6_only_instances_flows() -> None:
    """12.1, 12.2, 16.11: its ENI's records carry IPv6 addresses: ACCEPT both ways for a
    connection its group admits, REJECT for one it refuses."""
    import json
    import time

    from netemu.driver.state import state_dir
    from netemu.flowlogs import records

    text = NATIVE.replace("name: v6n", "name: v6nf") + (
        "flow_logs:\n  all: {resource: main, traffic_type: ALL, max_aggregation_interval: 1}\n"
    )
    with running_text(text, "v6nf.yaml") as s:
        web, app = s.model.instances["web"], s.model.instances["app"]
        assert s.probe("web", str(app.ipv6_address), tcp=22).result == "reachable"
        assert s.probe("web", str(app.ipv6_address), tcp=9000).result == "blocked"
        time.sleep(2.2)
        path = Path(state_dir(s.model.name)) / records.RECORDS
        rows = [json.loads(x) for x in path.read_text().splitlines()]
    mine = {
        (r["action"], r["flow-direction"], r["srcaddr"], r["dstaddr"], r["dstport"] or r["srcport"])
        for r in rows
        if r["log-status"] == "OK" and r["interface-id"] == app.eni.id and r["protocol"] == 6
    }
    w, a = str(web.ipv6_address), str(app.ipv6_address)
    assert ("ACCEPT", "ingress", w, a, 22) in mine, mine
    assert ("REJECT", "ingress", w, a, 9000) in mine, mine
    assert any(m[:4] == ("ACCEPT", "egress", a, w) for m in mine), mine
