"""Network ACL evaluation on the model: numbered rules, lowest first, first match decides,
then the `*` deny (ref 8.2); stateless, so every packet is judged on its own (8.1)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any, Literal

from netemu.explain.packet import NAT_PORT, NAT_RANGE, Packet, matches_traffic
from netemu.model.types import PROTO_TCP, PROTO_UDP, NetworkAcl, NetworkAclRule

Direction = Literal["ingress", "egress"]


@dataclass(frozen=True)
class AclVerdict:
    acl: NetworkAcl
    direction: Direction
    rule: NetworkAclRule | None  # None: the `*` rule decided
    allowed: bool
    share: float = 1.0  # of the NAT gateway's random ports, the part this verdict holds for

    @property
    def rule_name(self) -> str:
        return str(self.rule.number) if self.rule else "*"

    def kernel_name(self) -> str:
        """The name render.network_acl gives the rule that decided (its log prefix)."""
        action = self.rule.action if self.rule else "deny"
        return f"network_acl:{self.acl.name} {self.direction} rule {self.rule_name} {action}"

    def to_json(self) -> dict[str, Any]:
        """Reachability Analyzer's AclRule, in snake_case (ref 13.2)."""
        r = self.rule
        out: dict[str, Any] = {
            "rule_number": r.number if r else 32767,
            "rule_action": r.action if r else "deny",
            "egress": self.direction == "egress",
            "protocol": str(r.protocol) if r else "-1",
            "cidr": str(r.cidr) if r else "0.0.0.0/0",
        }
        if r and r.ports:
            out["port_range"] = {"from": r.ports[0], "to": r.ports[1]}
        return out


def evaluate(acl: NetworkAcl, direction: Direction, p: Packet) -> AclVerdict:
    """The peer is the source for inbound rules and the destination for outbound ones. A
    destination port a NAT gateway picks at random (6.8) is judged on every stretch of its
    range that the rules split: if some stretch is refused, that refusal is the answer, with
    the share of ports it holds for (lab 07: an ACL admitting only 32768-65535)."""
    if p.dport != NAT_PORT or p.protocol not in (PROTO_TCP, PROTO_UDP):
        return _first_match(acl, direction, p)
    rules = acl.ingress if direction == "ingress" else acl.egress
    cuts = {NAT_RANGE[0], NAT_RANGE[1] + 1}
    for r in rules:
        if r.ports:
            cuts |= {e for e in (r.ports[0], r.ports[1] + 1) if NAT_RANGE[0] < e <= NAT_RANGE[1]}
    edges = sorted(cuts)
    width = NAT_RANGE[1] - NAT_RANGE[0] + 1
    stretches = [
        (_first_match(acl, direction, replace(p, dport=lo)), (hi - lo) / width)
        for lo, hi in pairwise(edges)
    ]
    refused = [(v, share) for v, share in stretches if not v.allowed]
    if not refused:
        return stretches[0][0]
    return replace(refused[0][0], share=sum(share for _, share in refused))


def _first_match(acl: NetworkAcl, direction: Direction, p: Packet) -> AclVerdict:
    peer = p.src if direction == "ingress" else p.dst
    rules = acl.ingress if direction == "ingress" else acl.egress
    for rule in rules:  # sorted by number in the model
        if peer in rule.cidr and matches_traffic(
            rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code, p
        ):
            return AclVerdict(acl, direction, rule, rule.action == "allow")
    return AclVerdict(acl, direction, None, False)
