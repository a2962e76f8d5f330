"""One subnet namespace's nftables ruleset: its security groups and its network ACL."""

from __future__ import annotations

from typing import Any

from netemu.model.types import Model
from netemu.render import arp, conntrack, hops, network_acl, nft, security_group
from netemu.render import names as n
from netemu.render.plan import Ruleset
from netemu.render.topology import target_enis, target_link_if

# After connection tracking (-200) has matched the error to its flow, before routing.
ROUTER_ICMP_PRIORITY = -150


def _unheld_addresses(model: Model, subnet: str) -> list[dict[str, Any]]:
    """A packet for an address of the subnet that no ENI holds goes nowhere (the kernel
    would answer with an ICMP error instead; AWS just drops it)."""
    sub = model.subnets[subnet]
    if sub.cidr is None:
        return []  # an IPv6-only subnet (16.11): ipv6_rules drops unheld IPv6 addresses
    held = [str(ip) for e in model.enis_in(subnet) for ip in e.private_ips]
    # The Amazon DNS (VPC base+2) may lie in this subnet; the VPC router answers it (10.2).
    dns = model.vpcs[sub.vpc].dns_ip
    if dns in sub.cidr:
        held.append(str(dns))
    return [
        nft.add_chain("unheld", "prerouting", 0),
        nft.add_drop(
            "unheld",
            nft.match(nft.payload("ip", "daddr"), nft.prefix(sub.cidr)),
            nft.match(nft.payload("ip", "daddr"), nft.anon_set([str(sub.router_ip), *held]), "!="),
            why=f"subnet:{subnet} no ENI holds the address",
            drop=nft.Drop("NO_ROUTE_TO_DESTINATION", f"subnet:{subnet}", "egress"),
        ),
    ]


def _router_icmp_source(model: Model, subnet: str) -> list[dict[str, Any]]:
    """ICMP errors of the VPC router (frag-needed at the internet gateway's 1500-byte edge,
    5.6) reach the instance from its subnet's base+1, as on AWS, not from the router's
    transit address. Stateless: the error belongs to a flow connection tracking knows."""
    router = model.subnets[subnet].router_ip
    if router is None:
        return []  # an IPv6-only subnet has no IPv4 (16.11)
    router_ip = str(router)
    return [
        nft.add_chain("router_icmp", "prerouting", ROUTER_ICMP_PRIORITY),
        nft.add_rule(
            "router_icmp",
            nft.match(nft.payload("ip", "saddr"), n.SUBNET_LINK[0]),
            nft.match(nft.meta("l4proto"), "icmp"),
            {"mangle": {"key": nft.payload("ip", "saddr"), "value": router_ip}},
            comment="VPC router ICMP errors come from the subnet's base+1 (5.6)",
        ),
    ]


def _stopped_instances(model: Model, subnet: str) -> list[dict[str, Any]]:
    """A stopped instance keeps its ENI and private address (9.2) but answers nothing."""
    stopped = [
        (inst, eni)
        for inst in model.instances.values()
        if inst.state == "stopped"
        for eni in model.enis_of(inst.name)  # every ENI of it (9.20)
        if eni.subnet == subnet
    ]
    if not stopped:
        return []  # a base chain costs every packet something, even when empty
    cmds = [nft.add_chain("instance_state", "forward", -10)]
    for inst, eni in stopped:
        port = n.eni_port_if(eni.port)
        for key, direction in (("iifname", "egress"), ("oifname", "ingress")):
            cmds.append(
                nft.add_drop(
                    "instance_state",
                    nft.match(nft.meta(key), port),
                    why=f"instance:{inst.name} stopped",
                    # BAD_STATE: "this component is not in a functional state" (ref 13.3).
                    drop=nft.Drop("BAD_STATE", f"instance:{inst.name}", direction, "stopped"),
                )
            )
    return cmds


def render(model: Model) -> list[Ruleset]:
    out = []
    for sub in model.subnets.values():
        edge = [n.UPLINK_IF] + [
            target_link_if(e) for e in target_enis(model) if e.subnet == sub.name
        ]
        cmds = [
            nft.add_table(),
            *hops.render(),
            *_router_icmp_source(model, sub.name),
            *_unheld_addresses(model, sub.name),
            *_stopped_instances(model, sub.name),
            *conntrack.render(model, sub.name),
            *security_group.render(model, sub.name),
            *network_acl.render(model, sub.name, edge),
            *arp.render(model, sub.name),
        ]
        out.append(Ruleset(n.subnet_ns(model.name, sub.name), tuple(cmds)))
    return out
