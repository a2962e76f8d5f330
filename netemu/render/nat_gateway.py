"""NAT gateways -> source NAT to the gateway's private address, and nothing inbound (ref 6).

The gateway rewrites the source of traffic from its VPC to its own private address and
remaps TCP and UDP source ports into 1024-65535 (6.7, 6.8); the internet gateway then maps
that address to the elastic IP. It forwards no connection started from outside (6.9),
answers no ping (6.10), carries only TCP, UDP and ICMP (6.11), drops TCP and ICMP
fragments but forwards UDP ones (6.11), answers a packet of a TCP flow that sat idle past
its idle timeout with a RST (6.12), and refuses a connection beyond 55,000 at once to one
destination (ErrorPortAllocation, 6.8).

Port choice: AWS does not say which port a connection gets, only the range; observed
ports spread over all of it. netemu lets the kernel pick a random free port in the range
for every connection (`fully-random`): the instance's own port is not kept (only chance
gives it back), so a reply port below 32768 is as likely as on AWS, and an ACL that admits
only 32768-65535 breaks about half of the connections, as it does there (lab 07;
docs/aws-decisions.md). A sequence would have been repeatable, but nftables 1.0.6 hands a
generated number to NAT in the wrong byte order, and a 64,512-entry map per gateway costs
more than it teaches.
"""

from __future__ import annotations

from typing import Any

from netemu.model.types import Model, NatGateway
from netemu.render import names as n
from netemu.render import nft
from netemu.render.plan import Ruleset

EPHEMERAL = (1024, 65535)
# Simultaneous connections per NAT address to one destination (address, port, protocol).
CONNECTIONS_PER_DESTINATION = 55000
# Named counters, read by `netemu status` (driver.counters): CloudWatch's metric names.
ERROR_PORT_ALLOCATION = "ErrorPortAllocation"
IDLE_TIMEOUT_COUNT = "IdleTimeoutCount"
# Fragments are recognised before connection tracking reassembles them (-400).
FRAGMENT_PRIORITY = -450


def _fragments(who: str) -> list[dict[str, Any]]:
    """6.11: a fragment (More Fragments set, or a non-zero offset) of TCP or ICMP is
    dropped; UDP fragments go on and are reassembled by connection tracking."""
    frag = {"&": [nft.payload("ip", "frag-off"), 0x3FFF]}
    return [
        nft.add_chain("fragments", "prerouting", FRAGMENT_PRIORITY),
        nft.add_drop(
            "fragments",
            nft.match(frag, 0, "!="),
            nft.match(nft.payload("ip", "protocol"), nft.anon_set(["tcp", "icmp"])),
            why=f"{who} TCP and ICMP fragments are not forwarded",
            # No Reachability Analyzer code names fragments; the gateway refuses what it
            # cannot carry, as for other protocols, and the rule says why (ref 6.11).
            drop=nft.Drop("PROTOCOL_RESTRICTION", who, "egress", "fragment"),
        ),
    ]


def _port_allocation(who: str, vpc_cidr: nft.Expr) -> list[dict[str, Any]]:
    """6.8: beyond 55,000 connections at once to one destination a new one is refused,
    counted as ErrorPortAllocation. The kernel counts the live connections per key."""
    key = {"concat": [nft.payload("ip", "daddr"), nft.meta("l4proto"), nft.payload("th", "dport")]}
    count = {"ct count": {"val": CONNECTIONS_PER_DESTINATION, "inv": True}}
    return [
        nft.add_counter(ERROR_PORT_ALLOCATION),
        nft.add_packet_set("destinations", ["ipv4_addr", "inet_proto", "inet_service"], 65535),
        nft.add_rule(
            "forward_new",
            nft.ct_state("new"),
            nft.match(nft.payload("ip", "saddr"), vpc_cidr),
            nft.match(nft.meta("l4proto"), nft.anon_set(["tcp", "udp"])),
            {"set": {"op": "add", "elem": key, "set": nft.ref("destinations"), "stmt": [count]}},
            {"counter": ERROR_PORT_ALLOCATION},
            nft.DROP,
            comment=f"{who} {ERROR_PORT_ALLOCATION}: {CONNECTIONS_PER_DESTINATION} connections "
            "to one destination",
        ),
    ]


def _idle_reset(who: str, vpc_cidr: nft.Expr) -> list[dict[str, Any]]:
    """6.12: a TCP packet from inside whose mapping has expired (not a SYN, unknown to
    connection tracking, which picks up no flow mid-stream here: nf_conntrack_tcp_loose=0)
    is answered with a RST, counted as IdleTimeoutCount."""
    return [
        nft.add_counter(IDLE_TIMEOUT_COUNT),
        nft.add_rule(
            "forward_new",
            nft.ct_state("invalid"),
            nft.match(nft.payload("ip", "saddr"), vpc_cidr),
            nft.match(nft.meta("l4proto"), "tcp"),
            nft.match({"&": [nft.payload("tcp", "flags"), ["syn", "rst"]]}, 0),
            {"counter": IDLE_TIMEOUT_COUNT},
            {"reject": {"type": "tcp reset"}},
            comment=f"{who} idle timeout: RST",
        ),
    ]


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
    in_vpc = nft.prefixes(vpc.cidrs)  # every block of its VPC (1.4)
    from_vpc = nft.match(nft.payload("ip", "saddr"), in_vpc)
    # A random free port of 1024-65535, whatever the instance's was (see the module's doc).
    remap = {"range": list(EPHEMERAL)}
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
        *_fragments(who),
        nft.add_chain("forward_new", "forward", 0),
        nft.add_rule("forward_new", nft.ct_state("established", "related"), nft.ACCEPT),
        *_idle_reset(who, in_vpc),
        *_port_allocation(who, in_vpc),
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
            {"snat": {"family": "ip", "addr": own, "port": remap, "flags": "fully-random"}},
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
