"""ARP in a subnet: each ENI's address resolves to that ENI's own MAC, as on AWS.

The subnet namespace answers ARP for the instances by proxy (render.topology), which
would give every neighbour the MAC of the asking instance's port. Two small tables fix
what the instance sees and what the subnet accepts:
- `arp netemu`: in the proxy's replies, the sender's hardware address becomes the MAC of
  the ENI that holds the address asked for (a map from ENI address to ENI MAC);
- `netdev netemu`: a frame an instance then sends to that MAC arrives at its port as
  "for another host" and would be dropped; its packet type is set back to "host", so the
  subnet namespace routes it (through the security groups) as before.
The VPC router's base+1 keeps the port's MAC, the router's, as on AWS.
"""

from __future__ import annotations

from typing import Any

from netemu.model.types import Model
from netemu.render import names as n

Json = dict[str, Any]


def _table(family: str) -> Json:
    return {"add": {"table": {"family": family, "name": n.NFT_TABLE}}}


def _chain(family: str, name: str, hook: str, **extra: Any) -> Json:
    chain = {"family": family, "table": n.NFT_TABLE, "name": name, "type": "filter",
             "hook": hook, "prio": 0, "policy": "accept", **extra}  # fmt: skip
    return {"add": {"chain": chain}}


def _rule(family: str, chain: str, *exprs: Json, comment: str) -> Json:
    rule = {"family": family, "table": n.NFT_TABLE, "chain": chain, "expr": list(exprs),
            "comment": comment}  # fmt: skip
    return {"add": {"rule": rule}}


def render(model: Model, subnet: str) -> list[Json]:
    enis = [e for e in model.enis_in(subnet) if e.private_ip is not None]
    if not enis:
        return []
    macs = [[str(ip), e.mac] for e in enis for ip in e.private_ips]
    sender_ip = {"payload": {"protocol": "arp", "field": "saddr ip"}}
    return [
        _table("arp"),
        {"add": {"map": {"family": "arp", "table": n.NFT_TABLE, "name": "eni_mac",
                         "type": "ipv4_addr", "map": "ether_addr", "elem": macs}}},
        _chain("arp", "eni_mac", "output"),
        _rule(
            "arp",
            "eni_mac",
            {"match": {"op": "==", "left": {"payload": {"protocol": "arp", "field": "operation"}},
                       "right": "reply"}},
            {"match": {"op": "==", "left": sender_ip, "right": "@eni_mac"}},
            {"mangle": {"key": {"payload": {"protocol": "arp", "field": "saddr ether"}},
                        "value": {"map": {"key": sender_ip, "data": "@eni_mac"}}}},
            comment="a neighbour resolves to its ENI's own MAC",
        ),
        _table("netdev"),
        *(cmd for e in enis for cmd in _port(n.eni_port_if(e.port))),
    ]  # fmt: skip


def _port(ifname: str) -> list[Json]:
    """One ingress chain per port: libnftables 1.0.6 takes one device per chain in JSON."""
    chain = f"port_{ifname}"
    return [
        _chain("netdev", chain, "ingress", dev=ifname),
        _rule(
            "netdev",
            chain,
            {"match": {"op": "==", "left": {"meta": {"key": "pkttype"}}, "right": "other"}},
            {"mangle": {"key": {"meta": {"key": "pkttype"}}, "value": "host"}},
            comment="frames to another ENI's MAC are the subnet's to route",
        ),
    ]


# Every family a netemu table of a namespace may have: replacing a ruleset removes all of
# them, also those the new ruleset no longer has (a subnet whose last ENI went).
ALL_FAMILIES = ("inet", "arp", "netdev")
