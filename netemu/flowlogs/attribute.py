"""Which ENI saw a packet, in which direction, and the addresses AWS's record shows (ref 12.5).

Conntrack and the drop log are read in a subnet's namespace, where every ENI of the subnet
has its port and no address is translated. A packet from or to an ENI's private address
belongs to that ENI. A packet with neither end on an ENI of the subnet is being forwarded
by one (a NAT gateway, or an instance with source/destination check off): the route tables
say which. For such an ENI the record shows its own private address on its side, the
packet's real address in pkt-srcaddr/pkt-dstaddr.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import Literal

from netemu.model.types import Eni, Model, Route

Direction = Literal["ingress", "egress"]
Address = IPv4Address | IPv6Address  # IPv6 in a dual-stack scenario (render.ipv6)
LINK_LOCAL = IPv4Network("169.254.0.0/16")  # IMDS, Time Sync, the .253 resolver (ref 12.7)
DHCP_PORTS = (67, 68)


@dataclass(frozen=True)
class Side:
    """One packet direction as one ENI's flow log records it."""

    eni: Eni
    direction: Direction
    srcaddr: Address
    dstaddr: Address
    pkt_srcaddr: Address
    pkt_dstaddr: Address


def _lookup(model: Model, subnet: str, dst: Address) -> Route | None:
    if isinstance(dst, IPv6Address):
        return None  # IPv6 routes are Route6 (ipv6_routes); none targets an ENI
    table = model.route_tables[model.subnets[subnet].route_table]
    matching = [r for r in table.routes if dst in r.destination]
    return max(matching, key=lambda r: r.destination.prefixlen, default=None)


class Attributor:
    """Attribution inside one subnet's namespace."""

    def __init__(self, model: Model, subnet: str) -> None:
        self.model = model
        self.subnet = subnet
        self.local: dict[Address, Eni] = {
            ip: e
            for e in model.enis_in(subnet)
            for ip in e.private_ips  # 9.21
        }
        self.local |= {e.ipv6_address: e for e in model.enis_in(subnet) if e.ipv6_address}
        self.forwarders = [
            e
            for e in self.local.values()
            if e.owner_kind == "nat_gateway" or not e.source_dest_check
        ]
        vpc = model.vpcs[model.subnets[subnet].vpc]
        # Not logged (ref 12.7): the Amazon DNS server at base+2, each subnet's router at
        # base+1, and link-local services; DHCP is matched by port.
        self.unlogged = {vpc.dns_ip} | {s.router_ip for s in model.subnets.values() if s.router_ip}

    def logged(self, protocol: int, src: Address, dst: Address, sport: int, dport: int) -> bool:
        if src in LINK_LOCAL or dst in LINK_LOCAL or src in self.unlogged or dst in self.unlogged:
            return False
        return not (protocol == 17 and sport in DHCP_PORTS and dport in DHCP_PORTS)

    def _subnet_of(self, ip: Address) -> str | None:
        return next((s.name for s in self.model.subnets.values() if s.cidr and ip in s.cidr), None)

    def _routed_to(self, frm: Address, to: Address) -> Eni | None:
        """The forwarder of this subnet that `frm`'s route table sends traffic for `to` to."""
        subnet = self._subnet_of(frm)
        route = _lookup(self.model, subnet, to) if subnet else None
        if route is None or route.target_kind not in ("nat_gateway", "instance"):
            return None
        return next(
            (
                e
                for e in self.forwarders
                if (e.owner_kind, e.owner) == (route.target_kind, route.target)
            ),
            None,
        )

    def sides(self, src: Address, dst: Address, only: Direction | None = None) -> list[Side]:
        """The ENIs of this subnet a packet src -> dst crossed. `only`: a drop named by its
        rule as ingress or egress reached only the receiving or only the sending ENI."""
        out: list[Side] = []
        if src in self.local and only != "ingress":
            out.append(Side(self.local[src], "egress", src, dst, src, dst))
        if dst in self.local and only != "egress":
            out.append(Side(self.local[dst], "ingress", src, dst, src, dst))
        if src in self.local or dst in self.local:
            return out
        into = self._routed_to(src, dst)
        if into is not None and into.private_ip is not None and only != "egress":
            return [Side(into, "ingress", src, into.private_ip, src, dst)]
        out_of = self._routed_to(dst, src)
        if out_of is not None and out_of.private_ip is not None and only != "ingress":
            return [Side(out_of, "egress", out_of.private_ip, dst, src, dst)]
        return []

    def traffic_path(self, side: Side) -> int | None:
        """v5 traffic-path, egress only: 1 through a resource of the VPC (local route, NAT
        gateway, instance), 8 through an internet gateway (the Nitro code)."""
        if side.direction != "egress":
            return None
        route = _lookup(self.model, side.eni.subnet, side.pkt_dstaddr)
        if route is None:
            return None
        return 8 if route.target_kind == "internet_gateway" else 1
