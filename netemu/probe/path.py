"""The AWS components a packet should cross between two endpoints, from the model.

Only a fallback: a probe's hops are where its packet was seen (probe.hops). This lays out
the way the route tables say, for a scenario whose namespaces log no probe packets, and
its result is labelled as modelled (`"hops_observed": false`).
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netemu.model.types import Eni, Model, Route
from netemu.probe.endpoints import Endpoint
from netemu.render import transit_gateway

MAX_HOPS = 16
INITIAL_TTL = 64  # what probes are sent with; each namespace that forwards takes one


def _component(eni: Eni) -> str:
    return f"{eni.owner_kind}:{eni.owner}"


def _lookup(model: Model, subnet: str, dst: IPv4Address) -> Route | None:
    table = model.route_tables[model.subnets[subnet].route_table]
    matching = [r for r in table.routes if dst in r.destination]
    return max(matching, key=lambda r: r.destination.prefixlen, default=None)


class _Index:
    """The model's ENIs by private address (per VPC), public address and owner: a batch of
    thousands of probes walks thousands of paths, and scanning every ENI per step made
    that quadratic in the scenario's size (issue 21)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.private: dict[tuple[str, IPv4Address], Eni] = {}
        self.public: dict[IPv4Address, Eni] = {}
        self.owner: dict[tuple[str, str], Eni] = {}
        for e in model.enis():  # the first in scenario order wins, as a scan would find
            for ip in e.private_ips:  # secondary addresses too (9.21)
                self.private.setdefault((model.subnets[e.subnet].vpc, ip), e)
            if e.public_ip:
                self.public.setdefault(e.public_ip, e)
            self.owner.setdefault((e.owner_kind, e.owner), e)


_last: list[_Index] = []


def _index(model: Model) -> _Index:
    """The index of `model`, built once for the model last asked about."""
    if not _last or _last[0].model is not model:
        _last[:] = [_Index(model)]
    return _last[0]


def _holder(model: Model, vpc: str, ip: IPv4Address) -> Eni | None:
    return _index(model).private.get((vpc, ip))


def _from_internet(model: Model, dst: IPv4Address, hops: list[str]) -> None:
    for host in model.internet_hosts.values():
        if host.ip == dst:
            hops.append(f"internet_host:{host.name}")
            return
    eni = _index(model).public.get(dst)
    if eni is None:
        return
    vpc = model.subnets[eni.subnet].vpc
    igw = model.igw_of(vpc)
    if igw:
        hops += [
            f"internet_gateway:{igw.name}",
            f"vpc_router:{vpc}",
            f"subnet:{eni.subnet}",
            _component(eni),
        ]


def _from_subnet(model: Model, subnet: str, dst: IPv4Address, hops: list[str]) -> None:
    vpc = model.subnets[subnet].vpc
    for _ in range(MAX_HOPS):
        local = _holder(model, vpc, dst)
        if local and local.subnet == subnet:
            hops.append(_component(local))
            return
        hops.append(f"vpc_router:{vpc}")
        route = _lookup(model, subnet, dst)
        if route is None or route.target_kind == "blackhole":
            return
        if route.target_kind == "local":
            if local:
                hops += [f"subnet:{local.subnet}", _component(local)]
            return
        if route.target_kind == "internet_gateway":
            hops += [f"internet_gateway:{route.target}", "internet"]
            _from_internet(model, dst, hops)
            return
        if route.target_kind == "vpc_endpoint":  # a cable straight to the service (17.2)
            hops.append(f"internet_host:{model.vpc_endpoints[route.target or ''].service}")
            return
        if route.target_kind == "vpc_peering_connection":
            # The cable joins the two VPC routers; the peer delivers only to its own subnets.
            pcx = model.vpc_peering_connections.get(route.target or "")
            if pcx is None or not pcx.active:
                return
            peer = pcx.accepter if pcx.requester == vpc else pcx.requester
            hops.append(f"vpc_router:{peer}")
            held = _holder(model, peer, dst)
            if held:
                hops += [f"subnet:{held.subnet}", _component(held)]
            return
        if route.target_kind == "transit_gateway":
            # Through the gateway's route table into the attached VPC it names (18.3).
            nxt = transit_gateway.next_vpc(model, vpc, route.target or "", dst)
            hops.append(f"transit_gateway:{route.target}")
            if nxt is None:
                return
            vpc, subnet = nxt
            held = _holder(model, vpc, dst)
            if held:
                hops += [f"vpc_router:{vpc}", f"subnet:{held.subnet}", _component(held)]
                return
            continue  # routed on by the attachment subnet's route table
        target = _index(model).owner.get((route.target_kind, route.target or ""))
        if target is None:  # a target the model's path does not follow: stop here
            return
        hops += [f"subnet:{target.subnet}", _component(target), f"subnet:{target.subnet}"]
        subnet = target.subnet


def walk(model: Model, src: Endpoint, dst: IPv4Address) -> list[str]:
    """Components from `src` towards `dst`, in order."""
    if src.eni is None:
        hops = [f"internet_host:{src.name}", "internet"]
        _from_internet(model, dst, hops)
        return hops
    hops = [_component(src.eni), f"subnet:{src.eni.subnet}"]
    _from_subnet(model, src.eni.subnet, dst, hops)
    return hops
