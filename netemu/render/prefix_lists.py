"""Prefix lists in security group rules -> one named nftables set per list (ref 19.3).

Every subnet namespace whose groups reference a list holds one interval set named after the
list's id, with the list's CIDRs; each referencing rule matches the peer address against
it. A change of a list's entries is then a change of that one set, as on AWS a
modify-managed-prefix-list reaches every rule that references it (19.5). Routes to a list
need nothing here: the model already made one route per entry (model.validate_prefix_lists).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from ipaddress import IPv4Network, IPv6Network, collapse_addresses
from typing import Any

from netemu.model.types import ManagedPrefixList, Model, SecurityGroup, SecurityGroupRule
from netemu.render import nft

Json = dict[str, Any]
Accept = Callable[[str, str, list[Json], str], list[Json]]


def set_name(pl: ManagedPrefixList) -> str:
    return f"pl_{pl.id}"


def _family(pl: ManagedPrefixList) -> str:
    return "ip6" if pl.address_family == "IPv6" else "ip"


def sets(model: Model, groups: Iterable[SecurityGroup], family: str) -> list[Json]:
    """The sets of the lists that rules of `groups` reference, for one family ("ip"/"ip6")."""
    names = sorted(
        {r.prefix_list for g in groups for r in (*g.ingress, *g.egress) if r.prefix_list}
    )
    out: list[Json] = []
    for name in names:
        pl = model.prefix_lists[name]
        if _family(pl) != family:
            continue
        kind = "ipv6_addr" if family == "ip6" else "ipv4_addr"
        # An interval set refuses overlapping elements: 10.0.0.0/8 swallows 10.1.0.0/16.
        nets: list[IPv4Network] | list[IPv6Network]
        if family == "ip6":
            nets = list(collapse_addresses(e.cidr for e in pl.entries if e.cidr.version == 6))
        else:
            nets = list(collapse_addresses(e.cidr for e in pl.entries if e.cidr.version == 4))
        out.append(nft.add_set(set_name(pl), kind, [nft.prefix(x) for x in nets], interval=True))
    return out


def rules(
    model: Model,
    group: SecurityGroup,
    direction: str,
    family: str,
    chain: str,
    accept: Accept,
) -> list[Json]:
    """One rule per referencing rule of the group: the peer in the list's set."""
    peer = "saddr" if direction == "ingress" else "daddr"
    out: list[Json] = []
    members: tuple[SecurityGroupRule, ...] = (
        group.ingress if direction == "ingress" else group.egress
    )
    for rule in members:
        if rule.prefix_list is None:
            continue
        pl = model.prefix_lists[rule.prefix_list]
        if _family(pl) != family:
            continue
        matches = [
            nft.match(nft.payload(family, peer), nft.ref(set_name(pl))),
            *nft.traffic(rule.protocol, rule.ports, rule.icmp_type, rule.icmp_code),
        ]
        why = f"security_group:{group.name} {direction} rule {rule.index}"
        out += accept(chain, direction, matches, why)
    return out
