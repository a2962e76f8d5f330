"""Secondary IPv4 blocks of a VPC (`cidrs:`): which ranges AWS lets a VPC add, given the
range of its primary block (ref 1.4, 1.5, 1.8)."""

from __future__ import annotations

from ipaddress import IPv4Network

from netemu.model.validate_context import Ctx, aws
from netemu.model.validate_fields import as_list, cidr
from netemu.scenario import Node

MAX_BLOCKS = 5  # IPv4 blocks per VPC, the primary included: default quota (ref 1.8)
RFC1918 = tuple(IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
SHARED = IPv4Network("100.64.0.0/10")  # RFC 6598, allowed as a secondary block (1.5)
BENCHMARK = IPv4Network("198.19.0.0/16")
LINK_LOCAL = IPv4Network("169.254.0.0/16")
DEFAULT_VPC_RANGE = IPv4Network("172.31.0.0/16")
NARROW_10 = (IPv4Network("10.0.0.0/15"), IPv4Network("10.0.0.0/16"))


def _family(net: IPv4Network) -> IPv4Network | None:
    """The RFC 1918 range (or 198.19.0.0/16) a block lies in; None: public or 100.64/10."""
    for r in (*RFC1918, BENCHMARK):
        if net.subnet_of(r):
            return r
    return None


def refusal(primary: IPv4Network, block: IPv4Network) -> str | None:
    """Why AWS refuses `block` as a secondary block next to `primary` (the table of 1.5)."""
    if block.overlaps(LINK_LOCAL):
        return "169.254.0.0/16 is never a VPC block"
    home, new = _family(primary), _family(block)
    if new == BENCHMARK:
        return "a block of 198.19.0.0/16 cannot be added"
    if new is not None and new != home:
        where = home or "a public range"
        return f"a VPC whose primary block is in {where} cannot add a block of {new}"
    if home == RFC1918[0] and primary.subnet_of(NARROW_10[0]) and block.subnet_of(NARROW_10[1]):
        return "a VPC whose primary block is in 10.0.0.0/15 cannot add a block of 10.0.0.0/16"
    if home == RFC1918[1] and block.subnet_of(DEFAULT_VPC_RANGE):
        return "a VPC whose primary block is in 172.16.0.0/12 cannot add a block of 172.31.0.0/16"
    return None


def secondary(
    ctx: Ctx, m: dict[str, Node], what: str, primary: IPv4Network
) -> tuple[IPv4Network, ...]:
    """The VPC's `cidrs:` list: each /16 to /28, not overlapping another block, allowed
    by the primary's range, at most 5 blocks in all."""
    node = m.get("cidrs")
    if node is None:
        return ()
    items = as_list(ctx, node, f"{what} cidrs")
    out: list[IPv4Network] = []
    size = aws("a VPC CIDR is /16 to /28", "1.1")
    for item in items:
        block = cidr(ctx, item, f"{what} secondary CIDR", (16, 28), size)
        if block is None:
            continue
        clash = next((c for c in (primary, *out) if c.overlaps(block)), None)
        why = refusal(primary, block)
        if clash is not None:
            rule = aws("a VPC's blocks do not overlap", "1.4")
            ctx.error(item, f"{what} secondary CIDR {block} overlaps its block {clash}" + rule)
        elif why is not None:
            rule = aws("which blocks a VPC may add depends on its primary block's range", "1.5")
            ctx.error(item, f"{what} secondary CIDR {block}: " + why + rule)
        elif len(out) + 1 >= MAX_BLOCKS:
            rule = aws("the default quota is 5 IPv4 blocks per VPC", "1.8")
            ctx.error(item, f"{what} secondary CIDR {block} is a block too many" + rule)
        else:
            out.append(block)
    return tuple(out)
