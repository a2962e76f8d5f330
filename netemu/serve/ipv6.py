"""IPv6 in moto's account, set right for the closed world: an Amazon-provided block is
rewritten into the documentation prefix (ref 16.1), as public IPv4 addresses are rewritten
into the documentation ranges (serve.fixups)."""

from __future__ import annotations

from ipaddress import IPv6Network
from typing import Any

DOCUMENTATION = IPv6Network("2001:db8::/32")


def amazon_blocks(backend: Any) -> dict[str, str]:
    """Each VPC's Amazon-provided IPv6 block outside 2001:db8::/32 becomes the next free
    2001:db8:N::/56, N counted from 1 in the order the blocks were associated (the same on
    replay); returns old -> new, for the response that named the old block."""
    taken: set[IPv6Network] = set()
    pending: list[dict[str, Any]] = []
    for vpc in backend.vpcs.values():
        for assoc in vpc._cidr_block_association_set.values():  # moto keeps them there
            block = str(assoc.get("cidr_block") or "")
            if "::" not in block and ":" not in block:
                continue
            net = IPv6Network(block, strict=False)
            if net.subnet_of(DOCUMENTATION):
                taken.add(net)
            elif assoc.get("ipv6_pool") == "Amazon":
                pending.append(assoc)
    replaced: dict[str, str] = {}
    n = 1
    for assoc in pending:
        while (new := IPv6Network(f"2001:db8:{n:x}::/56")) in taken:
            n += 1
        taken.add(new)
        replaced[str(assoc["cidr_block"])] = str(new)
        assoc["cidr_block"] = str(new)
    return replaced
