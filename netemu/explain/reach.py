"""All-pairs reachability from the model, fast: instances that no rule can tell apart are
walked once.

Two instances are interchangeable when they share subnet, groups, state, forwarding,
services and whether a public IP exists, and when their addresses fall inside exactly the
same CIDRs of every rule, route and range the walk consults. Only one pair of
representatives per class pair and port is walked; every cell of that class pair has the
same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Literal

from netemu.explain.index import ModelIndex
from netemu.explain.result import StaticResult
from netemu.explain.static import explain
from netemu.model.types import Instance, Model
from netemu.probe.engine import ProbeSpec
from netemu.render.internet_gateway import PRIVATE_RANGES

Protocol = Literal["tcp", "udp", "icmp"]
DEFAULT_PORTS: tuple[tuple[Protocol, int | None], ...] = (
    ("tcp", 22),
    ("tcp", 80),
    ("tcp", 443),
    ("tcp", 3306),
    ("icmp", None),
)


def _cidrs(model: Model) -> list[IPv4Network]:
    nets: set[IPv4Network] = set(PRIVATE_RANGES)
    nets |= {v.cidr for v in model.vpcs.values()} | {
        s.cidr for s in model.subnets.values() if s.cidr
    }
    for g in model.security_groups.values():
        nets |= {r.cidr for r in (*g.ingress, *g.egress) if r.cidr is not None}
    for pl in model.prefix_lists.values():  # 19.3
        nets |= {e.cidr for e in pl.entries if isinstance(e.cidr, IPv4Network)}
    for a in model.network_acls.values():
        nets |= {r.cidr for r in (*a.ingress, *a.egress)}
    for t in model.route_tables.values():
        nets |= {r.destination for r in t.routes}
    return sorted(nets)


def _signature(
    inst: Instance, nets: list[IPv4Network], targets: set[tuple[str, str]]
) -> tuple[object, ...]:
    def inside(ip: IPv4Address | None) -> tuple[bool, ...]:
        return tuple(ip is not None and ip in n for n in nets)

    e = inst.eni
    own = inst.name if ("instance", inst.name) in targets else None  # a route target
    return (
        e.subnet,
        e.security_groups,
        inst.state,
        e.source_dest_check,
        e.public_ip is None,
        inst.services,
        own,
        inside(e.private_ip),
        inside(e.public_ip),
    )


@dataclass
class Matrix:
    sources: list[str]
    destinations: list[str]
    traffic: list[tuple[Protocol, int | None]]
    src_class: list[int]
    dst_class: list[int]
    answers: dict[tuple[int, int, int], StaticResult | None]  # (src class, dst class, k)
    walks: int

    def cell(self, i: int, j: int, k: int) -> StaticResult | None:
        """None on the diagonal (an instance to itself)."""
        if self.sources[i] == self.destinations[j]:
            return None
        return self.answers[(self.src_class[i], self.dst_class[j], k)]

    def grid(self, k: int) -> list[list[StaticResult | None]]:
        """Every cell for traffic `k`, one row per source. Rows of one class are copies of
        one row (a C-level list copy), with the diagonal cleared."""
        classes = max([*self.src_class, *self.dst_class], default=-1) + 1
        column = {d: j for j, d in enumerate(self.destinations)}
        base: dict[int, list[StaticResult | None]] = {}
        rows = []
        for i, cs in enumerate(self.src_class):
            if cs not in base:
                lut = [self.answers.get((cs, cd, k)) for cd in range(classes)]
                base[cs] = list(map(lut.__getitem__, self.dst_class))
            row = base[cs][:]
            j = column.get(self.sources[i])
            if j is not None:
                row[j] = None
            rows.append(row)
        return rows


def matrix(
    model: Model,
    sources: Sequence[str] | None = None,
    destinations: Sequence[str] | None = None,
    traffic: Sequence[tuple[Protocol, int | None]] = DEFAULT_PORTS,
) -> Matrix:
    ix = ModelIndex(model)
    everyone = [*model.instances, *model.internet_hosts]
    srcs = list(sources) if sources is not None else everyone
    dsts = list(destinations) if destinations is not None else everyone
    nets = _cidrs(model)
    keys: dict[tuple[object, ...], int] = {}
    members: dict[int, list[str]] = {}

    def klass(name: str) -> int:
        inst = model.instances.get(name)
        key: tuple[object, ...] = ("endpoint", name)
        if (
            inst is not None
            and len(model.enis_of(name)) == 1
            and not inst.eni.secondary_private_ips
        ):
            key = _signature(inst, nets, ix.targets)  # a multi-homed instance is its own class

        c = keys.setdefault(key, len(keys))
        if name not in members.setdefault(c, []):
            members[c].append(name)
        return c

    src_class = [klass(s) for s in srcs]
    dst_class = [klass(d) for d in dsts]
    answers: dict[tuple[int, int, int], StaticResult | None] = {}
    walks = 0
    # The matrix is IPv4: an instance of an IPv6-only subnet has no cell in it (16.11).
    no_ipv4 = {i.name for i in model.instances.values() if i.private_ip is None}
    for cs in dict.fromkeys(src_class):
        for cd in dict.fromkeys(dst_class):
            a = members[cs][0]
            b = next((m for m in members[cd] if m != a), None)
            for k, (proto, port) in enumerate(traffic):
                if b is None or a in no_ipv4 or b in no_ipv4:
                    answers[(cs, cd, k)] = None
                    continue
                answers[(cs, cd, k)] = explain(model, ProbeSpec(a, b, proto, port), ix)
                walks += 1
    return Matrix(srcs, dsts, list(traffic), src_class, dst_class, answers, walks)
