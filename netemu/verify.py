"""`netemu verify`: the live kernel state of a scenario, checked against its plan.

Every namespace, link, address, route, policy rule, sysctl and nftables chain must be the one
the plan asked for, and nothing else may exist: no namespace the plan does not list, no link
to the host or to another scenario, no stray default route, no extra rule. Enforcement must
be really active: each namespace that should filter holds its nftables table with every
chain and rule, and connection tracking works where security groups need state.

What the kernel adds by itself is allowed: `lo` with 127.0.0.1/8, the local and broadcast
routes of each address, the connected route of each address without `noprefixroute`, and
the three default policy rules. What runs after the plan is applied is part of its intent:
a running instance's address and default route come from its DHCP client, so they are
expected from the model (its private IP, and the subnet's base+1 as gateway) whether or
not the plan lists them; a stopped instance may or may not hold them.

Comparison is pure (`compare`); reading the kernel is the driver's (`driver.observe`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Interface
from typing import Any

from netemu import verify_ipv6
from netemu.driver import netns, process
from netemu.driver import observe as ob
from netemu.driver import state as st
from netemu.model.types import Model
from netemu.render import names as n
from netemu.render.plan import Plan, Ruleset

MAIN, LOCAL = 254, 255
DEFAULT_RULES = frozenset(
    {(0, LOCAL, None, None), (32766, MAIN, None, None), (32767, 253, None, None)}
)
KERNEL_PROTO = 2
CONNTRACK_USERS = frozenset({"ct", "snat", "dnat", "masquerade"})  # nft JSON expressions
TABLE_NAMES = {MAIN: "main", LOCAL: "local", 253: "default"}
LOOPBACK = ("lo", "127.0.0.1/8", False)
# Devices some kernels create in every new namespace when tunnel modules are loaded (unless
# net.core.fb_tunnels_only_for_init_net is set): harmless while down and unaddressed.
FALLBACK_DEVICES = frozenset(
    {"tunl0", "sit0", "gre0", "gretap0", "erspan0", "ip_vti0", "ip6tnl0", "ip6gre0", "ip6_vti0"}
)


@dataclass(frozen=True, order=True)
class Difference:
    ns: str
    what: str  # namespace, link, address, route, rule, nftables, conntrack, sysctl, process
    message: str

    def __str__(self) -> str:
        return f"{self.ns}: {self.what}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"namespace": self.ns, "what": self.what, "message": self.message}


RouteKey = tuple[int, str, str, str | None, str | None, int]  # table dst kind via dev metric
AddrKey = tuple[str, str, bool]  # ifname cidr noprefixroute
RuleKey = tuple[int, int, str | None, int | None]  # priority table iif fwmark


@dataclass
class ChainWanted:
    hook: str | None = None
    prio: int | None = None
    type: str | None = None
    policy: str | None = None
    comments: list[str | None] = field(default_factory=list)
    # Each rule's body as the kernel lists it once the plan is loaded (observe.rule_body);
    # None: not compared (no reference was computed).
    bodies: list[str] | None = None


@dataclass
class Wanted:
    """What one namespace must hold (and, for `optional_*`, may hold)."""

    links: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)  # peer ns, if, mac
    addresses: set[AddrKey] = field(default_factory=lambda: {LOOPBACK})
    optional_addresses: set[AddrKey] = field(default_factory=set)
    routes: set[RouteKey] = field(default_factory=set)
    optional_routes: set[RouteKey] = field(default_factory=set)
    rules: set[RuleKey] = field(default_factory=lambda: set(DEFAULT_RULES))
    # Rules with a source (`from 10.0.2.10/32`, a secondary ENI's, render.network_interfaces).
    sourced: set[tuple[int, int, str]] = field(default_factory=set)
    sysctls: dict[str, str] = field(default_factory=dict)
    chains: dict[str, ChainWanted] | None = None  # None: no nftables table at all
    sets: dict[str, int | None] = field(default_factory=dict)  # None: count not compared
    tables: set[tuple[str, str]] = field(default_factory=set)  # beside inet netemu (arp...)
    conntrack: bool = False
    ipv6: bool = True
    v6: verify_ipv6.Wanted6 | None = None  # a namespace with IPv6 on: its IPv6 objects
    ruleset_error: str | None = None  # the plan's own ruleset does not load


def _route_key(table: int, dst: str, kind: str, via: str | None, dev: str | None,
               metric: int | None) -> RouteKey:  # fmt: skip
    return (table, str(IPv4Interface(dst).network), kind, via, dev, metric or 0)


def _kernel_routes(ifname: str, cidr: str, noprefixroute: bool) -> set[RouteKey]:
    """Routes the kernel adds for an address (net/ipv4/fib_frontend.c fib_add_ifaddr)."""
    iface = IPv4Interface(cidr)
    net, ip = iface.network, str(iface.ip)
    out: set[RouteKey] = {(LOCAL, f"{ip}/32", "local", None, ifname, 0)}
    if net.prefixlen < 32:
        if not noprefixroute:
            kind, table = ("local", LOCAL) if ifname == "lo" else ("unicast", MAIN)
            out.add((table, str(net), kind, None, ifname, 0))
        if net.prefixlen < 31:
            out.add((LOCAL, f"{net.broadcast_address}/32", "broadcast", None, ifname, 0))
    return out


def _ruleset_wanted(rs: Ruleset, w: Wanted, conntrack: bool = True) -> None:
    w.chains = {}
    for cmd in rs.commands:
        for verb in ("add", "create", "insert"):
            body = cmd.get(verb)
            if not isinstance(body, dict):
                continue
            if _other_family(body):
                # The arp and netdev tables of render.arp: the table must be there; their
                # chains are not listed with the inet table's.
                if "table" in body:
                    w.tables.add((body["table"]["family"], body["table"]["name"]))
                continue
            if "chain" in body:
                c = body["chain"]
                w.chains[c["name"]] = ChainWanted(
                    c.get("hook"), c.get("prio"), c.get("type") if c.get("hook") else None,
                    c.get("policy"),
                )  # fmt: skip
            elif "rule" in body:
                r = body["rule"]
                chain = w.chains.setdefault(r["chain"], ChainWanted())
                if verb == "insert":
                    chain.comments.insert(0, r.get("comment"))
                else:
                    chain.comments.append(r.get("comment"))
            for kind in ("set", "map"):
                if kind in body:
                    s = body[kind]
                    interval = "interval" in (s.get("flags") or [])
                    # A set the packet path fills (it has a size: nft.add_packet_set) holds
                    # whatever the traffic put there; its count is not the plan's.
                    filled = "size" in s
                    w.sets[s["name"]] = None if interval or filled else len(s.get("elem", []))
    w.conntrack = conntrack and _uses_conntrack(rs.commands)


def _other_family(body: dict[str, Any]) -> bool:
    obj = next(iter(body.values()), None)
    return isinstance(obj, dict) and obj.get("family", "inet") != "inet"


def _uses_conntrack(value: Any) -> bool:
    """A ruleset needs connection tracking if it matches on state or translates addresses."""
    if isinstance(value, dict):
        return any(k in CONNTRACK_USERS or _uses_conntrack(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_uses_conntrack(v) for v in value)
    return False


def wanted(model: Model, plan: Plan) -> dict[str, Wanted]:
    """Per namespace, what the plan and the model's runtime intent (DHCP) ask for."""
    out = {ns.name: Wanted() for ns in plan.namespaces}
    for ns in plan.namespaces:
        w = out[ns.name]
        for key, value in (*ns.sysctls, *ns.late_sysctls):
            w.sysctls[key] = value
        w.ipv6 = ("net/ipv6/conf/all/disable_ipv6", "1") not in ns.sysctls
    for link in plan.links:
        out[link.ns_a].links[link.ifname_a] = (link.ns_b, link.ifname_b, link.mac_a)
        out[link.ns_b].links[link.ifname_b] = (link.ns_a, link.ifname_a, link.mac_b)
    # IPv4 objects here; IPv6 ones (render.ipv6) where IPv6 is on, by verify_ipv6.
    enabled = [name for name, w in out.items() if w.ipv6]
    for name, w6 in verify_ipv6.wanted(model, plan, enabled).items():
        out[name].v6 = w6
    for a in plan.addresses:
        if ":" not in a.cidr:
            out[a.ns].addresses.add((a.ifname, a.cidr, a.noprefixroute))
    for r in plan.routes:
        if ":" not in r.dst:
            out[r.ns].routes.add(_route_key(r.table, r.dst, r.kind, r.via, r.dev, r.metric))
    for rule in plan.rules:
        if rule.family == 4 and rule.src:
            out[rule.ns].sourced.add((rule.priority, rule.table, rule.src))
        elif rule.family == 4:
            out[rule.ns].rules.add((rule.priority, rule.table, rule.iif, rule.fwmark))
    for rs in plan.rulesets:
        _ruleset_wanted(rs, out[rs.ns])
    for inst in model.instances.values():  # DHCP's part (render.dhcp)
        if n.instance_ns(model.name, inst.name) not in out:
            continue
        w = out[n.instance_ns(model.name, inst.name)]
        sub = model.subnets[inst.subnet]
        if sub.cidr is None:
            continue  # an IPv6-only subnet: no DHCP lease (16.11); verify_ipv6 checks IPv6
        addr = (n.ENI_IF, f"{inst.private_ip}/{sub.cidr.prefixlen}", False)
        route = _route_key(MAIN, "0.0.0.0/0", "unicast", str(sub.router_ip), n.ENI_IF, 0)
        if inst.state == "running":
            w.addresses.add(addr)
            w.routes.add(route)
        elif addr not in w.addresses:
            w.optional_addresses.add(addr)
            w.optional_routes.add(route)
    return out


