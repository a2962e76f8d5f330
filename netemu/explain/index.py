"""Lookups the static walker needs again and again, computed once per model."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from netemu.explain.security_group import members
from netemu.model.types import Eni, Instance, InternetGateway, Model
from netemu.render.internet_gateway import PRIVATE_RANGES
from netemu.render.topology import target_enis


@dataclass
class ModelIndex:
    model: Model
    group_members: dict[str, frozenset[IPv4Address]] = field(init=False)
    by_public: dict[IPv4Address, Eni] = field(init=False)
    targets: set[tuple[str, str]] = field(init=False)  # ENIs with a route-target cable
    hosts: dict[IPv4Address, str] = field(init=False)
    public_of: dict[str, dict[IPv4Address, IPv4Address]] = field(init=False)  # per VPC
    held: dict[str, dict[IPv4Address, Eni]] = field(init=False)  # per subnet: ENIs by address
    stopped: dict[str, list[Instance]] = field(init=False)  # per subnet, in scenario order

    def __post_init__(self) -> None:
        m = self.model
        self.group_members = members(m)
        self.by_public = {e.public_ip: e for e in m.enis() if e.public_ip}
        self.targets = {(e.owner_kind, e.owner) for e in target_enis(m)}
        self.hosts = {h.ip: h.name for h in m.internet_hosts.values()}
        self.held = {s: {} for s in m.subnets}
        for e in m.enis():
            if e.private_ip is not None:  # an IPv6-only ENI holds no IPv4 address (16.11)
                self.held[e.subnet][e.private_ip] = e
        self.stopped = {s: [] for s in m.subnets}
        for inst in m.instances.values():
            if inst.state == "stopped":
                self.stopped[inst.subnet].append(inst)
        # Private -> public addresses each VPC's internet gateway translates (5.3).
        self.public_of = {v: {} for v in m.vpcs}
        for e in m.enis():
            if e.public_ip and e.private_ip:
                self.public_of[self.vpc_of_eni(e)][e.private_ip] = e.public_ip

    def vpc_of_eni(self, eni: Eni) -> str:
        return self.model.subnets[eni.subnet].vpc

    def vpc_of_address(self, ip: IPv4Address) -> str | None:
        return next((v.name for v in self.model.vpcs.values() if v.holds(ip)), None)

    def eni(self, kind: str, owner: str) -> Eni:
        m = self.model
        return m.instances[owner].eni if kind == "instance" else m.nat_gateways[owner].eni

    def igw_of(self, vpc: str) -> InternetGateway | None:
        return self.model.igw_of(vpc)


def is_private(ip: IPv4Address) -> bool:
    """RFC 1918 and RFC 6598, which an internet gateway never forwards (5.5)."""
    return any(ip in net for net in PRIVATE_RANGES)
