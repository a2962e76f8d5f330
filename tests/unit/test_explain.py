"""Static explain without root: AWS's evaluation order and rules on the model (ref 8.16, 13),
the shipped scenarios and labs answered as the kernel answers them, and the command line."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from netemu import lab_catalog as catalog
from netemu.explain import explain, fuzz, reach
from netemu.explain.crosscheck import compare
from netemu.explain.static import client_ports
from netemu.model import load_model, load_model_text
from netemu.probe.engine import ProbeResult, ProbeSpec
from netemu.probe.expect import judge, spec_of
from netemu.probe.reason import Reason

ROOT = Path(__file__).resolve().parents[2]
BOOK = sorted((ROOT / "scenarios" / "book").glob("*.yaml"))

BASE = """
name: ut
vpcs:
  v: {{cidr: 10.1.0.0/16}}
internet_gateways:
  igw: {{vpc: v}}
subnets:
  pub: {{vpc: v, cidr: 10.1.0.0/24, public_ip_on_launch: true, route_table: pub{acl}}}
  priv: {{vpc: v, cidr: 10.1.1.0/24, route_table: priv}}
route_tables:
  pub:
    vpc: v
    routes: [{{destination: 0.0.0.0/0, internet_gateway: igw}}]
  priv:
    vpc: v
    routes: {priv_routes}
{extra}
security_groups:
  web:
    vpc: v
    ingress: {web_in}
  db:
    vpc: v
    ingress:
      - {{protocol: tcp, port: 3306, security_group: web}}
instances:
  web: {{subnet: pub, security_groups: [web]}}
  db: {{subnet: priv, security_groups: [db]}}
internet:
  hosts:
    client: {{ip: 198.51.100.10}}
"""


def model(**kw: str) -> object:
    values = {"acl": "", "priv_routes": "[]", "extra": "", "web_in": "[]", **kw}
    m, _ = load_model_text(BASE.format(**values))
    return m


def why(
    m: object,
    src: str,
    dst: str,
    proto: str = "tcp",
    port: int | None = 22,
    sport: int | None = 40000,
) -> tuple[str, str | None, str | None, str | None, str | None]:
    r = explain(m, ProbeSpec(src, dst, proto, port, sport))  # type: ignore[arg-type]
    x = r.reason
    if x is None:
        return (r.result, None, None, None, None)
    return (r.result, x.code, x.component, x.rule, x.leg)


def test_acl_first_matching_number_decides_then_the_star_rule() -> None:
    """8.2: lowest number first, first match decides; nothing matches -> `*` deny."""
    acl = (
        "network_acls:\n  edge:\n    vpc: v\n    ingress:\n"
        "      - {rule: 200, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
        "      - {rule: 100, protocol: tcp, port: 22, cidr: 198.51.100.0/24, action: deny}\n"
        "    egress:\n      - {rule: 100, protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0,"
        " action: allow}\n"
    )
    m = model(acl=", network_acl: edge", extra=acl, web_in="[{protocol: all, cidr: 0.0.0.0/0}]")
    assert why(m, "client", "web") == (
        "blocked",
        "SUBNET_ACL_RESTRICTION",
        "network_acl:edge",
        "100",
        "request",
    )
    assert why(m, "client", "web", port=80) == ("reachable", None, None, None, None)
    # 8.1 stateless: the reply to a port below 32768 meets only the `*` rule.
    assert why(m, "client", "web", port=80, sport=20000) == (
        "blocked",
        "SUBNET_ACL_RESTRICTION",
        "network_acl:edge",
        "*",
        "reply",
    )


def test_security_group_reference_matches_private_addresses_of_members() -> None:
    """7.6: `security_group: web` admits web's private address, not the internet."""
    m = model(web_in="[{protocol: all, cidr: 0.0.0.0/0}]")
    assert why(m, "web", "db", port=3306)[0] == "reachable"
    assert why(m, "web", "db", port=22)[:3] == (
        "blocked",
        "ENI_SG_RULES_MISMATCH",
        "security_group:db",
    )


