"""Untracked security-group flows (ref 7.13-7.16): which traffic AWS does not track, and the
nftables rules that make the kernel judge it by rules instead of by connection state.

AWS tracks no TCP/UDP flow that a rule for all addresses admits when the opposite
direction also has an all-addresses rule for all ports (7.13); ICMP is always tracked
(7.14), and so is a flow through a NAT gateway (6.17, 7.16). Such a flow has no state, so
removing the rule that admitted it cuts it at the next packet, while a tracked flow
survives (7.15).

Linux tracks every flow in the subnet namespace (the NAT and attribution code need it), so
"untracked" is a bit in the flow's conntrack mark: an ENI chain sets it when an original-
direction packet is admitted by an untracked rule, a group rule clears it when it admits
one otherwise (a dropped packet changes nothing), and the base
chains skip the `established` shortcut for flows with the bit, so every packet of them,
replies too, meets the rules. The decision is made per packet, as on AWS: once the
opposite all-ports rule is gone, the next packet clears the bit and the flow is tracked
from then on ("removing the outbound rule turns the flows into tracked flows", 7.15).

Two bits, because one conntrack entry in the subnet namespace stands for the flow at both
ENIs of an in-subnet connection, and each ENI tracks (or not) on its own: INITIATOR for
the ENI that sent the first packet, RESPONDER for the ENI that received it.
"""

from __future__ import annotations

from ipaddress import IPv4Network, collapse_addresses
from typing import Any

from netemu.model.types import PROTO_ALL, PROTO_TCP, PROTO_UDP, Eni, Model, SecurityGroupRule
from netemu.render import nft

Json = dict[str, Any]
Selector = tuple[int, tuple[int, int] | None]  # (protocol, destination ports; None = all)

INITIATOR = 0x1  # ct mark bit: untracked at the ENI that started the flow
RESPONDER = 0x2  # ct mark bit: untracked at the ENI the flow was started towards
ALL = IPv4Network("0.0.0.0/0")
MASK = 0xFFFFFFFF


def _all_ports(rule: SecurityGroupRule, protocol: int) -> bool:
    """An all-addresses rule of the opposite direction that admits every reply of
    `protocol`: protocol all, or that protocol on ports 0-65535."""
    if rule.cidr != ALL:
        return False
    if rule.protocol == PROTO_ALL:
        return True
    full = rule.ports is None or (rule.ports[0] <= 1 and rule.ports[1] == 65535)
    return rule.protocol == protocol and full


def selectors(model: Model, eni: Eni, direction: str) -> list[Selector]:
    """The traffic that starts an untracked flow at `eni` in `direction` (ingress: flows
    towards it; egress: flows it starts)."""
    if eni.owner_kind == "vpc_endpoint":
        return []  # an interface endpoint's connections are always tracked (7.16, 17.8)
    groups = [model.security_groups[g] for g in eni.security_groups]
    same = [r for g in groups for r in (g.ingress if direction == "ingress" else g.egress)]
    other = [r for g in groups for r in (g.egress if direction == "ingress" else g.ingress)]
    out: list[Selector] = []
    for rule in same:
        if rule.cidr != ALL:
            continue
        protocols = (PROTO_TCP, PROTO_UDP) if rule.protocol == PROTO_ALL else (rule.protocol,)
        for p in protocols:
            if p not in (PROTO_TCP, PROTO_UDP):
                continue  # ICMP and other protocols are always tracked (7.14, 7.12)
            if any(_all_ports(o, p) for o in other):
                ports = None if rule.protocol == PROTO_ALL else rule.ports
                if (p, ports) not in out:
                    out.append((p, ports))
    return out


def nat_routed(model: Model, subnet: str) -> list[IPv4Network]:
    """Destinations the subnet's route table sends to a NAT gateway (longest prefix wins):
    flows to them are tracked on the instance side whatever the rules (6.17)."""
    table = model.route_tables[model.subnets[subnet].route_table]
    routes = [r for r in table.routes if r.target_kind != "local"]
    out: list[IPv4Network] = []
    for r in routes:
        if r.target_kind != "nat_gateway":
            continue
        parts = [r.destination]
        for other in routes:
            more = other.destination
            if other.target_kind == "nat_gateway" or more.prefixlen <= r.destination.prefixlen:
                continue
            if more.subnet_of(r.destination):
                parts = [q for p in parts for q in _without(p, more)]
        out += parts
    return list(collapse_addresses(out))


