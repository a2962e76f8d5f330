"""Network ACLs -> ordered nftables chains on the subnet's edge (ref section 8).

Stateless: no connection state is consulted, so replies need their own rules (8.1).
Rules run lowest number first and the first match decides (8.2); then the `*` rule denies.
Only traffic crossing the subnet's edge is checked — the uplink to the VPC router and the
route-target cables — never traffic between two ENIs of the subnet (8.9).
"""

from __future__ import annotations

from typing import Any

from netemu.model.types import (
    Model,
    NetworkAcl,
    NetworkAclRule,
)
from netemu.render import dns, ipv6_rules, nft
from netemu.render import names as n

Json = dict[str, Any]


def _matches(rule: NetworkAclRule, peer: str) -> list[Json]:
    out: list[Json] = []
    if rule.cidr.prefixlen:
        out.append(nft.match(nft.payload("ip", peer), nft.prefix(rule.cidr)))
    return out + nft.traffic(rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code)


def _drop(acl: NetworkAcl, direction: str, number: int | str) -> nft.Drop:
    return nft.Drop("SUBNET_ACL_RESTRICTION", f"network_acl:{acl.name}", direction, str(number))


def _chain(acl: NetworkAcl, direction: str) -> list[Json]:
    chain = n.acl_chain(direction)
    peer = "saddr" if direction == "ingress" else "daddr"
    cmds: list[Json] = [nft.add_chain(chain)]
    for rule in acl.ingress if direction == "ingress" else acl.egress:
        name = f"network_acl:{acl.name} {direction} rule {rule.number} {rule.action}"
        if rule.action == "allow":
            cmds.append(nft.add_rule(chain, *_matches(rule, peer), nft.ACCEPT, comment=name))
        else:
            cmds.append(
                nft.add_drop(
                    chain, *_matches(rule, peer), why=name, drop=_drop(acl, direction, rule.number)
                )
            )
    cmds.append(
        nft.add_drop(
            chain,
            why=f"network_acl:{acl.name} {direction} rule * deny",
            drop=_drop(acl, direction, "*"),
        )
    )
    return cmds


def render(model: Model, subnet: str, edge_ifs: list[str]) -> list[Json]:
    """The subnet's ACL chains and the two base chains that apply them at its edge."""
    acl = model.network_acls[model.subnets[subnet].network_acl]
    ingress, egress = _chain(acl, "ingress"), _chain(acl, "egress")
    six_in, six_out = (ipv6_rules.acl_chain(model, acl, d) for d in ("ingress", "egress"))
    cmds = ingress[:1] + six_in + ingress[1:] + egress[:1] + six_out + egress[1:]
    cmds.append(nft.add_chain("nacl_outbound", "forward", 10))
    cmds.append(
        nft.add_rule(
            "nacl_outbound",
            *dns.amazon_dns(model, subnet, to_resolver=True),
            nft.ACCEPT,
            comment="Amazon DNS is not filtered by network ACLs (7.11, 8.10)",
        )
    )
    cmds.append(
        nft.add_rule(
            "nacl_outbound",
            nft.match(nft.meta("oifname"), n.UPLINK_IF),
            nft.jump(n.acl_chain("egress")),
        )
    )
    cmds.append(nft.add_chain("nacl_inbound", "forward", 20))
    cmds.append(
        nft.add_rule(
            "nacl_inbound",
            *dns.amazon_dns(model, subnet, to_resolver=False),
            nft.ACCEPT,
            comment="Amazon DNS is not filtered by network ACLs (7.11, 8.10)",
        )
    )
    cmds.append(
        nft.add_rule(
            "nacl_inbound",
            nft.match(nft.meta("iifname"), nft.anon_set(edge_ifs)),
            nft.jump(n.acl_chain("ingress")),
        )
    )
    return cmds
