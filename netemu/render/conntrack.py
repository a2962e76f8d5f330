"""Per-ENI connection tracking timeouts (ref 7.17) -> nftables ct timeout policies.

Each subnet namespace tracks the connections of its ENIs with the defaults AWS documents
(TCP established 432,000 s, UDP 30 s, UDP stream 180 s: sysctls in render.topology). An
instance whose `connection_tracking` differs gets timeout policies of its own, attached to
every new connection through its ENI, so its entries, and only its, expire on its clock.
Linux's UDP states line up with AWS's: "unreplied" (one direction, or one request and its
response within 2 s) is `udp_timeout`, "replied" (a stream) is `udp_stream_timeout`.

Two instances of one subnet share one tracking entry per connection (one namespace); it
follows the instance that opened the connection (docs/aws-decisions.md).
"""

from __future__ import annotations

from typing import Any

from netemu.model.types import ConnectionTracking, Eni, Model
from netemu.render import names as n
from netemu.render import nft

Json = dict[str, Any]
CHAIN = "conntrack_timeouts"
# A policy attaches to a connection that is tracked (after -200) but not yet confirmed
# (postrouting): the forward hook, before the security groups (0).
PRIORITY = -5


def _policy(eni: Eni, proto: str) -> str:
    return f"eni_{eni.port}_{proto}"


def _objects(eni: Eni) -> list[Json]:
    ct = eni.connection_tracking
    base = {"family": nft.FAMILY, "table": n.NFT_TABLE, "l3proto": "ip"}
    tcp = {"established": ct.tcp_established_timeout}
    udp = {"unreplied": ct.udp_timeout, "replied": ct.udp_stream_timeout}
    return [
        {"add": {"ct timeout": {**base, "name": _policy(eni, "tcp"), "protocol": "tcp",
                                "policy": tcp}}},
        {"add": {"ct timeout": {**base, "name": _policy(eni, "udp"), "protocol": "udp",
                                "policy": udp}}},
    ]  # fmt: skip


def _attach(eni: Eni, sender: bool) -> list[Json]:
    """From the ENI (it opens the connection), or to its address (it accepts one)."""
    who = (
        nft.match(nft.meta("iifname"), n.eni_port_if(eni.port))
        if sender
        else nft.match(nft.payload("ip", "daddr"), nft.one_or_set(eni.private_ips))
    )
    return [
        nft.add_rule(
            CHAIN,
            nft.ct_state("new"),
            who,
            nft.match(nft.meta("l4proto"), proto),
            {"ct timeout": _policy(eni, proto)},
            comment=f"eni:{eni.owner} connection_tracking (7.17)",
        )
        for proto in ("tcp", "udp")
    ]


def render(model: Model, subnet: str) -> list[Json]:
    custom = [
        e
        for e in model.enis_in(subnet)
        if e.owner_kind == "instance"
        and e.private_ip is not None  # IPv6-only ENIs refuse the key (validate_enis)
        and e.connection_tracking != ConnectionTracking()
    ]
    if not custom:
        return []  # a base chain costs every packet something, even when empty
    cmds: list[Json] = [nft.add_chain(CHAIN, "forward", PRIORITY)]
    for eni in custom:
        cmds += _objects(eni)
    # The last policy set on a new connection is the one it keeps: the receiver's, then
    # the opener's, which wins when both ENIs are in this subnet.
    for eni in custom:
        cmds += _attach(eni, sender=False)
    for eni in custom:
        cmds += _attach(eni, sender=True)
    return cmds
