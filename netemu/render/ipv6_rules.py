"""IPv6 security group and network ACL rules, in the same subnet namespace as IPv4's.

An IPv6 packet leaves the IPv4 chains at their first rule for chains of its own, which
end in their own named drop, so a rule of one family never matches the other (ref 8.8,
16.6) even where an IPv4 rule has no address to match (0.0.0.0/0). Neighbour discovery is
between an instance and the subnet namespace itself, never forwarded, so no rule here sees
it, as AWS filters no neighbour discovery (16.7). Scenarios without IPv6 get none of this.
"""

from __future__ import annotations

from collections import defaultdict
from ipaddress import IPv6Network, collapse_addresses
from typing import Any

from netemu.model.types import Eni, Model, NetworkAcl, NetworkAclRule6, SecurityGroup
from netemu.render import ipv6, nft, prefix_lists
from netemu.render import names as n

Json = dict[str, Any]
_IS_V6 = nft.match(nft.meta("nfproto"), "ipv6")


def _eni_chain(eni: Eni, direction: str) -> str:
    return n.eni_chain(eni.port, direction, v6=True)


def _group_chain(group: SecurityGroup, direction: str) -> str:
    return n.group_chain(group.id, direction, v6=True)


def _members(group_id: str) -> str:
    return n.members_set(group_id, v6=True)


def eni_jump(model: Model, eni: Eni, direction: str) -> list[Json]:
    """The first rule of an ENI's IPv4 chain: IPv6 goes to its own chain."""
    if not ipv6.enabled(model):
        return []
    return [
        nft.add_rule(n.eni_chain(eni.port, direction), _IS_V6, nft.jump(_eni_chain(eni, direction)))
    ]


def sg_chains(model: Model, enis: list[Eni]) -> list[Json]:
    """Sets of members' IPv6 addresses, each group's IPv6 rules and each ENI's IPv6 chain."""
    if not ipv6.enabled(model):
        return []
    used = sorted({g for e in enis for g in e.security_groups})
    groups = [model.security_groups[g] for g in used]
    referenced = sorted(
        {r.security_group for g in groups for r in (*g.ingress, *g.egress) if r.security_group}
    )
    cmds: list[Json] = []
    for ref in referenced:
        members = sorted(
            str(e.ipv6_address) for e in model.enis() if ref in e.security_groups and e.ipv6_address
        )
        cmds.append(nft.add_set(_members(ref), "ipv6_addr", members, interval=False))
    cmds += prefix_lists.sets(model, groups, "ip6")
    for g in groups:
        for direction in ("ingress", "egress"):
            cmds += _group_rules(g, direction)
            cmds += prefix_lists.rules(
                model, g, direction, "ip6", _group_chain(g, direction), _accept
            )
    for eni in enis:
        for direction in ("ingress", "egress"):
            cmds += _eni_rules(model, eni, direction)
    return cmds


def group_chains(model: Model, enis: list[Eni], groups: set[str]) -> dict[str, list[Json]]:
    """The IPv6 chains of those of `groups` that `enis` carry, by chain name."""
    if not ipv6.enabled(model):
        return {}
    used = sorted({g for e in enis for g in e.security_groups} & groups)
    return {
        _group_chain(model.security_groups[g], d): _group_rules(model.security_groups[g], d)
        for g in used
        for d in ("ingress", "egress")
    }


def _group_rules(group: SecurityGroup, direction: str) -> list[Json]:
    chain = _group_chain(group, direction)
    peer = "saddr" if direction == "ingress" else "daddr"
    rules = group.ingress if direction == "ingress" else group.egress
    by_key: dict[Any, list[Any]] = defaultdict(list)
    for rule in rules:
        if rule.cidr_ipv6 is not None:
            by_key[(rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code)].append(rule)
    blocks: list[tuple[int, list[Json]]] = []
    for same in by_key.values():
        nets = list(collapse_addresses(r.cidr_ipv6 for r in same))
        peer_match = (
            []
            if nets == [IPv6Network("::/0")]
            else [nft.match(nft.payload("ip6", peer), nft.anon_set([nft.prefix(x) for x in nets]))]
        )
        idx = ",".join(str(r.index) for r in same)
        traffic = nft.traffic(same[0].protocol, same[0].ports, same[0].icmp_type, same[0].icmp_code)
        why = f"security_group:{group.name} {direction} rule {idx}"
        rule_cmd = nft.add_rule(chain, *peer_match, *traffic, nft.ACCEPT, comment=why)
        blocks.append((same[0].index, [rule_cmd]))
    for rule in rules:
        if rule.security_group is not None:
            traffic = nft.traffic(rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code)
            match = nft.match(nft.payload("ip6", peer), nft.ref(_members(rule.security_group)))
            why = f"security_group:{group.name} {direction} rule {rule.index}"
            rule_cmd = nft.add_rule(chain, match, *traffic, nft.ACCEPT, comment=why)
            blocks.append((rule.index, [rule_cmd]))
    return [nft.add_chain(chain), *nft.in_order(blocks)]  # as render.security_group's