def _without(net: IPv4Network, hole: IPv4Network) -> list[IPv4Network]:
    if not hole.subnet_of(net):
        return [net]
    return list(net.address_exclude(hole)) if hole != net else []


def _ct_mark() -> Json:
    return {"ct": {"key": "mark"}}


def _set_bit(bit: int) -> Json:
    return {"mangle": {"key": _ct_mark(), "value": {"|": [_ct_mark(), bit]}}}


def _clear_bit(bit: int) -> Json:
    return {"mangle": {"key": _ct_mark(), "value": {"&": [_ct_mark(), MASK ^ bit]}}}


def _original() -> Json:
    return nft.match({"ct": {"key": "direction"}}, "original")


def chain_name(eni: Eni, direction: str) -> str:
    """One chain per set of groups and direction, shared by every ENI carrying that set:
    a rule change then refills that chain, not one chain per ENI."""
    return f"untracked_{'_'.join(sorted(eni.security_groups)) or 'none'}_{direction}"


def chains(model: Model, enis: list[Eni]) -> list[Json]:
    """The untracked chains of a subnet's ENIs, each once: a rule per untracked selector
    that marks the flow (and accepts it: the all-addresses rule admits it). Other
    original-direction packets return to the ENI chain and go on to the group rules, whose
    accepting rules clear the mark (`retrack`): a dropped packet leaves it as it was."""
    return [cmd for block in chains_of(model, enis).values() for cmd in block]


def chains_of(model: Model, enis: list[Eni]) -> dict[str, list[Json]]:
    """`chains`, by chain name."""
    out: dict[str, list[Json]] = {}
    for eni in enis:
        for direction in ("ingress", "egress"):
            name = chain_name(eni, direction)
            if name not in out:
                out[name] = _chain(model, eni, direction, name)
    return out


def _chain(model: Model, eni: Eni, direction: str, chain: str) -> list[Json]:
    bit = INITIATOR if direction == "egress" else RESPONDER
    cmds: list[Json] = [nft.add_chain(chain)]
    avoid: list[Json] = []
    if direction == "egress":
        nat = nat_routed(model, eni.subnet)
        if nat:
            avoid = [
                nft.match(
                    nft.payload("ip", "daddr"), nft.anon_set([nft.prefix(x) for x in nat]), "!="
                )
            ]
    names = ",".join(model.security_groups[g].name for g in eni.security_groups) or "(none)"
    for protocol, ports in selectors(model, eni, direction):
        matches = [nft.match(nft.meta("l4proto"), nft.PROTO_NAMES[protocol])]
        if ports is not None:
            matches.append(nft.match(nft.payload("th", "dport"), nft.port_range(ports)))
        cmds.append(
            nft.add_rule(
                chain,
                _original(),
                *matches,
                *avoid,
                _set_bit(bit),
                nft.ACCEPT,
                comment=f"security_group:{names} {direction} untracked: all-addresses rules "
                "both ways (7.13)",
            )
        )
    return cmds


def retrack(direction: str) -> list[Json]:
    """Statements for a group rule that admits a flow's original-direction packet: the
    flow is tracked at this ENI from now on (its untracked bit is cleared)."""
    return [_original(), _clear_bit(INITIATOR if direction == "egress" else RESPONDER)]


def established(chain_direction: str) -> list[list[Json]]:
    """The matches of the `established` shortcuts of a base chain (sg_egress or
    sg_ingress), skipped for flows untracked at the ENI this chain checks: at sg_egress
    the sender (the initiator for original-direction packets, the responder for replies),
    at sg_ingress the receiver."""
    first, second = (
        (INITIATOR, RESPONDER) if chain_direction == "egress" else (RESPONDER, INITIATOR)
    )
    return [
        [
            nft.match({"ct": {"key": "direction"}}, direction),
            nft.match({"&": [_ct_mark(), bit]}, 0),
            nft.ct_state("established"),
        ]
        for direction, bit in (("original", first), ("reply", second))
    ]
