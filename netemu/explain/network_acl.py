"""Network ACL evaluation on the model: numbered rules, lowest first, first match decides,
then the `*` deny (ref 8.2); stateless, so every packet is judged on its own (8.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from netemu.explain.packet import Packet, matches_traffic
from netemu.model.types import NetworkAcl, NetworkAclRule

Direction = Literal["ingress", "egress"]


@dataclass(frozen=True)
class AclVerdict:
    acl: NetworkAcl
    direction: Direction
    rule: NetworkAclRule | None  # None: the `*` rule decided
    allowed: bool

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
    """The peer is the source for inbound rules and the destination for outbound ones."""
    peer = p.src if direction == "ingress" else p.dst
    rules = acl.ingress if direction == "ingress" else acl.egress
    for rule in rules:  # sorted by number in the model
        if peer in rule.cidr and matches_traffic(
            rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code, p
        ):
            return AclVerdict(acl, direction, rule, rule.action == "allow")
    return AclVerdict(acl, direction, None, False)