def _accept(chain: str, direction: str, matches: list[Json], why: str) -> list[Json]:
    return [nft.add_rule(chain, *matches, nft.ACCEPT, comment=why)]


def _eni_rules(model: Model, eni: Eni, direction: str) -> list[Json]:
    chain = _eni_chain(eni, direction)
    groups = [model.security_groups[g] for g in eni.security_groups]
    cmds: list[Json] = [nft.add_chain(chain)]
    if eni.source_dest_check and eni.owner_kind == "instance":
        # The ENI only sends from and receives for its own address (9.9); one without an
        # IPv6 address has none to send from.
        field = "saddr" if direction == "egress" else "daddr"
        own = (
            [nft.match(nft.payload("ip6", field), str(eni.ipv6_address), "!=")]
            if eni.ipv6_address
            else []
        )
        cmds.append(
            nft.add_drop(
                chain,
                *own,
                why=f"eni:{eni.owner} {direction} source/destination check (IPv6)",
                drop=nft.Drop("ENI_SOURCE_DEST_CHECK_RESTRICTION", f"eni:{eni.owner}", direction),
            )
        )
    for g in groups:
        cmds.append(nft.add_rule(chain, nft.jump(_group_chain(g, direction))))
    names = ",".join(g.name for g in groups) or "(none)"
    cmds.append(
        nft.add_drop(
            chain,
            why=f"security_group:{names} {direction} no IPv6 rule matches "
            f"({eni.owner_kind} {eni.owner})",
            drop=nft.Drop(
                "ENI_SG_RULES_MISMATCH",
                f"security_group:{names}",
                direction,
                ",".join(g.id for g in groups) or None,
            ),
        )
    )
    return cmds


def acl_chain(model: Model, acl: NetworkAcl, direction: str) -> list[Json]:
    """The IPv6 entries of an ACL direction, lowest number first, then the IPv6 `*` deny
    (32768 in the API, ref 8.3), entered from the first rule of the IPv4 chain."""
    if not ipv6.enabled(model):
        return []
    chain = n.acl_chain(direction, v6=True)
    peer = "saddr" if direction == "ingress" else "daddr"
    cmds: list[Json] = [
        nft.add_chain(chain),
        nft.add_rule(n.acl_chain(direction), _IS_V6, nft.jump(chain)),
    ]
    component = f"network_acl:{acl.name}"
    for rule in acl.ingress_ipv6 if direction == "ingress" else acl.egress_ipv6:
        name = f"{component} {direction} rule {rule.number} {rule.action} (IPv6)"
        matches = _acl_matches(rule, peer)
        if rule.action == "allow":
            cmds.append(nft.add_rule(chain, *matches, nft.ACCEPT, comment=name))
        else:
            drop = nft.Drop("SUBNET_ACL_RESTRICTION", component, direction, str(rule.number))
            cmds.append(nft.add_drop(chain, *matches, why=name, drop=drop))
    drop = nft.Drop("SUBNET_ACL_RESTRICTION", component, direction, "*")
    cmds.append(nft.add_drop(chain, why=f"{component} {direction} rule * deny (IPv6)", drop=drop))
    return cmds


def _acl_matches(rule: NetworkAclRule6, peer: str) -> list[Json]:
    out: list[Json] = []
    if rule.cidr.prefixlen:
        out.append(nft.match(nft.payload("ip6", peer), nft.prefix(rule.cidr)))
    return out + nft.traffic(rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code)
