"""Namespaces that stand for no hop of AWS: forwarding there leaves the IP TTL as it was.

On AWS a packet between two subnets of a VPC crosses one hop (the VPC router does not
decrement TTL, ref 10.9), while a NAT gateway is a hop of its own (6.15). netemu's subnet,
VPC router and internet gateway namespaces are Linux routers, which decrement TTL and send
"time exceeded" when it runs out; so each of them first adds one to the TTL of what it is
about to forward (raw prerouting, before the kernel's TTL check), and the decrement that
follows gives the TTL back. A ping between subnets then arrives with the TTL it left with,
and traceroute or tracepath shows no hop for them. The NAT gateway and the emulated
internet (one hop standing for every router out there) keep decrementing.

The increment is a lookup in a verdict map from TTL to a chain that sets TTL+1: nftables
1.0.6 cannot set an 8-bit header field from a map (the checksum update shifts the value),
while setting a constant updates the checksum properly. A packet with TTL 255 cannot be
raised and loses one.
"""

from __future__ import annotations

from typing import Any

from netemu.render import nft

CHAIN = "no_hop"
# Before connection tracking (-200), so that conntrack and every later chain see the TTL
# the packet will leave with.
PRIORITY = -300
MAX_TTL = 255


def _ttl_chain(ttl: int) -> str:
    return f"ttl_{ttl}"


def render() -> list[dict[str, Any]]:
    """The chains of one namespace that must not count as a hop (needs the table)."""
    ttl = nft.payload("ip", "ttl")
    cmds: list[dict[str, Any]] = []
    for value in range(1, MAX_TTL):
        cmds.append(nft.add_chain(_ttl_chain(value)))
        cmds.append(nft.add_rule(_ttl_chain(value), {"mangle": {"key": ttl, "value": value + 1}}))
    cmds.append(nft.add_chain(CHAIN, "prerouting", PRIORITY))
    pairs = [(value, nft.jump(_ttl_chain(value))) for value in range(1, MAX_TTL)]
    cmds.append(
        nft.add_rule(
            CHAIN,
            nft.vmap(ttl, pairs),
            comment="not a hop on AWS: the forwarding decrement gives the TTL back (10.9)",
        )
    )
    return cmds