def _fmt_route(key: RouteKey) -> str:
    table, dst, kind, via, dev, metric = key
    parts = [] if kind == "unicast" else [kind]
    parts.append(dst)
    if via:
        parts.append(f"via {via}")
    if dev:
        parts.append(f"dev {dev}")
    parts.append(f"table {TABLE_NAMES.get(table, table)}")
    if metric:
        parts.append(f"metric {metric}")
    return " ".join(parts)


def _fmt_rule(key: RuleKey) -> str:
    priority, table, iif, fwmark = key
    sel = (f" iif {iif}" if iif else "") + (f" fwmark {fwmark:#x}" if fwmark is not None else "")
    return f"{priority}:{sel or ' from all'} lookup {TABLE_NAMES.get(table, table)}"


def _links(name: str, w: Wanted, seen: ob.NamespaceSeen) -> list[Difference]:
    out = []
    by_name = {link.ifname: link for link in seen.links.values()}
    for ifname, (peer_ns, peer_if, mac) in sorted(w.links.items()):
        link = by_name.get(ifname)
        if link is None:
            out.append(Difference(name, "link", f"missing {ifname} (to {peer_if} in {peer_ns})"))
            continue
        if link.kind != "veth" or (link.peer_ns, link.peer_ifname) != (peer_ns, peer_if):
            where = _peer_text(link)
            wrong = f"{ifname} leads to {where}, not to {peer_if} in {peer_ns}"
            out.append(Difference(name, "link", wrong))
        if mac and (link.mac or "").lower() != mac.lower():
            out.append(Difference(name, "link", f"{ifname} has MAC {link.mac}, not {mac}"))
        if not link.up:
            out.append(Difference(name, "link", f"{ifname} is down"))
    for link in seen.links.values():
        if link.ifname == "lo" or link.ifname in w.links:
            continue
        if link.ifname in FALLBACK_DEVICES and not link.up:
            continue
        out.append(Difference(name, "link", f"unexpected {link.ifname}: {_peer_text(link)}"))
    return out