def test_stateful_groups_let_replies_out_without_egress_rules() -> None:
    """7.10: a group with no egress rule still answers what it admitted."""
    text = BASE.replace("    ingress: {web_in}", "    ingress: {web_in}\n    egress: []")
    m, _ = load_model_text(
        text.format(
            acl="",
            priv_routes="[]",
            extra="",
            web_in="[{protocol: tcp, port: 22, cidr: 0.0.0.0/0}]",
        )
    )
    assert why(m, "client", "web")[0] == "reachable"
    assert why(m, "web", "client", port=443)[:2] == ("blocked", "ENI_SG_RULES_MISMATCH")


def test_route_lookup_longest_prefix_and_blackhole() -> None:
    """4.5, 4.10: the longest prefix wins; a blackhole drops with BAD_STATE_ROUTE."""
    routes = (
        "[{destination: 0.0.0.0/0, blackhole: true},"
        " {destination: 198.51.100.0/24, nat_gateway: nat}]"
    )
    extra = "nat_gateways:\n  nat: {subnet: pub, elastic_ip: 203.0.113.50}"
    m = model(priv_routes=routes, extra=extra)
    assert why(m, "db", "192.0.2.1", port=80) == (
        "blocked",
        "BAD_STATE_ROUTE",
        "route_table:priv",
        "0.0.0.0/0",
        "request",
    )
    r = explain(m, ProbeSpec("db", "client", "tcp", 80, 40000))
    assert r.result == "reachable" and r.seen_source == "203.0.113.50"  # 6.7


def test_no_route_and_unheld_addresses() -> None:
    """13.3 NO_ROUTE_TO_DESTINATION: no route, no ENI at the address, nobody on the internet."""
    m = model()
    assert why(m, "db", "client", port=80)[1:3] == ("NO_ROUTE_TO_DESTINATION", "route_table:priv")
    assert why(m, "web", "10.1.0.99", proto="icmp", port=None, sport=None)[1:3] == (
        "NO_ROUTE_TO_DESTINATION",
        "subnet:pub",
    )
    assert why(m, "web", "192.0.2.99", proto="udp", port=9)[1:3] == (
        "NO_ROUTE_TO_DESTINATION",
        "internet",
    )
    assert why(m, "client", "db")[1:3] == (
        "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS",
        "internet_gateway:igw",
    )


def test_reply_through_nat_gateway_without_state_is_not_translated() -> None:
    """Fuzzer finding (seed 517): a reply routed through a NAT gateway that never saw the
    request; a TCP answer cannot open a connection there (6.9) and passes untranslated."""
    extra = "nat_gateways:\n  nat: {subnet: pub, elastic_ip: 203.0.113.50}"
    routes = "[{destination: 0.0.0.0/0, nat_gateway: nat}]"
    text = BASE.format(
        acl="", priv_routes=routes, extra=extra, web_in="[{protocol: all, cidr: 0.0.0.0/0}]"
    )
    text = text.replace(
        "db: {subnet: priv, security_groups: [db]}",
        "db: {subnet: priv, security_groups: [web], public_ip: true}",
    )
    m, _ = load_model_text(text)
    r = explain(m, ProbeSpec("client", "db", "tcp", 22, 40000))
    assert r.result == "reachable"
    assert any("untranslated" in n for n in r.notes)


def test_default_source_port_is_tried_on_every_stretch_an_acl_splits() -> None:
    """8.12: without a source port the answer may depend on it; explain says so."""
    acl = (
        "network_acls:\n  edge:\n    vpc: v\n    ingress:\n"
        "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
        "    egress:\n      - {rule: 100, protocol: tcp, ports: 50000-65535, cidr: 0.0.0.0/0,"
        " action: allow}\n"
    )
    m = model(acl=", network_acl: edge", extra=acl, web_in="[{protocol: all, cidr: 0.0.0.0/0}]")
    assert client_ports(m) == [32768, 50000]
    r = explain(m, ProbeSpec("client", "web", "tcp", 22))
    assert r.result == "blocked"
    assert any("depends on the source port" in n for n in r.notes)


