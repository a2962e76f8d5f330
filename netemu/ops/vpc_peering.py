"""What `netemu apply` does with VPC peering connections, in AWS terms (Create, Accept,
Reject, DeleteVpcPeeringConnection; ref 1.14); the kernel side is the routers' cable
(render.vpc_peering)."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.ops.words import Change, _c


def changes(old: Model, new: Model) -> list[Change]:
    out: list[Change] = []
    for name, pcx in new.vpc_peering_connections.items():
        res = f"vpc_peering_connection:{name}"
        was_pcx = old.vpc_peering_connections.get(name)
        if was_pcx is None or (was_pcx.requester, was_pcx.accepter) != (
            pcx.requester,
            pcx.accepter,
        ):
            text = f"create vpc peering connection {name} ({pcx.requester} -> {pcx.accepter})"
            out.append(_c("create", res, text))
            if pcx.status != "pending-acceptance":
                out.append(_c("modify", res, f"{pcx.status} vpc peering connection {name}"))
        elif was_pcx.status != pcx.status:
            verb = {"active": "accept", "rejected": "reject"}.get(pcx.status, pcx.status)
            out.append(_c("modify", res, f"{verb} vpc peering connection {name}"))
    for name in old.vpc_peering_connections:
        if name not in new.vpc_peering_connections:
            res = f"vpc_peering_connection:{name}"
            out.append(_c("delete", res, f"delete vpc peering connection {name}"))
    return out
