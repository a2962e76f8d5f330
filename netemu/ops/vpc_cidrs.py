"""What `netemu apply` does with a VPC's secondary blocks, in AWS terms
(AssociateVpcCidrBlock, DisassociateVpcCidrBlock; ref 1.4, 1.6): the blocks of a VPC
that stays, added or removed; the kernel side is their local routes (render.route_table)."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.ops.words import Change, _c


def changes(old: Model, new: Model) -> list[Change]:
    out: list[Change] = []
    for name, vpc in new.vpcs.items():
        was = old.vpcs.get(name)
        if was is None:
            continue  # created with its blocks
        for block in vpc.secondary_cidrs:
            if block not in was.secondary_cidrs:
                out.append(
                    _c("associate", f"vpc:{name}", f"associate cidr block {block} with vpc {name}")
                )
        for block in was.secondary_cidrs:
            if block not in vpc.secondary_cidrs:
                text = f"disassociate cidr block {block} from vpc {name}"
                out.append(_c("disassociate", f"vpc:{name}", text))
    return out
