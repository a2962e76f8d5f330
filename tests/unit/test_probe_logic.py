"""Probe logic without root, table-driven: reason lookup from a rule's log prefix, hop
assembly from sightings, expectation judging (aliases included), NFLOG message parsing
(issue 11; contract 5 and 6.3; ref 13.2, 13.3)."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest

from netemu.model import load_model_text
from netemu.model.types import Expectation
from netemu.probe import hops, nflog
from netemu.probe.endpoints import destination, source
from netemu.probe.engine import ProbeResult, ProbeSpec
from netemu.probe.expect import judge
from netemu.probe.hops import Sighting
from netemu.probe.reason import Reason, from_drop, parse_prefix, satisfies
from netemu.render import nft
from netemu.render import render as render_plan

SCENARIO = """
name: plogic
vpcs: {main: {cidr: 172.30.0.0/16}, other: {cidr: 10.9.0.0/16}}
internet_gateways: {igw: {vpc: main}}
subnets:
  public: {vpc: main, cidr: 172.30.0.0/24, public_ip_on_launch: true, route_table: public}
  far: {vpc: other, cidr: 10.9.0.0/24}
route_tables:
  public: {vpc: main, routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]}
instances:
  web: {subnet: public, private_ip: 172.30.0.10}
  lonely: {subnet: far, private_ip: 10.9.0.10}
internet:
  hosts: {client: {ip: 198.51.100.10}}
