"""Plan -> rtnetlink: veth pairs, addresses, routes and policy rules, batched per namespace.

Every interface gets its ifindex from the plan (`ifindexes`), at both ends of each cable,
so no request waits on a dump to learn one and a namespace's whole configuration goes
in one batch (driver.rtnl_batch). A socket serves the namespace it was opened in, so
each batch's socket is opened while the thread is inside that namespace.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

from netemu.driver import netns, rtnl
from netemu.driver.rtnl_batch import IFLA_IFNAME, Batch, LinkEnd, open_socket
from netemu.errors import KernelError
from netemu.render.plan import Link, Plan, Route

LOOPBACK_INDEX = 1  # the kernel gives `lo` index 1 in every namespace
# The kernel numbers the devices it makes by itself (lo, fallback tunnel devices) upwards
# from 1; ours start far above, so the two never meet.
CHOSEN_INDEX_BASE = 100_000

Indexes = dict[tuple[str, str], int]  # (namespace, ifname) -> ifindex


def ifindexes(plan: Plan) -> Indexes:
    """The ifindex of every interface of the plan, by namespace and name. Numbers are
    unique across the whole plan, not only within each namespace: the kernel treats a
    veth whose peer has the same ifindex as not stacked on anything and delays its
    carrier change by up to a second (linkwatch_urgent_event), so the link would show
    "down" for that long."""
    out = {(ns.name, "lo"): LOOPBACK_INDEX for ns in plan.namespaces}
    ends = [end for link in plan.links for end in _ends(link)]
    for i, end in enumerate(ends):
        out[end] = CHOSEN_INDEX_BASE + i
    return out


def _ends(link: Link) -> tuple[tuple[str, str], tuple[str, str]]:
    return (link.ns_a, link.ifname_a), (link.ns_b, link.ifname_b)


def index_of(indexes: Indexes, ns: str, ifname: str) -> int:
    try:
        return indexes[(ns, ifname)]
    except KeyError:
        raise KernelError(f"no interface {ifname} in namespace {ns}") from None


@contextlib.contextmanager
def socket_in(ns: str) -> Iterator[socket.socket]:
    with netns.entered(ns):
        sock = open_socket()
    with contextlib.closing(sock):
        yield sock


def loopback_up(ns: str) -> None:
    """Bring `lo` up; the calling thread must be inside `ns` already."""
    batch = Batch()
    batch.link_set(LOOPBACK_INDEX, f"lo of {ns}")
    with contextlib.closing(open_socket()) as sock:
        batch.commit(sock)


def links(plan: Plan, indexes: Indexes) -> None:
    """Every veth pair, made from side a's namespace with its peer put straight into side
    b's (never created in one namespace and moved: architecture.md 5). Side a comes up at
    once; side b in `configure`, with the rest of its namespace."""
    by_ns: dict[str, list[Link]] = {}
    for link in plan.links:
        by_ns.setdefault(link.ns_a, []).append(link)
    for ns, group in by_ns.items():
        batch = Batch()
        with _ns_fds(link.ns_b for link in group) as fds:
            for link in group:
                batch.veth(
                    LinkEnd(
                        link.ifname_a, indexes[(ns, link.ifname_a)], link.mac_a, mtu=link.mtu_a
                    ),
                    LinkEnd(
                        link.ifname_b,
                        indexes[(link.ns_b, link.ifname_b)],
                        link.mac_b,
                        fds[link.ns_b],
                        mtu=link.mtu_b,
                    ),
                    what=link,
                )
            with socket_in(ns) as sock:
                batch.commit(sock)


@contextlib.contextmanager
def _ns_fds(names: Iterator[str]) -> Iterator[dict[str, int]]:
    fds: dict[str, int] = {}
    try:
        for name in names:
            if name not in fds:
                fds[name] = os.open(netns.path(name), os.O_RDONLY)
        yield fds
    finally:
        for fd in fds.values():
            os.close(fd)


def configure(plan: Plan, indexes: Indexes) -> None:
    """Per namespace, one batch: the peers made in `links` come up (with the cable's name
    as alias), then addresses, routes and policy rules, in that order, so each finds the
    interface and the connected route it needs."""
    batches = {ns.name: Batch() for ns in plan.namespaces}
    for link in plan.links:
        index = indexes[(link.ns_b, link.ifname_b)]
        batches[link.ns_b].link_set(index, link, alias=link.alias)
    for a in plan.addresses:
        index = index_of(indexes, a.ns, a.ifname)
        batches[a.ns].address(index, a.cidr, a, noprefixroute=a.noprefixroute)
    for r in plan.routes:
        _route(batches[r.ns], r, indexes)
    for rule in plan.rules:
        batches[rule.ns].rule(rule.table, rule.priority, rule, iifname=rule.iif,
                              fwmark=rule.fwmark, family=rule.family, src=rule.src)  # fmt: skip
    for ns, batch in batches.items():
        if batch:
            with socket_in(ns) as sock:
                batch.commit(sock)


def _route(batch: Batch, r: Route, indexes: Indexes) -> None:
    oif = index_of(indexes, r.ns, r.dev) if r.dev else None
    batch.route(
        r.dst, r, kind=r.kind, table=r.table, via=r.via, oif=oif, metric=r.metric,
        onlink=r.onlink,
    )  # fmt: skip


def reroute(before: Plan, after: Plan) -> None:
    """Per namespace, one batch: the routes of `before` that `after` lacks go, then the
    new ones come, in plan order. Interface indexes are read from the kernel: the scenario
    may have been built by an earlier netemu that numbered its interfaces otherwise."""
    old, now = set(before.routes), set(after.routes)
    gone = [r for r in before.routes if r not in now]
    new = [r for r in after.routes if r not in old]
    for ns in dict.fromkeys(r.ns for r in gone + new):
        with netns.entered(ns), rtnl.Socket() as dump:
            indexes = {(ns, m.text(IFLA_IFNAME) or ""): m.fields[2] for m in dump.links()}
        batch = Batch()
        for r in gone:
            if r.ns == ns:
                batch.route_delete(r.dst, r, table=r.table, metric=r.metric)
        for r in new:
            if r.ns == ns:
                _route(batch, r, indexes)
        with socket_in(ns) as sock:
            batch.commit(sock)
