"""VPC peering connections in describe-* JSON, both ways (ref 11, 1.10-1.14).

Export prints what `aws ec2 describe-vpc-peering-connections` prints for the model's
connections; import turns that JSON back into `vpc_peering_connections:` entries. Only the
statuses the scenario format holds are imported; a connection that is gone (deleted,
expired, failed) carries nothing and is left out, one to a VPC outside the import
(another account or Region) is left out with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netemu.interop.export_enis import ACCOUNT, tags_json
from netemu.interop.names import Namer, tag
from netemu.interop.notes import Note
from netemu.model.types import Model, VpcPeeringConnection

Json = dict[str, Any]
IMPORTED = ("active", "pending-acceptance", "rejected")


def export(model: Model) -> Json:
    return {
        "VpcPeeringConnections": [_pcx(model, p) for p in model.vpc_peering_connections.values()]
    }


def _pcx(model: Model, p: VpcPeeringConnection) -> Json:
    def side(vpc: str) -> Json:
        v = model.vpcs[vpc]
        return {
            "CidrBlock": str(v.cidr),
            "CidrBlockSet": [{"CidrBlock": str(v.cidr)}],
            "OwnerId": ACCOUNT,
            "Region": model.region,
            "VpcId": v.id,
        }

    return {
        "AccepterVpcInfo": side(p.accepter),
        "RequesterVpcInfo": side(p.requester),
        "Status": {"Code": p.status, "Message": _MESSAGE[p.status]},
        "Tags": tags_json(p.name),
        "VpcPeeringConnectionId": p.id,
    }


_MESSAGE = {
    "active": "Active",
    "pending-acceptance": f"Pending Acceptance by {ACCOUNT}",
    "rejected": "Rejected",
}


def read(
    items: Sequence[Mapping[str, Any]], vpcs: Mapping[str, str], notes: list[Note]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(`vpc_peering_connections:` section, pcx id -> its scenario name)."""
    names = Namer()
    out: dict[str, Any] = {}
    ids: dict[str, str] = {}
    for p in items:
        pid = str(p["VpcPeeringConnectionId"])
        status = str((p.get("Status") or {}).get("Code", "active"))
        if status not in IMPORTED:
            continue  # gone: it carries nothing and routes to it are blackholes (1.14)
        requester = (p.get("RequesterVpcInfo") or {}).get("VpcId")
        accepter = (p.get("AccepterVpcInfo") or {}).get("VpcId")
        if requester not in vpcs or accepter not in vpcs:
            outside = accepter if requester in vpcs else requester
            msg = f"VPC peering with {outside or 'a VPC'} outside the import (another account or "
            msg += "Region); left out"
            notes.append(Note(pid, msg, "skipped"))
            continue
        name = names.name(tag(p), pid)
        ids[pid] = name
        spec: dict[str, Any] = {
            "id": pid,
            "requester": vpcs[str(requester)],
            "accepter": vpcs[str(accepter)],
        }
        if status != "active":
            spec["status"] = status
        out[name] = spec
    return out, ids