"""
MODEL, _ = load_model_text(SCENARIO)


# --- reason lookup --------------------------------------------------------------------

PREFIXES = [
    # (log prefix, parsed)
    ("ne1|HOP", "hop"),
    (
        "ne1|SUBNET_ACL_RESTRICTION|ingress|100|network_acl:db",
        nft.Drop("SUBNET_ACL_RESTRICTION", "network_acl:db", "ingress", "100"),
    ),
    (
        "ne1|BAD_STATE_ROUTE|egress|192.0.2.0/24|route_table:private",
        nft.Drop("BAD_STATE_ROUTE", "route_table:private", "egress", "192.0.2.0/24"),
    ),
    ("ne1|BAD_STATE|||instance:db", nft.Drop("BAD_STATE", "instance:db")),
    ("network_acl:db ingress rule * deny", None),  # prose is not read
    ("ne1|X|egress", None),
    ("ne0|CODE|||thing:x", None),
    ("", None),
]


@pytest.mark.parametrize(("prefix", "parsed"), PREFIXES)
def test_log_prefix_is_looked_up_field_by_field(prefix: str, parsed: object) -> None:
    assert parse_prefix(prefix) == parsed


@pytest.mark.parametrize(
    "drop",
    [
        nft.Drop("SUBNET_ACL_RESTRICTION", "network_acl:db", "ingress", "*"),
        nft.Drop("ENI_SG_RULES_MISMATCH", "security_group:a,b", "egress", "sg-1,sg-2"),
        nft.Drop("BAD_STATE", "instance:db", None, "stopped"),
        nft.Drop("NO_ROUTE_TO_DESTINATION", "internet"),
    ],
)
def test_a_drop_survives_its_log_prefix(drop: nft.Drop) -> None:
    assert parse_prefix(drop.prefix()) == drop


def test_a_long_component_is_cut_to_the_kernel_prefix_limit() -> None:
    drop = nft.Drop("ENI_SG_RULES_MISMATCH", "security_group:" + ",".join(["g" * 32] * 5))
    assert len(drop.prefix()) <= nft.LOG_PREFIX_MAX
    parsed = parse_prefix(drop.prefix())
    assert isinstance(parsed, nft.Drop) and parsed.code == "ENI_SG_RULES_MISMATCH"


def test_every_drop_rule_of_the_plan_carries_a_structured_prefix() -> None:
    """The kernel rule is the source of every reason: no drop rule without one."""
    for rs in render_plan(MODEL).rulesets:
        for cmd in rs.commands:
            rule = cmd.get("add", {}).get("rule")
            if not rule or {"drop": None} not in rule["expr"]:
                continue
            logs = [e["log"] for e in rule["expr"] if "log" in e]
            assert logs, rule
            assert isinstance(parse_prefix(logs[0]["prefix"]), nft.Drop), rule


REFINED = [
    # (from, to, dropping rule, code, component, origin)
    ("web", "client", nft.Drop("BAD_STATE_ROUTE", "route_table:public", "egress", "x"),
     "BAD_STATE_ROUTE", "route_table:public", "rule"),
    ("web", "10.9.0.10", nft.Drop("IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS",
                                  "internet_gateway:igw", "egress"),
     "DISCONNECTED_VPCS", "internet_gateway:igw", "model"),
    ("lonely", "172.30.0.10", nft.Drop("NO_ROUTE_TO_DESTINATION", "route_table:far", "egress"),
     "DISCONNECTED_VPCS", "route_table:far", "model"),
    ("client", "10.9.0.10", nft.Drop("NO_ROUTE_TO_DESTINATION", "internet", "egress"),
     "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS", "vpc:other", "model"),
    ("client", "172.30.0.10", nft.Drop("NO_ROUTE_TO_DESTINATION", "internet", "egress"),
     "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS", "internet_gateway:igw", "model"),
    ("client", "192.0.2.1", nft.Drop("NO_ROUTE_TO_DESTINATION", "internet", "egress"),
     "NO_ROUTE_TO_DESTINATION", "internet", "rule"),
]  # fmt: skip


@pytest.mark.parametrize(("src", "dst", "drop", "code", "component", "origin"), REFINED)
def test_only_the_documented_codes_come_from_the_model(
    src: str, dst: str, drop: nft.Drop, code: str, component: str, origin: str
) -> None:
    s = source(MODEL, src)
    r = from_drop(drop, "request", MODEL, s, destination(MODEL, dst, s))
    assert (r.code, r.component, r.origin) == (code, component, origin)


# --- hop assembly ---------------------------------------------------------------------


def _s(leg: str, component: str, ttl: int, order: int) -> Sighting:
    return Sighting(leg, component, ttl, order)  # type: ignore[arg-type]


NAT_WAY = [
    _s("request", "subnet:private", 64, 0),
    _s("request", "vpc_router:main", 63, 2),
    _s("request", "subnet:public", 62, 1),  # read out of order: the TTL tells
]
HOPS = [
    # (sightings, arrived, replied, drop leg, hops or None)
    ([], False, False, "request", None),
    (NAT_WAY, False, False, "request",
     ["instance:db", "subnet:private", "vpc_router:main", "subnet:public"]),
    ([*NAT_WAY, _s("request", "nat_gateway:nat", 61, 3), _s("request", "subnet:public", 60, 4)],
     True, True, None,
     ["instance:db", "subnet:private", "vpc_router:main", "subnet:public", "nat_gateway:nat",
      "subnet:public", "host:h"]),
    ([_s("request", "subnet:a", 64, 0), _s("reply", "subnet:a", 64, 1)], True, False, "reply",
     ["instance:db", "subnet:a", "host:h", "subnet:a"]),
    ([_s("request", "subnet:a", 64, 0), _s("request", "host:h", 63, 1)], True, True, None,
     ["instance:db", "subnet:a", "host:h"]),  # a destination that logs is not shown twice
    ([_s("request", "subnet:a", 64, 1), _s("request", "vpc_router:x", 64, 0)], False, False,
     "request", ["instance:db", "vpc_router:x", "subnet:a"]),  # equal TTL: read order
    ([_s("request", "subnet:a", 64, 0), _s("reply", "internet", 64, 1),
      _s("reply", "subnet:a", 63, 2), _s("reply", "internet", 64, 3),
      _s("reply", "subnet:a", 63, 4)], True, False, "reply",
     ["instance:db", "subnet:a", "host:h", "internet", "subnet:a"]),  # a retransmitted reply
]  # fmt: skip


@pytest.mark.parametrize(("seen", "arrived", "replied", "leg", "want"), HOPS)
def test_hops_are_the_places_the_packet_was_seen_in_ttl_order(
    seen: list[Sighting], arrived: bool, replied: bool, leg: str | None, want: list[str] | None
) -> None:
    got = hops.assemble("instance:db", "host:h", seen, arrived, replied, leg)  # type: ignore[arg-type]
    assert (got.hops if got else None) == want
    assert got is None or got.observed


MODEL_WAY = ["instance:db", "subnet:private", "vpc_router:main", "subnet:public",
             "nat_gateway:nat", "subnet:public", "vpc_router:main", "internet_gateway:igw"]  # fmt: skip


@pytest.mark.parametrize(
    ("died", "ttl", "cut"),
    [
        ("subnet:public", 62, 4),  # on the way in to the NAT gateway: before it
        ("subnet:public", 60, 6),  # on the way out of it: after it
        ("vpc_router:main", 59, 7),
        ("subnet:public", None, 4),  # no TTL: the first occurrence
    ],
)
def test_modelled_hops_cut_at_the_visit_the_ttl_points_at(
    died: str, ttl: int | None, cut: int
) -> None:
    got = hops.modelled(MODEL_WAY, [], died, "request", ttl)
    assert got.hops == MODEL_WAY[:cut] and not got.observed


# --- expectation judging --------------------------------------------------------------


def _result(result: str, code: str | None = None, component: str = "x:y") -> ProbeResult:
    reason = Reason(code, None, component, None, "request", "") if code else None
    spec = ProbeSpec("web", "client", "tcp", 22)
    return ProbeResult(spec, "a", "b", result, None, None, reason, [], 1)  # type: ignore[arg-type]


JUDGED = [
    # (expected result, expected reason, got result, got code, got component, ok)
    ("reachable", None, "reachable", None, "", True),
    ("blocked", None, "reachable", None, "", False),
    ("blocked", "BAD_STATE", "blocked", "BAD_STATE", "instance:db", True),
    ("blocked", "INSTANCE_STOPPED", "blocked", "BAD_STATE", "instance:db", True),
    ("blocked", "INSTANCE_STOPPED", "blocked", "BAD_STATE", "nat_gateway:n", False),
    ("blocked", "NAT_GATEWAY_NO_INBOUND", "blocked", "NO_POSSIBLE_DESTINATION",
     "nat_gateway:nat", True),
    ("blocked", "NAT_GATEWAY_NO_INBOUND", "blocked", "NGW_REQUIRES_SOURCE_IN_VPC",
     "nat_gateway:nat", True),
    ("blocked", "NAT_GATEWAY_NO_INBOUND", "blocked", "SUBNET_ACL_RESTRICTION",
     "network_acl:a", False),
    ("blocked", "SUBNET_ACL_RESTRICTION", "blocked", None, "", False),
]  # fmt: skip


@pytest.mark.parametrize(("want", "reason", "got", "code", "component", "ok"), JUDGED)
def test_expectations_are_judged_with_old_names_as_aliases(
    want: str, reason: str | None, got: str, code: str | None, component: str, ok: bool
) -> None:
    e = Expectation("web", "client", "tcp", 22, want, reason)  # type: ignore[arg-type]
    assert judge(MODEL, e, _result(got, code, component)).ok is ok


def test_satisfies_needs_a_reason() -> None:
    assert not satisfies("BAD_STATE", None)


# --- NFLOG parsing --------------------------------------------------------------------


def _ipv4(proto: int, l4: bytes, ttl: int = 61, ident: int = 4242) -> bytes:
    src, dst = IPv4Address("172.30.1.10").packed, IPv4Address("198.51.100.20").packed
    return (
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0, ttl, proto, 0, src, dst) + l4
    )


def _attr(kind: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def _message(prefix: str, packet: bytes) -> bytes:
    body = struct.pack("!BBH", 2, 0, 17) + _attr(nflog.NFULA_PREFIX, prefix.encode() + b"\0")
    body += _attr(nflog.NFULA_PAYLOAD, packet)
    kind = (nflog.NFNL_SUBSYS_ULOG << 8) | nflog.NFULNL_MSG_PACKET
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


TCP_SYN = struct.pack("!HHIIBBHHH", 40000, 80, 0x4E450001, 0, 0x50, 0x02, 1024, 0, 0)
PACKETS = [
    (6, TCP_SYN, {"sport": 40000, "dport": 80, "tcp_flags": 0x02}),
    (17, struct.pack("!HHHH", 5353, 53, 20, 0) + nft.PROBE_PAYLOAD, {"sport": 5353, "dport": 53}),
    (1, struct.pack("!BBHHH", 8, 0, 0, 777, 1) + nft.PROBE_PAYLOAD,
     {"icmp_type": 8, "icmp_code": 0, "icmp_id": 777}),
    (47, b"\0\0\x08\0", {}),
]  # fmt: skip


@pytest.mark.parametrize(("proto", "l4", "fields"), PACKETS)
def test_nflog_messages_give_prefix_and_headers(
    proto: int, l4: bytes, fields: dict[str, int]
) -> None:
    data = _message("ne1|HOP", _ipv4(proto, l4)) + _message("other", _ipv4(proto, l4, ttl=9))
    (prefix, p), (other, q) = nflog.parse_messages(data)
    assert (prefix, other) == ("ne1|HOP", "other")
    assert (p.protocol, p.ip_id, p.ttl, q.ttl) == (proto, 4242, 61, 9)
    assert str(p.src) == "172.30.1.10" and str(p.dst) == "198.51.100.20"
    for key, value in fields.items():
        assert getattr(p, key) == value


def test_nflog_parsing_skips_what_is_not_a_packet_message() -> None:
    assert nflog.parse_messages(b"") == []
    assert nflog.parse_messages(struct.pack("=IHHII", 16, 2, 0, 0, 0)) == []
    assert nflog.parse_ipv4(b"\x60" + b"\0" * 39) is None  # IPv6
