"""Reads what the kernel really holds in a set of namespaces, for `netemu verify`.

Read only: nothing here changes a namespace. One netlink socket per namespace, opened while
the thread is inside it and closed before the next, so a thousand namespaces never hold a
thousand descriptors at once. nftables is listed through the JSON API as everywhere else.
"""

from __future__ import annotations

import contextlib
import glob
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import nftables
from pyroute2 import IPRoute

from netemu.driver import netns

IFF_UP = 0x1
IFA_F_NOPREFIXROUTE = 0x200
NSID_NOT_ASSIGNED = 0xFFFFFFFF
RT_TABLE_COMPAT = 252  # the header's table when the real one (RTA_TABLE) exceeds 255
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
    peer_ns: str | None  # None: same namespace (or no peer); HOST; or "<nsid N>" if unknown
    peer_ifname: str | None = None  # filled in once every namespace has been read


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


def _nft() -> NftSeen:
    nft = nftables.Nftables()
    nft.set_json_output(True)
    rc, out, err = nft.json_cmd({"nftables": [{"list": {"ruleset": None}}]})
    seen = NftSeen()
    if rc != 0:
        seen.error = str(err).strip() or f"nft exit {rc}"
        return seen
    chains: dict[str, dict[str, Any]] = {}
    comments: dict[str, list[str | None]] = {}
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
    for name, c in chains.items():
        seen.chains[name] = ChainSeen(
            name, c.get("hook"), c.get("prio"), c.get("type"), c.get("policy"),
            tuple(comments.get(name, [])),
        )  # fmt: skip
    return seen


def _ours(obj: Mapping[str, Any]) -> bool:
    from netemu.render.names import NFT_TABLE

    return bool(obj.get("family") == "inet" and obj.get("table") == NFT_TABLE)


def _links(ipr: Any) -> dict[int, LinkSeen]:
    out = {}
    for msg in ipr.get_links():
        index = msg["index"]
        nsid = msg.get_attr("IFLA_LINK_NETNSID")
        peer = msg.get_attr("IFLA_LINK")
        out[index] = LinkSeen(
            index=index,
            ifname=msg.get_attr("IFLA_IFNAME"),
            kind=msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
            up=bool(msg["flags"] & IFF_UP),
            mac=msg.get_attr("IFLA_ADDRESS"),
            peer_index=peer if peer not in (None, index) else None,
            peer_ns=None if nsid is None else f"<nsid {nsid}>",
        )
    return out


def _addresses(ipr: Any, family: int, links: dict[int, LinkSeen]) -> list[AddressSeen]:
    out = []
    for msg in ipr.get_addr(family=family):
        link = links.get(msg["index"])
        flags = msg.get_attr("IFA_FLAGS") or msg["flags"]
        addr = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
        out.append(
            AddressSeen(
                link.ifname if link else f"#{msg['index']}",
                f"{addr}/{msg['prefixlen']}",
                bool(flags & IFA_F_NOPREFIXROUTE),
            )
        )
    return out


def _routes(ipr: Any, links: dict[int, LinkSeen]) -> list[RouteSeen]:
    out = []
    for msg in ipr.get_routes(family=socket.AF_INET):
        table = msg.get_attr("RTA_TABLE") or msg["table"]
        dst = msg.get_attr("RTA_DST") or "0.0.0.0"
        oif = msg.get_attr("RTA_OIF")
        link = links.get(oif) if oif is not None else None
        out.append(
            RouteSeen(
                table=table,
                dst=f"{dst}/{msg['dst_len']}",
                kind=ROUTE_TYPES.get(msg["type"], f"type {msg['type']}"),
                via=msg.get_attr("RTA_GATEWAY"),
                dev=link.ifname if link else (None if oif is None else f"#{oif}"),
                metric=msg.get_attr("RTA_PRIORITY") or 0,
                proto=msg["proto"],
                multipath=msg.get_attr("RTA_MULTIPATH") is not None,
            )
        )
    return out


