"""Lookups the static walker needs again and again, computed once per model."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from netemu.explain.security_group import members
from netemu.model.types import Eni, Instance, InternetGateway, Model
from netemu.render.internet_gateway import PRIVATE_RANGES
from netemu.render.topology import target_enis

Place = tuple[str, str, str]  # (kind, name, where it came in), as explain.walk walks them


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
            for ip in e.private_ips:  # secondary private IPs too (9.21)
                self.held[e.subnet][ip] = e
        self.stopped = {s: [] for s in m.subnets}
        for inst in m.instances.values():
            if inst.state == "stopped":
                for sub in dict.fromkeys(e.subnet for e in m.enis_of(inst.name)):
                    self.stopped[sub].append(inst)  # every subnet it has an ENI in (9.20)
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
        """An instance's primary ENI, a NAT gateway's, or (kind "eni") any ENI by its id."""
        m = self.model
        if kind == "vpc_endpoint":  # an interface endpoint's ENI, by its owner (17.3)
            return next(e for e in m.enis() if (e.owner_kind, e.owner) == (kind, owner))
        if kind == "eni":
            return next(e for e in m.enis() if e.id == owner)
        return m.instances[owner].eni if kind == "instance" else m.nat_gateways[owner].eni

    def port(self, eni: Eni) -> Place:
        """Where a packet an ENI sends first arrives: its subnet, by its port."""
        if eni.owner_kind in ("nat_gateway", "vpc_endpoint"):
            return ("subnet", eni.subnet, f"port:{eni.owner_kind}:{eni.owner}")
        if eni.device_index == 0:
            return ("subnet", eni.subnet, f"port:instance:{eni.owner}")
        return ("subnet", eni.subnet, f"port:eni:{eni.id}")

    def sender(self, instance: str, src: IPv4Address) -> Eni:
        """The ENI an instance's packet from `src` leaves by: the one holding `src`, by the
        source rules netemu sets up like Amazon Linux 2023 (9.23); else the primary."""
        enis = self.model.enis_of(instance)
        return next((e for e in enis if src in e.private_ips), enis[0])

    def igw_of(self, vpc: str) -> InternetGateway | None:
        return self.model.igw_of(vpc)


def is_private(ip: IPv4Address) -> bool:
    """RFC 1918 and RFC 6598, which an internet gateway never forwards (5.5)."""
    return any(ip in net for net in PRIVATE_RANGES)
