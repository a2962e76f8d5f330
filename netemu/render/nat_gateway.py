"""NAT gateways -> source NAT to the gateway's private address, and nothing inbound (ref 6).

The gateway rewrites the source of traffic from its VPC to its own private address with
source ports in 1024-65535 (6.7, 6.8); the internet gateway then maps that address to the
elastic IP. It forwards no connection started from outside (6.9), answers no ping (6.10),
and carries only TCP, UDP and ICMP (6.11).
"""

from __future__ import annotations

from typing import Any

from netemu.model.types import Model, NatGateway
from netemu.render import names as n
from netemu.render import nft
from netemu.render.plan import Ruleset

EPHEMERAL = (1024, 65535)


def _ruleset(model: Model, nat: NatGateway) -> Ruleset:
    who = f"nat_gateway:{nat.name}"
    vpc = model.vpcs[model.subnets[nat.subnet].vpc]
    own = str(nat.eni.private_ip)
    l4 = nft.match(nft.meta("l4proto"), nft.anon_set(["tcp", "udp"]))
    table = model.route_tables[model.subnets[nat.subnet].route_table]
    to_itself = [
        str(r.destination)
        for r in table.routes
        if (r.target_kind, r.target) == ("nat_gateway", nat.name)
    ]
    from_vpc = nft.match(nft.payload("ip", "saddr"), nft.prefix(vpc.cidr))
    cmds: list[dict[str, Any]] = [
        nft.add_table(),
        # Its own translated traffic coming back to it means its subnet's route table sends
        # 0.0.0.0/0 to the gateway itself: a loop the kernel would drop unseen (martian).
        nft.add_chain("loop", "prerouting", -200),
        nft.add_drop(
            "loop",
            nft.match(nft.payload("ip", "saddr"), own),
            why=f"{who} route loop: its own subnet routes its traffic back to it",
            drop=nft.Drop(
                "NO_ROUTE_TO_DESTINATION",
                f"route_table:{table.name}",
                "egress",
                to_itself[0] if to_itself else None,
            ),
        ),
        nft.add_chain("forward_new", "forward", 0),
        nft.add_rule("forward_new", nft.ct_state("established", "related"), nft.ACCEPT),
        nft.add_drop(
            "forward_new",
            from_vpc,
            nft.match(nft.meta("l4proto"), nft.anon_set(["tcp", "udp", "icmp"]), "!="),
            why=f"{who} carries only TCP, UDP and ICMP",
            drop=nft.Drop("PROTOCOL_RESTRICTION", who, "egress"),
        ),
        nft.add_rule("forward_new", from_vpc, nft.ACCEPT),
        nft.add_drop(
            "forward_new",
            why=f"{who} no inbound",
            drop=nft.Drop("NGW_REQUIRES_SOURCE_IN_VPC", who, "ingress"),
        ),
        nft.add_chain("own", "input", 0),
        nft.add_rule("own", nft.ct_state("established", "related"), nft.ACCEPT),
        # Nothing is delivered to the gateway itself, not even a ping (6.10).
        nft.add_drop(
            "own",
            why=f"{who} no inbound",
            drop=nft.Drop("NO_POSSIBLE_DESTINATION", who, "ingress"),
        ),
        nft.add_chain("snat", "postrouting", 100, kind="nat"),
        nft.add_rule(
            "snat",
            nft.match(nft.payload("ip", "saddr"), own, "!="),
            l4,
            {"snat": {"family": "ip", "addr": own, "port": {"range": list(EPHEMERAL)}}},
        ),
        nft.add_rule(
            "snat",
            nft.match(nft.payload("ip", "saddr"), own, "!="),
            {"snat": {"family": "ip", "addr": own}},
        ),
    ]
    return Ruleset(n.nat_gateway_ns(model.name, nat.name), tuple(cmds))


def render(model: Model) -> list[Ruleset]:
    return [_ruleset(model, nat) for nat in model.nat_gateways.values()]