def _peer_text(link: ob.LinkSeen) -> str:
    kind = link.kind or "a device without a link kind (a real interface?)"
    if link.peer_ns == ob.HOST:
        return f"{kind} whose peer {link.peer_ifname or ''} is in the host's own namespace"
    if link.peer_ns:
        return f"{kind} whose peer {link.peer_ifname or '?'} is in {link.peer_ns}"
    if link.peer_index is not None:
        return f"{kind} on {link.peer_ifname or link.peer_index} in the same namespace"
    return kind


def _addresses(name: str, w: Wanted, seen: ob.NamespaceSeen) -> list[Difference]:
    have = {(a.ifname, a.cidr, a.noprefixroute) for a in seen.addresses}
    out = [
        Difference(name, "address", f"missing {cidr} on {ifname}"
                   + (" (noprefixroute)" if npr else ""))
        for ifname, cidr, npr in sorted(w.addresses - have)
    ]  # fmt: skip
    out += [
        Difference(name, "address", f"unexpected {cidr} on {ifname}"
                   + (" (noprefixroute)" if npr else ""))
        for ifname, cidr, npr in sorted(have - w.addresses - w.optional_addresses)
    ]  # fmt: skip
    if not w.ipv6:
        out += [
            Difference(name, "address", f"unexpected IPv6 address {a.cidr} on {a.ifname}")
            for a in seen.ipv6_addresses
        ]
    return out


