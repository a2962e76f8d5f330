"""Security group evaluation on the model: the union of every rule of every group on the
ENI (ref 7.2); a reference to a group matches the private addresses of its members (7.6)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Literal

from netemu.explain.packet import Packet, matches_traffic
from netemu.model.types import PROTO_TCP, PROTO_UDP, Eni, Model, SecurityGroup, SecurityGroupRule
from netemu.render import untracked as kernel_untracked

Direction = Literal["ingress", "egress"]


@dataclass(frozen=True)
class SgVerdict:
    eni: Eni
    direction: Direction
    group: SecurityGroup | None  # the group whose rule admitted the packet
    rule: SecurityGroupRule | None
    groups: tuple[SecurityGroup, ...]

    @property
    def allowed(self) -> bool:
        return self.rule is not None

    @property
    def component(self) -> str:
        """As render.security_group names the ENI's drop: every group, in ENI order."""
        return "security_group:" + (",".join(g.name for g in self.groups) or "(none)")

    def kernel_name(self) -> str:
        if self.group and self.rule:
            return f"security_group:{self.group.name} {self.direction} rule {self.rule.index}"
        return (
            f"{self.component} {self.direction} no rule matches "
            f"({self.eni.owner_kind} {self.eni.owner})"
        )

    def to_json(self) -> dict[str, Any] | None:
        """Reachability Analyzer's SecurityGroupRule, in snake_case (ref 13.2)."""
        r, g = self.rule, self.group
        if r is None or g is None:
            return None
        out: dict[str, Any] = {
            "security_group_id": g.id,
            "security_group": g.name,
            "direction": self.direction,
            "rule_index": r.index,
            "protocol": "-1" if r.protocol == -1 else str(r.protocol),
        }
        if r.cidr is not None:
            out["cidr"] = str(r.cidr)
        if r.security_group is not None:
            out["referenced_group_id"] = r.security_group
        if r.prefix_list is not None:
            out["prefix_list"] = r.prefix_list
        if r.prefix_list_id is not None:  # Reachability Analyzer's PrefixListId (ref 17.7)
            out["prefix_list_id"] = r.prefix_list_id
        if r.ports:
            out["port_range"] = {"from": r.ports[0], "to": r.ports[1]}
        return out


def members(model: Model) -> dict[str, frozenset[IPv4Address]]:
    """Private addresses of every ENI in each group, secondary ones too: what a reference to
    it matches (7.6, 9.21)."""
    out: dict[str, set[IPv4Address]] = {g: set() for g in model.security_groups}
    for e in model.enis():
        if e.private_ip is None:
            continue  # an IPv6-only ENI: IPv6 references are explain.ipv6's
        for g in e.security_groups:
            out[g].update(e.private_ips)
    return {g: frozenset(ips) for g, ips in out.items()}


def evaluate(
    model: Model,
    group_members: dict[str, frozenset[IPv4Address]],
    eni: Eni,
    direction: Direction,
    p: Packet,
) -> SgVerdict:
    """Does any rule of the ENI's groups admit `p`? The peer is the packet's source for
    inbound rules and its destination for outbound ones."""
    peer = p.src if direction == "ingress" else p.dst
    groups = tuple(model.security_groups[g] for g in eni.security_groups)
    for g in groups:
        for rule in g.ingress if direction == "ingress" else g.egress:
            if not matches_traffic(rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code, p):
                continue
            if rule.cidr is not None and peer in rule.cidr:
                return SgVerdict(eni, direction, g, rule, groups)
            ref = rule.security_group
            if ref is not None and peer in group_members.get(ref, frozenset()):
                return SgVerdict(eni, direction, g, rule, groups)
            plist = rule.prefix_list
            if plist is not None and model.prefix_lists[plist].holds(peer):
                return SgVerdict(eni, direction, g, rule, groups)  # 19.3
    return SgVerdict(eni, direction, None, None, groups)


def untracked(model: Model, eni: Eni, direction: Direction, p: Packet) -> bool:
    """7.13: a TCP or UDP flow that an all-addresses rule admits, while the opposite
    direction has an all-addresses rule for all its ports, is not tracked at this ENI: its
    replies meet the rules, not the state. A flow to a destination the subnet routes to a NAT
    gateway is always tracked (6.17). The selectors are the kernel's own (render.untracked)."""
    if p.protocol not in (PROTO_TCP, PROTO_UDP):
        return False  # ICMP and other protocols are always tracked (7.14, 7.12)
    for protocol, ports in kernel_untracked.selectors(model, eni, direction):
        if protocol == p.protocol and (ports is None or ports[0] <= p.dport <= ports[1]):
            to_nat = kernel_untracked.nat_routed(model, eni.subnet) if direction == "egress" else []
            return not any(p.dst in net for net in to_nat)
    return False
