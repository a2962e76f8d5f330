"""Security groups -> nftables chains in the subnet namespace (ref section 7).

Per ENI and direction, one chain jumps to the chain of each of its groups; any group rule
that matches accepts (the union of all rules, 7.2), and the ENI chain ends in a named drop.
Replies pass by connection state before any rule (7.10), except those of
flows AWS does not track (7.13, render.untracked) — `established` only, never
`related`, so ICMP errors of a flow need a rule of their own (7.19). Rules that share a
protocol and port range become one nftables rule over a set of CIDRs, so a group with a
thousand CIDRs costs one set lookup, not a thousand rules.
"""

from __future__ import annotations

from collections import defaultdict
from ipaddress import IPv4Network, collapse_addresses
from typing import Any

from netemu.model.types import (
    Eni,
    Model,
    SecurityGroup,
    SecurityGroupRule,
)
from netemu.render import dns, ipv6_rules, nft, prefix_lists, untracked
from netemu.render import names as n

Json = dict[str, Any]


def group_chain(group: SecurityGroup, direction: str) -> str:
    return n.group_chain(group.id, direction)


def eni_chain(eni: Eni, direction: str) -> str:
    return n.eni_chain(eni.port, direction)


def members_set(group_id: str) -> str:
    return n.members_set(group_id)


def members(model: Model, group_id: str) -> list[str]:
    """Private addresses of every ENI in the group, secondary ones too: what a reference to
    it matches (7.6, 9.21)."""
    return sorted(
        str(ip) for e in model.enis() if group_id in e.security_groups for ip in e.private_ips
    )


def _protocol_matches(rule: SecurityGroupRule) -> list[Json]:
    """Matches for the rule's protocol and ports (or ICMP type and code)."""
    return nft.traffic(rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code)


def _key(rule: SecurityGroupRule) -> tuple[int, tuple[int, int] | None, int | None, int | None]:
    return (rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code)


def _accept(chain: str, direction: str, matches: list[Json], why: str) -> list[Json]:
    """A rule admits what it matches; a flow's first-direction packet admitted by it is
    tracked from then on (render.untracked), so it also clears the flow's untracked bit."""
    # The rule's own matches come first: nftables runs a rule's statements in order, so a
    # mark set before them would be set for every packet that merely passes the rule.
    return [
        nft.add_rule(chain, *matches, *untracked.retrack(direction), nft.ACCEPT, comment=why),
        nft.add_rule(chain, *matches, nft.ACCEPT, comment=why),
    ]


def _group_rules(model: Model, group: SecurityGroup, direction: str) -> list[Json]:
    """One chain holding every rule of `group` in `direction` ("ingress" or "egress")."""
    chain = group_chain(group, direction)
    peer = "saddr" if direction == "ingress" else "daddr"
    rules = group.ingress if direction == "ingress" else group.egress
    by_key: dict[Any, list[SecurityGroupRule]] = defaultdict(list)
    for rule in rules:
        if rule.cidr is not None:
            by_key[_key(rule)].append(rule)
    blocks: list[tuple[int, list[Json]]] = []  # (the group's rule index, its kernel rules)
    for same in by_key.values():
        nets = list(collapse_addresses(r.cidr for r in same if r.cidr is not None))
        peer_match = (
            []
            if nets == [IPv4Network("0.0.0.0/0")]
            else [nft.match(nft.payload("ip", peer), nft.anon_set([nft.prefix(x) for x in nets]))]
        )
        idx = ",".join(str(r.index) for r in same)
        matches = [*peer_match, *_protocol_matches(same[0])]
        why = f"security_group:{group.name} {direction} rule {idx}"
        blocks.append((same[0].index, _accept(chain, direction, matches, why)))
    for rule in rules:
        if rule.security_group is not None:
            matches = [
                nft.match(nft.payload("ip", peer), nft.ref(members_set(rule.security_group))),
                *_protocol_matches(rule),
            ]
            why = f"security_group:{group.name} {direction} rule {rule.index}"
            blocks.append((rule.index, _accept(chain, direction, matches, why)))
    # In the order of the group's own rules (a merged CIDR rule where its first one stands).
    # Any order admits the same packets; this one puts a rule authorized last at the chain's
    # end, so a live change appends it (driver.nft_delta) instead of refilling the chain,
    # whatever kinds of rule the group mixes (a default group's reference to itself came
    # after every CIDR rule).
    cmds: list[Json] = [nft.add_chain(chain), *nft.in_order(blocks)]
    cmds += prefix_lists.rules(model, group, direction, "ip", chain, _accept)  # 19.3
    return cmds