def _routes(name: str, w: Wanted, seen: ob.NamespaceSeen) -> list[Difference]:
    kernel: set[RouteKey] = set()  # an unexpected address is reported, not its routes
    live = {(a.ifname, a.cidr, a.noprefixroute) for a in seen.addresses}
    for a in w.addresses | w.optional_addresses | live:
        kernel |= _kernel_routes(*a)
    have: dict[RouteKey, ob.RouteSeen] = {}
    out = []
    for r in seen.routes:
        key = (r.table, r.dst, r.kind, r.via, r.dev, r.metric)
        if r.multipath:
            out.append(Difference(name, "route", f"unexpected multipath route {_fmt_route(key)}"))
        have[key] = r
    for k in sorted(w.routes - set(have), key=str):
        out.append(Difference(name, "route", f"missing {_fmt_route(k)}"))
    for key, r in sorted(have.items(), key=lambda kv: str(kv[0])):
        if key in w.routes or key in w.optional_routes:
            continue
        if r.proto == KERNEL_PROTO and key in kernel:
            continue
        out.append(Difference(name, "route", f"unexpected {_fmt_route(key)}"))
    return out


def _rules(name: str, w: Wanted, seen: ob.NamespaceSeen) -> list[Difference]:
    have: set[RuleKey] = set()
    sourced: set[tuple[int, int, str]] = set()
    out = []
    for r in seen.rules:
        key = (r.priority, r.table, r.iif, r.fwmark)
        from_ = (r.priority, r.table, str(r.other[0][1])) if len(r.other) == 1 else None
        if from_ in w.sourced and r.other[0][0] == "from" and not (r.iif or r.fwmark):
            sourced.add(from_)
            continue
        if r.other:
            extra = " ".join(f"{k}={v}" for k, v in r.other)
            out.append(Difference(name, "rule", f"unexpected {_fmt_rule(key)} with {extra}"))
            continue
        have.add(key)
    for k in sorted(w.rules - have, key=str):
        out.append(Difference(name, "rule", f"missing {_fmt_rule(k)}"))
    for priority, table, cidr in sorted(w.sourced - sourced):
        out.append(Difference(name, "rule", f"missing {priority}: from {cidr} lookup {table}"))
    for k in sorted(have - w.rules, key=str):
        out.append(Difference(name, "rule", f"unexpected {_fmt_rule(k)}"))
    return out


