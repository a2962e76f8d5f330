"""Reads what the kernel really holds in a set of namespaces, for `netemu verify`.

Read only, but for one thing: where connection tracking holds no entry yet, one datagram
from `lo` to itself shows whether it tracks (it leaves one entry that expires by itself).
One netlink socket per namespace, opened while the thread is inside it and closed before
the next, so a thousand namespaces never hold a thousand descriptors at once. nftables is
listed through the JSON API, as everywhere else in netemu.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import nftables

from netemu.driver import halves, netns, nft_contexts, nft_read, rtnl
from netemu.render.names import NFT_TABLE

IFF_UP = 0x1
IFA_F_NOPREFIXROUTE = 0x200
ROUTE_TYPES = {1: "unicast", 2: "local", 3: "broadcast", 6: "blackhole", 7: "unreachable"}
HOST = "<host>"  # the peer namespace name given to the host's own namespace
CONNTRACK_COUNT = "net/netfilter/nf_conntrack_count"


@dataclass(frozen=True)
class LinkSeen:
    index: int
    ifname: str
    kind: str | None  # "veth", ...; None for a device without link info (lo, real NICs)
    up: bool
    mac: str | None
    peer_index: int | None  # IFLA_LINK: the peer's ifindex, in `peer_ns`
    peer_nsid: int | None  # IFLA_LINK_NETNSID: the peer's namespace, as this one numbers it
    # Filled in once every namespace has been read. peer_ns: None for the same namespace
    # (or no peer), HOST, a namespace name, or "<unknown namespace N>".
    peer_ns: str | None = None
    peer_ifname: str | None = None


@dataclass(frozen=True)
class AddressSeen:
    ifname: str
    cidr: str  # "172.30.0.1/24"
    noprefixroute: bool


@dataclass(frozen=True)
class RouteSeen:
    table: int
    dst: str  # "0.0.0.0/0"
    kind: str  # unicast, local, broadcast, blackhole, unreachable, or "type N"
    via: str | None
    dev: str | None
    metric: int
    proto: int  # 2 = kernel, 3 = boot, 4 = static
    multipath: bool = False


@dataclass(frozen=True)
class RuleSeen:
    priority: int
    table: int
    iif: str | None
    fwmark: int | None
    other: tuple[tuple[str, Any], ...] = ()  # selectors netemu never uses (src, dst, oif...)


@dataclass(frozen=True)
class ChainSeen:
    name: str
    hook: str | None
    prio: int | None
    type: str | None
    policy: str | None
    comments: tuple[str | None, ...]  # one per rule, in order
    bodies: tuple[str, ...] = ()  # each rule's matches and statements (rule_body), in order


@dataclass
class NftSeen:
    tables: list[tuple[str, str]] = field(default_factory=list)  # (family, name)
    chains: dict[str, ChainSeen] = field(default_factory=dict)  # of the inet netemu table
    sets: dict[str, int] = field(default_factory=dict)  # set or map name -> element count
    error: str | None = None


@dataclass
class NamespaceSeen:
    name: str
    inode: int
    links: dict[int, LinkSeen] = field(default_factory=dict)
    addresses: list[AddressSeen] = field(default_factory=list)
    ipv6_addresses: list[AddressSeen] = field(default_factory=list)
    routes: list[RouteSeen] = field(default_factory=list)
    rules: list[RuleSeen] = field(default_factory=list)
    ipv6_routes: list[RouteSeen] = field(default_factory=list)
    ipv6_rules: list[RuleSeen] = field(default_factory=list)
    nft: NftSeen = field(default_factory=NftSeen)
    sysctls: dict[str, str | None] = field(default_factory=dict)  # None: unreadable
    conntrack: str | None = None  # None: tracking works; else what is wrong

    def ifname(self, index: int | None) -> str | None:
        link = self.links.get(index) if index is not None else None
        return link.ifname if link else None


def host_inode() -> int:
    """The host's own namespace: init's, or (where /proc/1 is hidden, as in some
    containers) the one netemu was started in."""
    try:
        return os.stat("/proc/1/ns/net").st_ino
    except OSError:
        return os.stat("/proc/thread-self/ns/net").st_ino


def namespace_inode(name: str) -> int | None:
    try:
        return os.stat(netns.path(name)).st_ino
    except OSError:
        return None


def _sysctl(key: str) -> str | None:
    try:
        with open(f"/proc/sys/{key}") as f:
            return f.read().strip()
    except OSError:
        return None


def _conntrack_works(may_send: bool) -> str | None:
    """Conntrack is active here if it holds an entry; if it holds none, a datagram on `lo`
    must create one (nftables registers the tracking hooks per namespace, only when a
    loaded rule uses `ct`). Where an input chain would drop and log that datagram
    (`may_send` false), a readable counter has to do."""
    count = _sysctl(CONNTRACK_COUNT)
    if count is None:
        return "nf_conntrack is not available in this namespace"
    if int(count) > 0 or not may_send:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        with contextlib.suppress(OSError):
            s.sendto(b"netemu verify", ("127.0.0.1", s.getsockname()[1]))
    if int(_sysctl(CONNTRACK_COUNT) or 0) == 0:
        return "connection tracking is not active (no entry after a datagram on lo)"
    return None


def rule_body(expr: Any) -> str:
    """A rule's expressions as the kernel lists them, counters' values left out: what the
    rule does, comparable between two listings."""
    return json.dumps(_no_counts(expr), sort_keys=True, separators=(",", ":"))


def _no_counts(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: None if k == "counter" else _no_counts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_counts(v) for v in value]
    return value


def read_nft() -> NftSeen:
    """The netemu table of the namespace the calling thread is in."""
    return _nft()


def read_chain_comments(
    chains: Sequence[str], ns: str | None = None
) -> dict[str, tuple[str | None, ...]]:
    """The comments of the rules of `chains` in the calling thread's namespace (named `ns`,
    to use the socket a change held for it: driver.nft_contexts), a chain that does not
    exist left out: a cheap read-back of the chains a change refilled (driver.nft_read)."""
    held = nft_contexts.held_socket(ns) if ns else None
    with contextlib.nullcontext(held) if held else rtnl.Socket(rtnl.NETLINK_NETFILTER) as sock:
        found = {chain: nft_read.chain_comments(sock, NFT_TABLE, chain) for chain in chains}
    return {chain: comments for chain, comments in found.items() if comments is not None}


def _nft() -> NftSeen:
    with rtnl.Socket(rtnl.NETLINK_NETFILTER) as sock:
        if not nft_read.tables(sock):
            return NftSeen()  # no table, so nothing else (most namespaces: instances)
    nft = nftables.Nftables()
    nft.set_json_output(True)
    rc, out, err = nft.json_cmd({"nftables": [{"list": {"ruleset": None}}]})
    seen = NftSeen()
    if rc != 0:
        seen.error = str(err).strip() or f"nft exit {rc}"
        return seen
    chains: dict[str, dict[str, Any]] = {}
    comments: dict[str, list[str | None]] = {}
    bodies: dict[str, list[str]] = {}
    for item in out.get("nftables", []):
        if "table" in item:
            seen.tables.append((item["table"]["family"], item["table"]["name"]))
        for kind in ("set", "map"):
            if kind in item and _ours(item[kind]):
                seen.sets[item[kind]["name"]] = len(item[kind].get("elem", []))
        if "chain" in item and _ours(item["chain"]):
            chains[item["chain"]["name"]] = item["chain"]
            comments.setdefault(item["chain"]["name"], [])
        if "rule" in item and _ours(item["rule"]):
            comments.setdefault(item["rule"]["chain"], []).append(item["rule"].get("comment"))
            bodies.setdefault(item["rule"]["chain"], []).append(rule_body(item["rule"]["expr"]))
    for name, c in chains.items():
        seen.chains[name] = ChainSeen(
            name, c.get("hook"), c.get("prio"), c.get("type"), c.get("policy"),
            tuple(comments.get(name, [])), tuple(bodies.get(name, [])),
        )  # fmt: skip
    return seen


def _ours(obj: Mapping[str, Any]) -> bool:
    return bool(obj.get("family") == "inet" and obj.get("table") == NFT_TABLE)


IFLA_ADDRESS, IFLA_IFNAME, IFLA_LINK, IFLA_LINKINFO, IFLA_INFO_KIND = 1, 3, 5, 18, 1
IFLA_LINK_NETNSID = 37
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_MULTIPATH, RTA_TABLE = 1, 4, 5, 6, 9, 15
RTA_VIA, RTA_NH_ID = 18, 30
FRA_IIFNAME, FRA_PRIORITY, FRA_FWMARK, FRA_TABLE = 3, 6, 10, 15
FRA_SUPPRESS_IFGROUP, FRA_SUPPRESS_PREFIXLEN = 13, 14
# Rule selectors netemu never sets: a rule carrying one is not a rule of the plan.
RULE_SELECTORS = {
    1: "to", 2: "from", 4: "goto", 11: "realm", 12: "tun_id", 17: "oif",
    19: "l3mdev", 20: "uidrange", 22: "ipproto", 23: "sport", 24: "dport",
}  # fmt: skip
FRA_NOT_SET = 0xFFFFFFFF
FR_ACT_TO_TBL = 1
FIB_RULE_INVERT = 0x2


def _links(sock: rtnl.Socket) -> dict[int, LinkSeen]:
    out = {}
    for msg in sock.links():
        _family, _type, index, flags, _change = msg.fields
        nsid = msg.s32(IFLA_LINK_NETNSID)
        peer = msg.u32(IFLA_LINK)
        kind = msg.nested(IFLA_LINKINFO).get(IFLA_INFO_KIND)
        out[index] = LinkSeen(
            index=index,
            ifname=msg.text(IFLA_IFNAME) or f"#{index}",
            kind=kind.split(b"\0", 1)[0].decode() if kind is not None else None,
            up=bool(flags & IFF_UP),
            mac=msg.mac(IFLA_ADDRESS),
            # IFLA_LINK is the device itself for some kinds; the same number in another
            # namespace is another device.
            peer_index=None if peer in (None, 0) or (peer == index and nsid is None) else peer,
            peer_nsid=None if nsid is None or nsid < 0 else nsid,
        )
    return out


def _addresses(sock: rtnl.Socket, family: int, links: dict[int, LinkSeen]) -> list[AddressSeen]:
    out = []
    for msg in sock.addresses(family):
        _family, prefixlen, flags8, _scope, index = msg.fields
        flags = msg.u32(IFA_FLAGS)
        addr = msg.ip(IFA_LOCAL, family) or msg.ip(IFA_ADDRESS, family)
        link = links.get(index)
        out.append(
            AddressSeen(
                link.ifname if link else f"#{index}",
                f"{addr}/{prefixlen}",
                bool((flags if flags is not None else flags8) & IFA_F_NOPREFIXROUTE),
            )
        )
    return out


def _routes(
    sock: rtnl.Socket, links: dict[int, LinkSeen], family: int = socket.AF_INET
) -> list[RouteSeen]:
    out = []
    anywhere = "0.0.0.0" if family == socket.AF_INET else "::"
    for msg in sock.routes(family):
        _family, dst_len, _src_len, _tos, table, proto, _scope, kind, _flags = msg.fields
        oif = msg.u32(RTA_OIF)
        link = links.get(oif) if oif is not None else None
        out.append(
            RouteSeen(
                table=msg.u32(RTA_TABLE) or table,
                dst=f"{msg.ip(RTA_DST, family) or anywhere}/{dst_len}",
                kind=ROUTE_TYPES.get(kind, f"type {kind}"),
                via=msg.ip(RTA_GATEWAY, family),
                dev=link.ifname if link else (None if oif is None else f"#{oif}"),
                metric=msg.u32(RTA_PRIORITY) or 0,
                proto=proto,
                multipath=any(k in msg.attrs for k in (RTA_MULTIPATH, RTA_VIA, RTA_NH_ID)),
            )
        )
    return out


def _rules(sock: rtnl.Socket, family: int = socket.AF_INET) -> list[RuleSeen]:
    out = []
    for msg in sock.rules(family):
        _family, dst_len, src_len, tos, table, _r1, _r2, action, flags = msg.fields
        other: list[tuple[str, Any]] = []
        for k, what in RULE_SELECTORS.items():
            if k in msg.attrs:
                ip = msg.ip(k, family) if what in ("to", "from") else None
                length = src_len if what == "from" else dst_len
                other.append((what, f"{ip}/{length}" if ip else msg.attrs[k].hex()))
        if tos:
            other.append(("tos", tos))
        for key, name in ((FRA_SUPPRESS_PREFIXLEN, "suppress_prefixlength"),
                          (FRA_SUPPRESS_IFGROUP, "suppress_ifgroup")):  # fmt: skip
            value = msg.u32(key)
            if value not in (None, FRA_NOT_SET):
                other.append((name, value))
        if action != FR_ACT_TO_TBL:
            other.append(("action", action))
        if flags & FIB_RULE_INVERT:
            other.append(("not", True))
        out.append(
            RuleSeen(
                priority=msg.u32(FRA_PRIORITY) or 0,
                table=msg.u32(FRA_TABLE) or table,
                iif=msg.text(FRA_IIFNAME),
                fwmark=msg.u32(FRA_FWMARK),
                other=tuple(other),
            )
        )
    return out


def _nsid_names(
    sock: rtnl.Socket, wanted: set[int], candidates: Iterable[str], home: int
) -> dict[int, str]:
    """Names of the namespaces that the netns ids in `wanted` stand for, as seen from the
    namespace of `sock`: the likely ones first (`candidates`), then the host's own, then
    every namespace under /run/netns."""
    found: dict[int, str] = {}

    def try_names(names: Iterable[str]) -> None:
        for name in names:
            if not wanted - found.keys():
                return
            try:
                fd = os.open(netns.path(name), os.O_RDONLY)
            except OSError:
                continue
            try:
                nsid = sock.netnsid(fd)
            finally:
                os.close(fd)
            if nsid in wanted:
                found[nsid] = name

    try_names(candidates)
    if wanted - found.keys():
        nsid = sock.netnsid(home)
        if nsid in wanted:
            found[nsid] = HOST
    if wanted - found.keys():
        try_names(netns.list_names(""))
    return found


def observe(
    names: Iterable[str],
    peers: Mapping[str, Iterable[str]],
    sysctls: Mapping[str, Iterable[str]],
    conntrack: Mapping[str, bool] | None = None,
) -> dict[str, NamespaceSeen]:
    """Read every namespace in `names`. `peers` lists, per namespace, the namespaces its
    links should lead to (tried first when naming a link's peer); `sysctls` the keys to read
    there (globs allowed, as "net/ipv4/neigh/*/proxy_delay"); `conntrack` the namespaces
    where connection tracking must be working, each with whether a test datagram may be
    sent on its `lo`. Missing namespaces are left out."""
    names = list(names)
    want_ct = conntrack or {}

    def read(part: Sequence[str]) -> dict[str, NamespaceSeen]:
        return _read(part, peers, sysctls, want_ct)

    if halves.worth_it(len(names)):  # a thousand instances: 0.4 s of 1.2 s saved
        # Half read by a forked copy meanwhile; should it fail, this process reads it too.
        mine, theirs = halves.shared(names, read)
        if isinstance(theirs, halves.CopyFailed):
            theirs = read(names[1::2])
        both = mine | theirs
        seen = {name: both[name] for name in names if name in both}  # in the order asked
    else:
        seen = read(names)
    host: dict[int, LinkSeen] | None = None
    seen_elsewhere: dict[str, NamespaceSeen] = {}
    for ns in seen.values():  # name each peer now that every namespace's links are known
        for i, link in ns.links.items():
            if link.peer_index is None:
                continue
            if link.peer_ns == HOST:
                if host is None:
                    with rtnl.Socket() as sock:  # read only: the host's own link names
                        host = _links(sock)
                peer = host.get(link.peer_index)
                ns.links[i] = replace(link, peer_ifname=peer.ifname if peer else None)
                continue
            if link.peer_ns and link.peer_ns not in seen and netns.exists(link.peer_ns):
                seen_elsewhere[link.peer_ns] = _foreign(link.peer_ns)  # to name the peer
            where = (
                (seen.get(link.peer_ns) or seen_elsewhere.get(link.peer_ns)) if link.peer_ns else ns
            )
            if where is not None:
                ns.links[i] = replace(link, peer_ifname=where.ifname(link.peer_index))
    return seen


def _read(
    names: Iterable[str],
    peers: Mapping[str, Iterable[str]],
    sysctls: Mapping[str, Iterable[str]],
    want_ct: Mapping[str, bool],
) -> dict[str, NamespaceSeen]:
    """Each namespace of `names` as it is, its links' peers named by namespace only."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    seen: dict[str, NamespaceSeen] = {}
    try:
        for name in names:
            inode = namespace_inode(name)
            if inode is None:
                continue
            ns = NamespaceSeen(name, inode)
            with netns.entered(name):
                sock = rtnl.Socket()
                try:
                    for key in sysctls.get(name, ()):
                        paths = glob.glob(f"/proc/sys/{key}") if "*" in key else [key]
                        for p in paths:
                            k = p.removeprefix("/proc/sys/")
                            ns.sysctls[k] = _sysctl(k)
                    ns.nft = _nft()
                    if name in want_ct:
                        ns.conntrack = _conntrack_works(want_ct[name])
                    ns.links = _links(sock)
                    ns.addresses = _addresses(sock, socket.AF_INET, ns.links)
                    ns.ipv6_addresses = _addresses(sock, socket.AF_INET6, ns.links)
                    ns.routes = _routes(sock, ns.links)
                    ns.rules = _rules(sock)
                    ns.ipv6_routes = _routes(sock, ns.links, socket.AF_INET6)
                    ns.ipv6_rules = _rules(sock, socket.AF_INET6)
                    wanted = {x.peer_nsid for x in ns.links.values() if x.peer_nsid is not None}
                    known = _nsid_names(sock, wanted, peers.get(name, ()), home) if wanted else {}
                    for i, link in ns.links.items():
                        if link.peer_nsid is not None:
                            unknown = f"<unknown namespace {link.peer_nsid}>"
                            ns.links[i] = replace(link, peer_ns=known.get(link.peer_nsid, unknown))
                finally:
                    sock.close()
            seen[name] = ns
    finally:
        os.close(home)
    return seen


def _foreign(name: str) -> NamespaceSeen:
    """Only the links of a namespace outside the scenario, to name a stray link's peer."""
    ns = NamespaceSeen(name, namespace_inode(name) or 0)
    with netns.entered(name), rtnl.Socket() as sock:
        ns.links = _links(sock)
    return ns


def reference_bodies(rulesets: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """What the kernel lists for each (namespace, ruleset JSON) once loaded: rule bodies per
    chain, `{ns: {chain: [rule_body, ...]}}`. The rulesets are loaded into a scratch
    namespace (each under a table name of its own, all in one transaction) and listed back,
    so the comparison with the live listing sees the kernel's own normalisation on both
    sides (nft lists `tcp dport 22`, not the `meta l4proto tcp` it was given) and needs no
    model of it. A ruleset the kernel refuses maps to its error."""
    items = list(rulesets)
    tables = {f"r{i}": ns for i, (ns, _) in enumerate(items)}
    out: dict[str, Any] = {ns: {} for ns, _ in items}
    with netns.scratch():
        nft = nftables.Nftables()
        nft.set_json_output(True)
        combined = [c for i, (_, rs) in enumerate(items) for c in _renamed(rs, f"r{i}")]
        rc, _, err = nft.json_cmd({"nftables": combined})
        if rc != 0:  # find which one the kernel refuses, one at a time
            for i, (ns, rs) in enumerate(items):
                rc, _, err = nft.json_cmd({"nftables": _renamed(rs, f"r{i}")})
                if rc != 0:
                    out[ns] = str(err).strip() or f"nft exit {rc}"
        rc, listed, _ = nft.json_cmd({"nftables": [{"list": {"ruleset": None}}]})
        for item in listed.get("nftables", []) if rc == 0 else []:
            rule = item.get("rule")
            if not rule or rule.get("family") != "inet" or rule.get("table") not in tables:
                continue
            bodies = out[tables[rule["table"]]]
            if isinstance(bodies, dict):
                bodies.setdefault(rule["chain"], []).append(rule_body(rule["expr"]))
        del nft  # its netlink socket holds the scratch namespace
    return out


def _renamed(ruleset: Mapping[str, Any], table: str) -> list[Any]:
    """The ruleset's commands with netemu's table called `table` instead."""
    out = []
    for cmd in ruleset.get("nftables", []):
        new = {}
        for verb, body in cmd.items():
            body = dict(body) if isinstance(body, dict) else body
            if isinstance(body, dict):
                for kind, obj in list(body.items()):
                    if not isinstance(obj, dict):
                        continue
                    obj = dict(obj)
                    if kind == "table" and obj.get("name") == NFT_TABLE:
                        obj["name"] = table
                    elif obj.get("table") == NFT_TABLE:
                        obj["table"] = table
                    body[kind] = obj
            new[verb] = body
        out.append(new)
    return out