def _eni_rules(model: Model, eni: Eni, direction: str) -> list[Json]:
    chain = eni_chain(eni, direction)
    groups = [model.security_groups[g] for g in eni.security_groups]
    cmds: list[Json] = [nft.add_chain(chain), *ipv6_rules.eni_jump(model, eni, direction)]
    if eni.source_dest_check and eni.owner_kind == "instance":
        # The ENI only sends from and receives for its own addresses (9.9, 9.21).
        # An ENI without IPv4 (IPv6-only subnet, 16.11) owns no IPv4 address at all.
        field = "saddr" if direction == "egress" else "daddr"
        cmds.append(
            nft.add_drop(
                chain,
                *(
                    [nft.match(nft.payload("ip", field), nft.one_or_set(eni.private_ips), "!=")]
                    if eni.private_ips
                    else []
                ),
                why=f"eni:{eni.label} {direction} source/destination check",
                drop=nft.Drop("ENI_SOURCE_DEST_CHECK_RESTRICTION", f"eni:{eni.label}", direction),
            )
        )
    names = ",".join(g.name for g in groups) or "(none)"
    cmds.append(nft.add_rule(chain, nft.jump(untracked.chain_name(eni, direction))))
    for g in groups:
        cmds.append(nft.add_rule(chain, nft.jump(group_chain(g, direction))))
    cmds.append(
        nft.add_drop(
            chain,
            why=f"security_group:{names} {direction} no rule matches "
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


def _guarded_enis(model: Model, subnet: str) -> list[Eni]:
    """ENIs with security groups: instances' and interface endpoints'; a NAT gateway's has
    none (6.13)."""
    return [e for e in model.enis_in(subnet) if e.owner_kind in ("instance", "vpc_endpoint")]


def referenced(model: Model, enis: list[Eni]) -> list[str]:
    """Groups the rules of `enis`' groups refer to: each needs a set of its members."""
    used = {g for e in enis for g in e.security_groups}
    return sorted(
        {
            r.security_group
            for g in used
            for r in (*model.security_groups[g].ingress, *model.security_groups[g].egress)
            if r.security_group
        }
    )


def rule_chains(model: Model, subnet: str, groups: set[str]) -> dict[str, list[Json]] | None:
    """Every chain of the subnet's ruleset that the rules of `groups` fill, rendered afresh
    (name -> its `add chain` and rules, as `render` gives them): the groups' own chains
    in both families and the untracked chains of ENIs carrying one of them (7.13). A
    change of those groups' rules changes nothing else in the namespace as long as the
    sets of members it refers to stay the same, which the caller checks (`referenced`)."""
    enis = _guarded_enis(model, subnet)
    out: dict[str, list[Json]] = {}
    for g in sorted({g for e in enis for g in e.security_groups} & groups):
        group = model.security_groups[g]
        for direction in ("ingress", "egress"):
            out[group_chain(group, direction)] = _group_rules(model, group, direction)
    out.update(ipv6_rules.group_chains(model, enis, groups))  # dual stack only
    out.update(untracked.chains_of(model, [e for e in enis if groups & set(e.security_groups)]))
    return out


def render(model: Model, subnet: str) -> list[Json]:
    """Sets, group chains, per-ENI chains and the two base chains of one subnet namespace.
    Base chain priorities keep AWS's order: SG egress (0) < NACL out (10) < NACL in (20) <
    SG ingress (30); each is its own base chain, so an accept in one never skips another."""
    enis = _guarded_enis(model, subnet)
    used = sorted({g for e in enis for g in e.security_groups})
    cmds: list[Json] = []
    for ref in referenced(model, enis):
        cmds.append(nft.add_set(members_set(ref), "ipv4_addr", members(model, ref), interval=False))
    cmds += prefix_lists.sets(model, (model.security_groups[g] for g in used), "ip")
    for g in used:
        for direction in ("ingress", "egress"):
            cmds += _group_rules(model, model.security_groups[g], direction)
    cmds += untracked.chains(model, enis)
    cmds += ipv6_rules.sg_chains(model, enis)  # dual stack only
    for eni in enis:
        for direction in ("ingress", "egress"):
            cmds += _eni_rules(model, eni, direction)
    cmds.append(nft.add_chain("sg_egress", "forward", 0))
    cmds.append(nft.add_chain("sg_ingress", "forward", 30))
    cmds.append(
        nft.add_rule(
            "sg_egress",
            *dns.amazon_dns(model, subnet, to_resolver=True),
            nft.ACCEPT,
            comment="Amazon DNS is not filtered by security groups (7.11)",
        )
    )
    cmds.append(
        nft.add_rule(
            "sg_ingress",
            *dns.amazon_dns(model, subnet, to_resolver=False),
            nft.ACCEPT,
            comment="Amazon DNS is not filtered by security groups (7.11)",
        )
    )
    if enis:
        cmds += _shortcuts("sg_egress", "egress")
        cmds.append(
            nft.add_rule(
                "sg_egress",
                nft.vmap(
                    nft.meta("iifname"),
                    [(n.eni_port_if(e.port), nft.jump(eni_chain(e, "egress"))) for e in enis],
                ),
            )
        )
        cmds += _shortcuts("sg_ingress", "ingress")
        cmds.append(
            nft.add_rule(
                "sg_ingress",
                nft.vmap(
                    nft.meta("oifname"),
                    [(n.eni_port_if(e.port), nft.jump(eni_chain(e, "ingress"))) for e in enis],
                ),
            )
        )
    return cmds


def _shortcuts(chain: str, direction: str) -> list[Json]:
    """Replies of admitted flows pass by state (7.10), except those of flows untracked at
    the ENI this chain checks (render.untracked), on every subnet: a flow marked untracked
    may outlive the rules that made it so."""
    why = "security groups: replies of admitted tracked flows (7.10, 7.13)"
    return [
        nft.add_rule(chain, *m, nft.ACCEPT, comment=why) for m in untracked.established(direction)
    ]