def _nftables(name: str, w: Wanted, seen: ob.NamespaceSeen) -> list[Difference]:
    nft = seen.nft
    if nft.error:
        return [Difference(name, "nftables", f"cannot list the ruleset: {nft.error}")]
    ours = ("inet", n.NFT_TABLE)
    out = [
        Difference(name, "nftables", f"unexpected table {family} {table}")
        for family, table in nft.tables
        if ((family, table) != ours and (family, table) not in w.tables) or w.chains is None
    ]
    if w.chains is None:
        return out
    if w.ruleset_error:
        out.append(Difference(name, "nftables", f"the plan's ruleset does not load: "
                              f"{w.ruleset_error}"))  # fmt: skip
    if ours not in nft.tables:
        return [*out, Difference(name, "nftables", f"table inet {n.NFT_TABLE} is missing")]
    for chain, want in sorted(w.chains.items()):
        got = nft.chains.get(chain)
        if got is None:
            out.append(Difference(name, "nftables", f"chain {chain} is missing"))
            continue
        base = (want.hook, want.prio, want.type, want.policy if want.hook else None)
        live = (got.hook, got.prio, got.type, got.policy if got.hook else None)
        if base != live:
            out.append(Difference(name, "nftables", f"chain {chain} is {live}, not {base}"))
        if list(got.comments) != want.comments:
            out.append(
                Difference(
                    name, "nftables",
                    f"chain {chain} holds {len(got.comments)} rule(s), the plan "
                    f"{len(want.comments)}" + _first_rule_difference(want.comments, got.comments),
                )
            )  # fmt: skip
        elif want.bodies is not None and list(got.bodies) != want.bodies:
            out.append(Difference(name, "nftables", _body_difference(chain, want, got)))
    for chain in sorted(set(nft.chains) - set(w.chains)):
        out.append(Difference(name, "nftables", f"unexpected chain {chain}"))
    for s, count in sorted(w.sets.items()):
        if s not in nft.sets:
            out.append(Difference(name, "nftables", f"set {s} is missing"))
        elif count is not None and nft.sets[s] != count:
            held = f"set {s} holds {nft.sets[s]} element(s), the plan {count}"
            out.append(Difference(name, "nftables", held))
    for s in sorted(set(nft.sets) - set(w.sets)):
        out.append(Difference(name, "nftables", f"unexpected set {s}"))
    return out


def _body_difference(chain: str, want: ChainWanted, got: ob.ChainSeen) -> str:
    """The first rule whose comment is the plan's but whose matches or actions are not."""
    assert want.bodies is not None
    for i, (a, b) in enumerate(zip(want.bodies, got.bodies, strict=False)):
        if a != b:
            named = f" ({want.comments[i]!r})" if want.comments[i] else ""
            return (
                f"chain {chain} rule {i + 1}{named} does not do what the plan asks: "
                f"it is {_short(b)}, the plan has {_short(a)}"
            )
    return f"chain {chain} holds {len(got.bodies)} rule body(ies), the plan {len(want.bodies)}"


def _short(body: str, limit: int = 300) -> str:
    return body if len(body) <= limit else body[: limit - 3] + "..."


def _first_rule_difference(want: Sequence[str | None], got: Sequence[str | None]) -> str:
    for i, (a, b) in enumerate(zip(want, got, strict=False)):
        if a != b:
            return f"; rule {i + 1} is {b!r}, the plan has {a!r}"
    if len(want) > len(got):
        return f"; first missing: {want[len(got)]!r}"
    return f"; first extra: {got[len(want)]!r}"


def _sysctls(name: str, w: Wanted, seen: ob.NamespaceSeen) -> list[Difference]:
    out = []
    for key, value in sorted(w.sysctls.items()):
        matches = {k: v for k, v in seen.sysctls.items() if _glob_match(key, k)}
        if not matches:
            out.append(Difference(name, "sysctl", f"{key} cannot be read"))
        for k, v in sorted(matches.items()):
            if v != value:
                out.append(Difference(name, "sysctl", f"{k} is {v}, the plan {value}"))
    return out