@pytest.mark.parametrize("path", BOOK, ids=[p.stem for p in BOOK])
def test_book_scenarios_pass_statically(path: Path) -> None:
    m, _ = load_model(str(path))
    for e in m.expectations:
        o = judge(m, e, explain(m, spec_of(e)))
        assert o.ok, (o.title, o.why)


def _intended() -> dict[str, dict[str, object]]:
    spec = importlib.util.spec_from_file_location("labs_k", ROOT / "tests/kernel/test_labs.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "tests/kernel"))
    spec.loader.exec_module(mod)
    return mod.INTENDED  # type: ignore[no-any-return]


def test_labs_fail_statically_exactly_where_the_kernel_fails() -> None:
    """The model reproduces every failure the kernel tests record for the broken labs
    (tests/kernel/test_labs.py INTENDED) and passes every reference solution."""
    intended = _intended()
    for lab in catalog.all_labs():
        for path, want in ((lab.scenario_path, intended[lab.name]), (lab.solution_path, {})):
            m, _ = catalog.graded_model(lab, path)
            # Downloads (`size:`) are the kernel's alone (path MTU discovery).
            downloads = {
                judge(m, e, explain(m, spec_of(e))).title for e in m.expectations if e.size
            }
            want = {k: v for k, v in want.items() if k not in downloads}
            got = {}
            for e in m.expectations:
                if e.size:
                    continue
                r = explain(m, spec_of(e))
                o = judge(m, e, r)
                if not o.ok:
                    x = r.reason
                    blocked = x is not None and r.result == "blocked"
                    rule = x.rule if x else None
                    if x and x.code == "ENI_SG_RULES_MISMATCH":  # the groups' IDs, which vary
                        assert rule and all(g.startswith("sg-") for g in rule.split(","))
                        rule = "sg-ids"
                    got[o.title] = (
                        (x.code, x.component, x.direction or "", rule, x.leg)
                        if blocked and x
                        else None
                    )
            assert got == want, (lab.name, path)


def test_compare_accepts_a_silent_kernel_only_where_the_model_expects_one() -> None:
    spec = ProbeSpec("a", "b", "tcp", 22)
    base = dict(
        spec=spec,
        src_ip="1",
        dst_ip="2",
        result="blocked",
        seen_source=None,
        seen_port=None,
        hops=[],
        elapsed_ms=0,
    )
    silent = ProbeResult(**base, reason=None)  # type: ignore[arg-type]
    m = model()
    loud = explain(m, ProbeSpec("db", "client", "tcp", 80, 40000))
    assert compare(silent, loud) == ["reason: kernel None, model NO_ROUTE_TO_DESTINATION"]
    named = ProbeResult(
        **base,
        reason=Reason(
            "NO_ROUTE_TO_DESTINATION",
            "egress",  # type: ignore[arg-type]
            "route_table:priv",
            None,
            "request",
            "",
        ),
    )
    assert compare(named, loud, strict=True) == []


def test_generated_scenarios_are_valid_and_shrink() -> None:
    for seed in range(40):
        d, m = fuzz.generate(seed)
        assert fuzz.probes(m, seed, 20)
    d, _ = fuzz.generate(1)
    assert all(fuzz.to_yaml(v) != fuzz.to_yaml(d) for v in fuzz.variants(d)[:5])


def test_reach_walks_each_class_pair_once() -> None:
    from bench.scenario_gen import scenario

    m, _ = load_model_text(scenario(200, "ur"))
    mx = reach.matrix(m, traffic=[("tcp", 22), ("tcp", 80), ("tcp", 443)])
    assert mx.walks <= 11 * 11 * 3  # 10 subnets and one host: classes, not 201 x 200 pairs
    grid = mx.grid(1)
    assert grid[0][0] is None and grid[0][1] is not None
    same = {(c.result, c.reason.code if c.reason else None) for row in grid for c in row if c}
    assert ("reachable", None) in same


def netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_explain_command_json_is_the_probe_json_and_says_modelled() -> None:
    out = netemu("explain", "scenarios/book/webdb.yaml", "internet", "db", "--tcp", "22", "--json")
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["modelled"] is True and doc["network_path_found"] is False
    assert doc["reason"]["code"] == "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"
    assert set(doc["reason"]) >= {"code", "direction", "component", "rule", "leg"}
    assert doc["forward_path"][0]["component"] == "internet_host:internet"
    assert doc["explanations"][0]["explanation_code"] == doc["reason"]["code"]


def test_test_static_writes_json_and_junit(tmp_path: Path) -> None:
    junit = tmp_path / "r.xml"
    out = netemu("test", "scenarios/book/webdb.yaml", "--static", "--json", "--junit", str(junit))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["modelled"] is True and doc["failed"] == 0 and doc["passed"] == 8
    assert ET.parse(junit).getroot().get("tests") == "8"


def test_reach_csv_and_bad_names() -> None:
    out = netemu("reach", "scenarios/book/webdb.yaml", "--from", "web", "--tcp", "22", "--csv")
    assert out.returncode == 0
    assert out.stdout.splitlines()[0] == "from,to,traffic,result,code,component,leg"
    assert "web,db,tcp/22,reachable" in out.stdout
    bad = netemu("explain", "scenarios/book/webdb.yaml", "nobody", "db", "--icmp")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr


def test_pytest_plugin_judges_by_the_model_without_root_and_says_so(tmp_path: Path) -> None:
    """NETEMU_STATIC=1 stands in for a host without root (both take the static path)."""
    test = tmp_path / "test_static_plugin.py"
    test.write_text(
        f"NETEMU_SCENARIO = {str(ROOT / 'scenarios/book/webdb.yaml')!r}\n\n"
        "def test_db_is_private(netemu_scenario):\n"
        "    r = netemu_scenario.probe('internet', 'db', tcp=22)\n"
        "    assert r.result == 'blocked' and r.to_json()['modelled'] is True\n"
        "    assert netemu_scenario.probe('web', 'db', tcp=3306).result == 'reachable'\n"
        "    assert [o.ok for o in netemu_scenario.expectations()] == [True] * 8\n"
    )
    env = {**__import__("os").environ, "NETEMU_STATIC": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(test)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "judged by the model" in out.stdout


def test_reply_remapped_by_a_nat_gateway_is_not_recognised() -> None:
    """6.8: a NAT gateway maps source ports to random ones of 1024-65535; a UDP answer that
    a route sends through one comes back from another port, which the client does not take
    for the reply (blocked, and no kernel rule names it)."""
    extra = "nat_gateways:\n  nat: {subnet: pub, elastic_ip: 203.0.113.50}"
    routes = "[{destination: 0.0.0.0/0, nat_gateway: nat}]"
    text = BASE.format(
        acl="", priv_routes=routes, extra=extra, web_in="[{protocol: all, cidr: 0.0.0.0/0}]"
    )
    text = text.replace(
        "db: {subnet: priv, security_groups: [db]}",
        "db: {subnet: priv, security_groups: [web], public_ip: true}",
    )
    m, _ = load_model_text(text)
    r = explain(m, ProbeSpec("client", "db", "udp", 53, 40000))
    assert r.result == "blocked" and r.reason and r.reason.code == "REPLY_FROM_OTHER_ADDRESS"
    assert not r.recognisable
    # Every port is remapped (6.8), not only those below 1024: the same for 8080.
    r = explain(m, ProbeSpec("client", "db", "udp", 8080, 40000))
    assert r.result == "blocked" and r.reason and r.reason.code == "REPLY_FROM_OTHER_ADDRESS"


def test_shrinking_keeps_only_what_the_disagreement_needs() -> None:
    """The shrinker takes objects and rules out while the property holds (here: a route
    table of VPC v0 still sends 0.0.0.0/0 somewhere), and the result is still valid."""
    from netemu.explain.crosscheck import shrink

    d, _ = fuzz.generate(1)

    def holds(v: fuzz.Data) -> bool:
        try:
            fuzz.load(v)
        except Exception:
            return False
        routes = [r for t in v["route_tables"].values() for r in t["routes"]]
        return any(r["destination"] == "0.0.0.0/0" for r in routes)

    assert holds(d)
    small = shrink(d, holds, budget=400)
    assert holds(small)
    assert sum(len(t["routes"]) for t in small["route_tables"].values()) == 1
    (route,) = [r for t in small["route_tables"].values() for r in t["routes"]]
    # Only what that route needs is left: its target, and the target's subnet and group.
    assert len(small["instances"]) == (1 if "instance" in route else 0)
    assert len(small["subnets"]) <= 1 and len(small["security_groups"]) <= 1


def _pkt(src: str, dst: str, proto: int = 6, dport: int = 22, icmp: int | None = None) -> object:
    from ipaddress import IPv4Address

    from netemu.explain.packet import Packet

    return Packet(IPv4Address(src), IPv4Address(dst), proto, 40000, dport, icmp, syn=True)


def test_route_table_lookup_prefers_longest_prefix_and_user_whole_subnet_routes() -> None:
    """4.5 longest prefix; 4.6 a route to a whole subnet CIDR (NAT gateway) beats local;
    addresses of the VPC CIDR outside every subnet have no usable route."""
    from ipaddress import IPv4Address

    from netemu.explain.route_table import lookup

    routes = (
        "[{destination: 10.1.0.0/24, nat_gateway: nat}, {destination: 0.0.0.0/0, blackhole: true}]"
    )
    m = model(priv_routes=routes, extra="nat_gateways:\n  nat: {subnet: pub, elastic_ip: auto}")
    table = m.route_tables["priv"]  # type: ignore[attr-defined]
    kind = lambda ip: lookup(m, table, IPv4Address(ip)).kind  # type: ignore[arg-type]  # noqa: E731
    assert kind("10.1.0.7") == "nat_gateway"
    assert kind("10.1.1.7") == "subnet"
    assert kind("10.1.9.7") == "unheld"
    assert kind("8.8.8.8") == "blackhole"
    c = lookup(m, table, IPv4Address("10.1.9.7"))  # type: ignore[arg-type]
    assert (
        c.kernel_name() == "route_table:priv local route 10.1.0.0/16: no subnet holds the address"
    )


@pytest.mark.parametrize(
    "proto,ports,icmp_type,packet,hit",
    [
        (-1, None, None, ("tcp", 22, None), True),  # 7.5: -1 is everything
        (6, (20, 25), None, ("tcp", 22, None), True),
        (6, (20, 21), None, ("tcp", 22, None), False),
        (17, None, None, ("tcp", 22, None), False),
        (1, None, 8, ("icmp", 0, 8), True),  # echo request admitted by type 8
        (1, None, 0, ("icmp", 0, 8), False),
        (47, None, None, ("tcp", 22, None), False),  # another protocol never matches tcp
    ],
)
def test_rule_traffic_matches_like_the_kernel_rules(
    proto: int,
    ports: tuple[int, int] | None,
    icmp_type: int | None,
    packet: tuple[str, int, int | None],
    hit: bool,
) -> None:
    """7.5 and 8.8: protocol, port range, ICMP type; the same semantics as render.nft."""
    from netemu.explain.packet import PROTOCOLS, matches_traffic

    name, dport, icmp = packet
    p = _pkt("10.0.0.1", "10.0.0.2", PROTOCOLS[name], dport, icmp)
    assert matches_traffic(proto, ports, icmp_type, -1 if icmp_type is not None else None, p) is hit  # type: ignore[arg-type]
