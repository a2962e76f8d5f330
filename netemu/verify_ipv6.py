"""`netemu verify` for IPv6: a dual-stack scenario's IPv6 addresses, routes and rules, read back.

The plan's IPv6 objects (render.ipv6) must be there and nothing else may be, as for IPv4
(netemu.verify). What runs after the plan is applied is part of its intent: a running
instance's IPv6 address comes from DHCPv6 (a /128 on eth0) and its default route from a
router advertisement (`default via fe80::1 dev eth0 proto ra`, render.dhcpv6), so both are
expected from the model; a stopped instance (or one without an IPv6 address, for the
route) may or may not hold them.

What the IPv6 kernel adds by itself is allowed: link-local addresses made from the MAC,
`::1` on lo, and the kernel's own routes (protocol kernel) of every address: local,
anycast and multicast routes, fe80::/64 and each address's prefix route.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv6Interface, IPv6Network

from netemu.driver import observe as ob
from netemu.model.types import Model
from netemu.render import names as n
from netemu.render.ipv6 import NEAR
from netemu.render.plan import Plan

MAIN, LOCAL = 254, 255
USER_METRIC = 1024  # what the kernel gives an IPv6 route added without a metric
KERNEL_PROTO = 2
DEFAULT_RULES = frozenset({(0, LOCAL, None, None), (32766, MAIN, None, None)})
KERNEL_KINDS = frozenset({"local", "type 4", "type 5"})  # local, anycast, multicast
LOOPBACK = ("lo", "::1/128", False)

AddrKey = tuple[str, str, bool]  # ifname cidr noprefixroute
RouteKey = tuple[int, str, str, str | None, str | None, int]  # table dst kind via dev metric
RuleKey = tuple[int, int, str | None, int | None]  # priority table iif fwmark


@dataclass
class Wanted6:
    addresses: set[AddrKey] = field(default_factory=lambda: {LOOPBACK})
    optional_addresses: set[AddrKey] = field(default_factory=set)
    routes: set[RouteKey] = field(default_factory=set)
    optional_routes: set[RouteKey] = field(default_factory=set)
    rules: set[RuleKey] = field(default_factory=lambda: set(DEFAULT_RULES))
    # An instance whose IPv6 address was unassigned live keeps the lease on eth0 until it
    # ends, as an instance on AWS does; the VPC no longer delivers to it (render.ipv6).
    stale_lease: IPv6Network | None = None


def route_key(
    table: int, dst: str, kind: str, via: str | None, dev: str | None, metric: int | None
) -> RouteKey:
    # The kernel lists an unreachable or blackhole IPv6 route on lo: the device says nothing.
    dev = dev if kind == "unicast" else None
    return (table, str(IPv6Network(dst)), kind, via, dev, metric or USER_METRIC)


def wanted(model: Model, plan: Plan, enabled: Iterable[str]) -> dict[str, Wanted6]:
    """Per namespace with IPv6 switched on (`enabled`), what the plan and DHCPv6 ask for."""
    out = {name: Wanted6() for name in enabled}
    for a in plan.addresses:
        if ":" in a.cidr and a.ns in out:
            out[a.ns].addresses.add((a.ifname, a.cidr, a.noprefixroute))
    for r in plan.routes:
        if ":" in r.dst and r.ns in out:
            out[r.ns].routes.add(route_key(r.table, r.dst, r.kind, r.via, r.dev, r.metric))
    for rule in plan.rules:
        if rule.family == 6 and rule.ns in out:
            out[rule.ns].rules.add((rule.priority, rule.table, rule.iif, rule.fwmark))
    for inst in model.instances.values():  # DHCPv6's and the router advertisements' part
        w = out.get(n.instance_ns(model.name, inst.name))
        if w is None or model.subnets[inst.subnet].ipv6_cidr is None:
            continue
        route = route_key(MAIN, "::/0", "unicast", NEAR, n.ENI_IF, None)
        addrs = {(n.ENI_IF, f"{inst.ipv6_address}/128", False)} if inst.ipv6_address else set()
        # Without an address of its own nothing waits for the advertisement (render.dhcpv6):
        # the route may come a moment later.
        if inst.ipv6_address is None:
            w.stale_lease = model.subnets[inst.subnet].ipv6_cidr
        if inst.state == "running" and inst.ipv6_address:
            w.addresses |= addrs
            w.routes.add(route)
        else:
            w.optional_addresses |= addrs
            w.optional_routes.add(route)
    return out


def differences(w: Wanted6, seen: ob.NamespaceSeen) -> list[tuple[str, str]]:
    """(what, message) for each IPv6 object missing or unexpected in one namespace."""
    out: list[tuple[str, str]] = []
    have = {(a.ifname, a.cidr, a.noprefixroute) for a in seen.ipv6_addresses}
    for ifname, cidr, npr in sorted(w.addresses - have):
        out.append(("address", f"missing {cidr} on {ifname}" + _npr(npr)))
    for ifname, cidr, npr in sorted(have - w.addresses - w.optional_addresses):
        if not _link_local(cidr) and not _stale(w, ifname, cidr):  # link-local: the kernel's
            out.append(("address", f"unexpected {cidr} on {ifname}" + _npr(npr)))
    prefixes = {(a[0], str(IPv6Interface(a[1]).network)) for a in have}
    live: set[RouteKey] = set()
    for r in seen.ipv6_routes:
        key = route_key(r.table, r.dst, r.kind, r.via, r.dev, r.metric)
        live.add(key)
        if key in w.routes or key in w.optional_routes:
            continue
        if r.proto == KERNEL_PROTO and (r.kind in KERNEL_KINDS or (r.dev, r.dst) in prefixes):
            continue
        if r.proto == KERNEL_PROTO and r.dst == "fe80::/64":
            continue
        out.append(("route", f"unexpected IPv6 route {_fmt(key)}"))
    for key in sorted(w.routes - live, key=str):
        out.append(("route", f"missing IPv6 route {_fmt(key)}"))
    rules = {(r.priority, r.table, r.iif, r.fwmark) for r in seen.ipv6_rules if not r.other}
    out += [("rule", f"unexpected IPv6 rule {r}") for r in seen.ipv6_rules if r.other]
    out += [("rule", f"missing IPv6 rule {_fmt_rule(k)}") for k in sorted(w.rules - rules, key=str)]
    out += [
        ("rule", f"unexpected IPv6 rule {_fmt_rule(k)}") for k in sorted(rules - w.rules, key=str)
    ]
    return out


def _stale(w: Wanted6, ifname: str, cidr: str) -> bool:
    iface = IPv6Interface(cidr)
    net = w.stale_lease
    return (
        ifname == n.ENI_IF
        and net is not None
        and iface.ip in net
        and iface.network.prefixlen == 128
    )


def _link_local(cidr: str) -> bool:
    return IPv6Interface(cidr).ip.is_link_local


def _npr(noprefixroute: bool) -> str:
    return " (noprefixroute)" if noprefixroute else ""


def _fmt(key: RouteKey) -> str:
    table, dst, kind, via, dev, metric = key
    parts = ([] if kind == "unicast" else [kind]) + [dst]
    parts += [f"via {via}"] if via else []
    parts += [f"dev {dev}"] if dev else []
    return " ".join([*parts, f"table {table}", f"metric {metric}"])


def _fmt_rule(key: RuleKey) -> str:
    priority, table, iif, fwmark = key
    sel = (f" iif {iif}" if iif else "") + (f" fwmark {fwmark:#x}" if fwmark is not None else "")
    return f"{priority}:{sel or ' from all'} lookup {table}"
