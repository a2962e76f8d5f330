"""Internet gateways -> 1:1 NAT between public and private addresses (ref section 5).

The gateway maps each ENI's public IPv4 to its private one and back (5.3), so the instance
only ever sees its private address. It drops egress from a private address that has no
public one (5.5 IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS), egress to private destinations, and
ingress to addresses it does not map (IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS).
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from netemu.model.types import InternetGateway, Model
from netemu.render import hops, nft
from netemu.render import names as n
from netemu.render.plan import Ruleset

# RFC 1918 and RFC 6598: never forwarded by an internet gateway in either direction (5.5).
PRIVATE_RANGES = tuple(
    IPv4Network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


def _ruleset(model: Model, igw: InternetGateway) -> Ruleset:
    pairs = [
        (str(e.private_ip), str(e.public_ip))
        for e in model.enis()
        if e.public_ip and model.subnets[e.subnet].vpc == igw.vpc
    ]
    who = f"internet_gateway:{igw.name}"
    vpc_if = nft.match(nft.meta("iifname"), n.IGW_VPC_IF)
    inet_if = nft.match(nft.meta("iifname"), n.IGW_INET_IF)
    private = nft.anon_set([nft.prefix(p) for p in PRIVATE_RANGES])
    cmds: list[dict[str, Any]] = [
        nft.add_table(),
        # AWS documents no hop for the internet gateway; netemu shows none (aws-decisions).
        *hops.render(),
        nft.add_map("public_of", "ipv4_addr", "ipv4_addr", pairs),
        nft.add_map("private_of", "ipv4_addr", "ipv4_addr", [(b, a) for a, b in pairs]),
        nft.add_set("mapped_private", "ipv4_addr", [a for a, _ in pairs], interval=False),
        nft.add_set("mapped_public", "ipv4_addr", [b for _, b in pairs], interval=False),
        # Connection-tracking NAT, although the map is static: it also translates the
        # headers quoted inside ICMP errors, without which path MTU discovery and
        # "port unreachable" would not reach the instance (a stateless rewrite was tried
        # and broke exactly that: test_icmp_errors_of_a_flow_are_not_admitted_by_state).
        # Before destination NAT: what arrives from the internet must be a mapped address.
        nft.add_chain("ingress", "prerouting", -150),
        nft.add_drop(
            "ingress",
            inet_if,
            nft.match(nft.payload("ip", "saddr"), private),
            why=f"{who} ingress from a private source",
            drop=nft.Drop("IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS", who, "ingress"),
        ),
        nft.add_drop(
            "ingress",
            inet_if,
            nft.match(nft.payload("ip", "daddr"), nft.ref("mapped_public"), "!="),
            why=f"{who} ingress to an address with no public IP",
            drop=nft.Drop("IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS", who, "ingress"),
        ),
        nft.add_chain("dnat", "prerouting", -100, kind="nat"),
        nft.add_rule("dnat", inet_if, nft.nat_map("dnat", "daddr", "private_of")),
        nft.add_chain("egress", "forward", 0),
        nft.add_drop(
            "egress",
            vpc_if,
            nft.match(nft.payload("ip", "saddr"), nft.ref("mapped_private"), "!="),
            why=f"{who} egress from a source with no public IP",
            drop=nft.Drop("IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS", who, "egress"),
        ),
        nft.add_drop(
            "egress",
            vpc_if,
            nft.match(nft.payload("ip", "daddr"), private),
            why=f"{who} egress to a private destination",
            drop=nft.Drop("IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS", who, "egress"),
        ),
        nft.add_chain("snat", "postrouting", 100, kind="nat"),
        nft.add_rule(
            "snat",
            nft.match(nft.meta("oifname"), n.IGW_INET_IF),
            nft.nat_map("snat", "saddr", "public_of"),
        ),
    ]
    return Ruleset(n.igw_ns(model.name, igw.name), tuple(cmds))


def render(model: Model) -> list[Ruleset]:
    return [_ruleset(model, igw) for igw in model.internet_gateways.values()]
