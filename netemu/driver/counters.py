"""Named nftables counters of a running namespace, e.g. a NAT gateway's CloudWatch-like
ErrorPortAllocation and IdleTimeoutCount (render.nat_gateway), for `netemu status`."""

from __future__ import annotations

import nftables

from netemu.driver import netns
from netemu.render.names import NFT_TABLE


def read(ns: str) -> dict[str, int]:
    """Packets counted by each named counter of netemu's table in `ns` ({} if none)."""
    with netns.entered(ns):
        nft = nftables.Nftables()
        nft.set_json_output(True)
        rc, out, _err = nft.json_cmd({"nftables": [{"list": {"counters": None}}]})
    if rc != 0:
        return {}
    found: dict[str, int] = {}
    for item in out.get("nftables", []):
        c = item.get("counter")
        if c and c.get("family") == "inet" and c.get("table") == NFT_TABLE:
            found[c["name"]] = int(c.get("packets", 0))
    return found