def _glob_match(pattern: str, key: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(key, pattern)


def compare(
    scenario: str,
    want: Mapping[str, Wanted],
    seen: Mapping[str, ob.NamespaceSeen],
    existing: Iterable[str],
    host_inode: int,
) -> list[Difference]:
    """Differences between what the namespaces of `scenario` should hold (`want`) and what
    they hold (`seen`); `existing` lists the namespaces with the scenario's prefix that are
    not another running scenario's."""
    out = []
    for name in sorted(set(existing) - set(want)):
        out.append(Difference(name, "namespace", "exists, but the plan has no such namespace"))
    inodes: dict[int, str] = {}
    for name, w in sorted(want.items()):
        s = seen.get(name)
        if s is None:
            out.append(Difference(name, "namespace", "is missing"))
            continue
        if s.inode == host_inode:
            out.append(Difference(name, "namespace", "is the host's own network namespace"))
        if s.inode in inodes:
            out.append(Difference(name, "namespace", f"is the same namespace as {inodes[s.inode]}"))
        inodes[s.inode] = name
        out += _links(name, w, s)
        out += _addresses(name, w, s)
        out += _routes(name, w, s)
        out += _rules(name, w, s)
        out += _sysctls(name, w, s)
        out += _nftables(name, w, s)
        if w.v6 is not None:
            out += [Difference(name, *d) for d in verify_ipv6.differences(w.v6, s)]
        if w.conntrack and s.conntrack:
            out.append(Difference(name, "conntrack", s.conntrack))
    return out


def _daemon_names(plan: Plan, pids: Sequence[int]) -> dict[int, str]:
    """What each recorded PID is: the driver starts daemons phase by phase, in plan order."""
    daemons = [
        p.name
        for phase in sorted({p.phase for p in plan.processes})
        for p in plan.processes
        if p.phase == phase and not p.wait
    ]
    return dict(zip(pids, daemons, strict=True)) if len(daemons) == len(pids) else {}


def _processes(
    scenario: str,
    pids: Iterable[int],
    inodes: set[int],
    names: Mapping[int, str],
    gone_ok: bool = False,
) -> list[Difference]:
    out = []
    for pid in pids:
        what = f"{names[pid]} (pid {pid})" if pid in names else f"pid {pid}"
        try:
            ino = os.stat(f"/proc/{pid}/ns/net").st_ino
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            if not gone_ok:
                out.append(Difference(scenario, "process", f"{what} is not running"))
            continue
        if _is_zombie(pid):
            if not gone_ok:
                out.append(Difference(scenario, "process", f"{what} has exited"))
        elif ino not in inodes:
            outside = f"{what} ({argv0}) runs outside the scenario's namespaces"
            out.append(Difference(scenario, "process", outside))
    return out


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _others(scenario: str) -> set[str]:
    """Namespaces other running scenarios own: a scenario `a` and a scenario `a-i` share
    the prefix `ne-a-`, so the prefix alone does not say whose a namespace is."""
    out: set[str] = set()
    for other in st.running():
        if other != scenario:
            state = st.load(other)
            out |= set(state.namespaces) if state else set()
    return out


def verify(
    model: Model,
    plan: Plan,
    pids: Sequence[int] | None = None,
    only: set[str] | None = None,
    bodies: bool = True,
) -> list[Difference]:
    """Read the kernel and compare it with `plan` (rendered from `model`). `pids`: the
    daemons the scenario started (default: those its state file records). `only`: check
    just these namespaces of the plan (`apply` checks what it changed), and that no
    namespace outside the plan exists. `bodies`: also compare what each rule does, against
    the plan's rulesets loaded into a scratch namespace; `up` and `apply` leave it out,
    having just loaded those very rulesets, each in one transaction (it would double the
    time nftables takes)."""
    want = wanted(model, plan)
    if only is not None:
        want = {name: w for name, w in want.items() if name in only}
    if bodies:
        rulesets = [rs for rs in plan.rulesets if rs.ns in want]
        reference = ob.reference_bodies((rs.ns, rs.json()) for rs in rulesets)
        add_reference_bodies(want, reference)
    peers: dict[str, set[str]] = {}
    for link in plan.links:
        peers.setdefault(link.ns_a, set()).add(link.ns_b)
        peers.setdefault(link.ns_b, set()).add(link.ns_a)
    sysctls = {name: list(w.sysctls) for name, w in want.items()}
    conntrack = {name: not _has_input_hook(w) for name, w in want.items() if w.conntrack}
    seen = ob.observe(list(want), peers, sysctls, conntrack)
    existing = set(netns.list_names(n.scenario_prefix(model.name))) - _others(model.name)
    if only is not None:
        planned = {ns.name for ns in plan.namespaces}
        existing = {name for name in existing if name in only or name not in planned}
    out = compare(model.name, want, seen, existing, ob.host_inode())
    if pids is None:
        state = st.load(model.name)
        pids = state.pids if state else []
    inodes = {s.inode for s in seen.values()}
    if only is not None:  # processes may run in any namespace of the scenario
        for ns in plan.namespaces:
            with contextlib.suppress(OSError):
                inodes.add(os.stat(netns.path(ns.name)).st_ino)
    out += _processes(model.name, pids, inodes, _daemon_names(plan, pids))
    # Any other process started from the scenario's files (an sshd session, a daemon's
    # child) must live inside the scenario too.
    others = set(process.pids_referencing(st.state_dir(model.name))) - set(pids)
    out += _processes(model.name, sorted(others), inodes, {}, gone_ok=True)
    return out


def add_reference_bodies(want: Mapping[str, Wanted], reference: Mapping[str, Any]) -> None:
    """Give each wanted chain the rule bodies its plan listed back as (observe.
    reference_bodies), so `compare` checks what rules do, not only what they are called."""
    for ns, bodies in reference.items():
        w = want.get(ns)
        if w is None or w.chains is None:
            continue
        if isinstance(bodies, str):
            w.ruleset_error = bodies
            continue
        for chain, c in w.chains.items():
            c.bodies = list(bodies.get(chain, []))


def verify_rulesets(
    plan: Plan, names: set[str], chains: Mapping[str, Sequence[str]] | None = None
) -> list[Difference]:
    """Only the nftables part of `verify`, for namespaces `names` of `plan`: enough after a
    change that touched nothing but their rulesets (`apply` of a rule change). With
    `chains`, a namespace listed there has only those chains read and compared (the ones
    a change refilled)."""
    out = []
    for rs in plan.rulesets:
        if rs.ns not in names:
            continue
        w = Wanted()
        if chains is not None and rs.ns in chains:
            rs = _only_chains(rs, set(chains[rs.ns]))
        _ruleset_wanted(rs, w, conntrack=False)
        assert w.chains is not None
        with netns.entered(rs.ns):
            if chains is not None and rs.ns in chains:
                read = ob.read_chain_comments(chains[rs.ns], rs.ns)
                for chain in chains[rs.ns]:
                    got = read.get(chain)
                    want = w.chains[chain].comments if chain in w.chains else []
                    if got is None or list(got) != want:
                        held = "missing" if got is None else f"holds {len(got)} rule(s)"
                        out.append(Difference(rs.ns, "nftables", f"chain {chain} {held}, "
                                              f"the plan {len(want)}"))  # fmt: skip
                continue
            seen = ob.NamespaceSeen(rs.ns, 0, nft=ob.read_nft())
        out += _nftables(rs.ns, w, seen)
    return out


def _only_chains(rs: Ruleset, chains: set[str]) -> Ruleset:
    """The commands of `rs` that add rules to `chains`: all a read-back of those chains is
    compared with (a ruleset of thousands of chains is not parsed for two). One tight pass."""
    out = []
    for cmd in rs.commands:
        body = cmd.get("add") or cmd.get("insert")
        rule = body.get("rule") if body is not None else None
        if rule is not None and rule["chain"] in chains and rule.get("family", "inet") == "inet":
            out.append(cmd)
    return Ruleset(rs.ns, tuple(out))


def _has_input_hook(w: Wanted) -> bool:
    return any(c.hook == "input" for c in (w.chains or {}).values())


def report(differences: Sequence[Difference]) -> dict[str, Any]:
    return {"ok": not differences, "differences": [d.to_json() for d in differences]}