RULE_SELECTORS = ("FRA_SRC", "FRA_DST", "FRA_OIFNAME", "FRA_GOTO", "FRA_L3MDEV", "FRA_UID_RANGE",
                  "FRA_IP_PROTO", "FRA_SPORT_RANGE", "FRA_DPORT_RANGE", "FRA_TUN_ID")  # fmt: skip


def _rules(ipr: Any) -> list[RuleSeen]:
    out = []
    for msg in ipr.get_rules(family=socket.AF_INET):
        other = [(k, msg.get_attr(k)) for k in RULE_SELECTORS if msg.get_attr(k) is not None]
        other += [(k, msg[k]) for k in ("src_len", "dst_len", "tos") if msg[k]]
        if msg["action"] != 1:  # FR_ACT_TO_TBL
            other.append(("action", msg["action"]))
        if msg["flags"] & 0x2:  # FIB_RULE_INVERT
            other.append(("not", True))
        out.append(
            RuleSeen(
                priority=msg.get_attr("FRA_PRIORITY") or 0,
                table=msg.get_attr("FRA_TABLE") or msg["table"],
                iif=msg.get_attr("FRA_IIFNAME"),
                fwmark=msg.get_attr("FRA_FWMARK"),
                other=tuple(other),
            )
        )
    return out


def _nsid_names(ipr: Any, wanted: set[int], candidates: Iterable[str], home: int) -> dict[int, str]:
    """Names of the namespaces that the netns ids in `wanted` stand for, as seen from the
    namespace of `ipr`: the likely ones first (`candidates`), then the host's own, then
    every namespace under /run/netns."""
    found: dict[int, str] = {}

    def ask(fd: int) -> int | None:
        nsid = ipr.get_netnsid(fd=fd).get("nsid")
        return None if nsid in (None, NSID_NOT_ASSIGNED) else int(nsid)

    def try_names(names: Iterable[str]) -> None:
        for name in names:
            if not wanted - found.keys():
                return
            with contextlib.suppress(OSError):
                fd = os.open(netns.path(name), os.O_RDONLY)
                try:
                    nsid = ask(fd)
                finally:
                    os.close(fd)
                if nsid in wanted:
                    found[nsid] = name

    try_names(candidates)
    if wanted - found.keys():
        nsid = ask(home)
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
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    want_ct = conntrack or {}
    seen: dict[str, NamespaceSeen] = {}
    try:
        for name in names:
            inode = namespace_inode(name)
            if inode is None:
                continue
            ns = NamespaceSeen(name, inode)
            with netns.entered(name):
                ipr = IPRoute()
                try:
                    for key in sysctls.get(name, ()):
                        paths = glob.glob(f"/proc/sys/{key}") if "*" in key else [key]
                        for p in paths:
                            k = p.removeprefix("/proc/sys/")
                            ns.sysctls[k] = _sysctl(k)
                    ns.nft = _nft()
                    if name in want_ct:
                        ns.conntrack = _conntrack_works(want_ct[name])
                    ns.links = _links(ipr)
                    ns.addresses = _addresses(ipr, socket.AF_INET, ns.links)
                    ns.ipv6_addresses = _addresses(ipr, socket.AF_INET6, ns.links)
                    ns.routes = _routes(ipr, ns.links)
                    ns.rules = _rules(ipr)
                    wanted = {
                        int(link.peer_ns[6:-1]) for link in ns.links.values() if link.peer_ns
                    }
                    if wanted:
                        known = _nsid_names(ipr, wanted, peers.get(name, ()), home)
                        for i, link in ns.links.items():
                            if link.peer_ns:
                                nsid = int(link.peer_ns[6:-1])
                                ns.links[i] = replace(link, peer_ns=known.get(nsid, link.peer_ns))
                finally:
                    ipr.close()
            seen[name] = ns
    finally:
        os.close(home)
    for ns in seen.values():  # name each peer now that every namespace's links are known
        for i, link in ns.links.items():
            where = seen.get(link.peer_ns) if link.peer_ns else ns
            if link.peer_index is not None and where is not None:
                ns.links[i] = replace(link, peer_ifname=where.ifname(link.peer_index))
    return seen
