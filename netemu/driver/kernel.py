"""Plan -> kernel: namespaces, veth cables, addresses, routes, rules and nftables, in-process.

One netlink socket per namespace, opened while the thread is inside it (a netlink socket
stays bound to the namespace it was created in), and one nftables transaction per
namespace. Nothing is created in the host's own namespace.
"""

from __future__ import annotations

import json
import os
from typing import Any

import nftables
from pyroute2 import IPRoute

from netemu.driver import netns
from netemu.errors import KernelError
from netemu.render.plan import Address, Link, Plan, Route, Rule, Ruleset

IFA_F_NOPREFIXROUTE = 0x200
RTNH_F_ONLINK = 4
RT_TYPES = {"unicast": 1, "blackhole": 6, "unreachable": 7}


class Sockets:
    """Netlink sockets per namespace, opened on first use and closed together."""

    def __init__(self) -> None:
        self._open: dict[str, Any] = {}
        self._index: dict[tuple[str, str], int] = {}

    def __getitem__(self, ns: str) -> Any:
        if ns not in self._open:
            with netns.entered(ns):
                self._open[ns] = IPRoute()
        return self._open[ns]

    def index(self, ns: str, ifname: str) -> int:
        key = (ns, ifname)
        if key not in self._index:
            found = self[ns].link_lookup(ifname=ifname)
            if not found:
                raise KernelError(f"no interface {ifname} in namespace {ns}")
            self._index[key] = found[0]
        return self._index[key]

    def close(self) -> None:
        for sock in self._open.values():
            sock.close()
        self._open.clear()


def _link(socks: Sockets, link: Link) -> None:
    fd = os.open(netns.path(link.ns_b), os.O_RDONLY)
    try:
        peer: dict[str, Any] = {"ifname": link.ifname_b, "net_ns_fd": fd}
        if link.mac_b:
            peer["address"] = link.mac_b
        kwargs: dict[str, Any] = {"ifname": link.ifname_a, "kind": "veth", "peer": peer}
        if link.mac_a:
            kwargs["address"] = link.mac_a
        socks[link.ns_a].link("add", **kwargs)
    finally:
        os.close(fd)
    for ns, ifname in ((link.ns_a, link.ifname_a), (link.ns_b, link.ifname_b)):
        idx = socks.index(ns, ifname)
        if link.alias:
            socks[ns].link("set", index=idx, ifalias=link.alias)
        socks[ns].link("set", index=idx, state="up")


def _address(socks: Sockets, a: Address) -> None:
    ip, plen = a.cidr.split("/")
    kwargs: dict[str, Any] = {"index": socks.index(a.ns, a.ifname), "address": ip, "prefixlen": int(plen)}
    if a.noprefixroute:
        kwargs["flags"] = IFA_F_NOPREFIXROUTE
    socks[a.ns].addr("add", **kwargs)


def _route(socks: Sockets, r: Route) -> None:
    kwargs: dict[str, Any] = {"dst": r.dst, "table": r.table, "type": RT_TYPES[r.kind]}
    if r.via:
        kwargs["gateway"] = r.via
    if r.dev:
        kwargs["oif"] = socks.index(r.ns, r.dev)
    if r.metric is not None:
        kwargs["priority"] = r.metric
    if r.onlink:
        kwargs["flags"] = RTNH_F_ONLINK
    socks[r.ns].route("add", **kwargs)


def _rule(socks: Sockets, r: Rule) -> None:
    kwargs: dict[str, Any] = {"table": r.table, "priority": r.priority}
    if r.iif:
        kwargs["iifname"] = r.iif
    if r.fwmark is not None:
        kwargs["fwmark"] = r.fwmark
    socks[r.ns].rule("add", **kwargs)


def load_ruleset(rs: Ruleset) -> None:
    with netns.entered(rs.ns):
        nft = nftables.Nftables()
        nft.set_json_output(True)
        rc, _out, err = nft.json_cmd(rs.json())
    if rc != 0:
        raise KernelError(f"nftables refused the ruleset for {rs.ns}: {err.strip()}\n"
                          + json.dumps(rs.json())[:2000])


def apply(plan: Plan, created: list[str]) -> None:
    """Build everything in `plan`. Each namespace made is appended to `created` before it is
    configured, so the caller can roll back whatever exists if this raises."""
    socks = Sockets()
    try:
        for ns in plan.namespaces:
            netns.create(ns.name)
            created.append(ns.name)
            with netns.entered(ns.name):
                for key, value in ns.sysctls:
                    netns.write_sysctl(key, value)
            socks[ns.name].link("set", index=socks.index(ns.name, "lo"), state="up")
        for link in plan.links:
            _link(socks, link)
        for a in plan.addresses:
            _address(socks, a)
        for r in plan.routes:
            _route(socks, r)
        for rule in plan.rules:
            _rule(socks, rule)
        for rs in plan.rulesets:
            load_ruleset(rs)
    except KernelError:
        raise
    except Exception as e:  # netlink and OS errors carry no context of their own
        raise KernelError(f"{type(e).__name__}: {e}") from e
    finally:
        socks.close()


def destroy(names: list[str]) -> None:
    for name in names:
        netns.delete(name)
