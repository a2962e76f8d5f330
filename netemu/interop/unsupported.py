"""Resources netemu does not emulate yet: each becomes a Note with its id and the reason.

Resources outside the VPC network (buckets, roles, ...) never reach the importer; what
is listed here is networking that AWS has and netemu does not, so the user knows exactly
where the imported scenario differs from the account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netemu.interop.notes import Note

Data = Mapping[str, Sequence[Mapping[str, Any]]]

_TARGET_KEYS = (
    "GatewayId",
    "NatGatewayId",
    "InstanceId",
    "NetworkInterfaceId",
    "VpcPeeringConnectionId",
    "TransitGatewayId",
    "EgressOnlyInternetGatewayId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "CoreNetworkArn",
    "VpcEndpointId",
)
_WHY = {
    "vgw-": "virtual private gateways (VPN) are not emulated yet",
    "vpce-": "its VPC endpoint is not part of the import",
    "pcx-": "its VPC peering connection is not part of the import",
    "tgw-": "its transit gateway is not part of the import",
    "eigw-": "egress-only internet gateways (IPv6) are not emulated yet",
    "lgw-": "local gateways (Outposts) are not emulated",
    "cagw-": "carrier gateways (Wavelength) are not emulated",
    "arn:": "Cloud WAN core networks are not emulated",
}
_GONE = ("deleted", "deleting", "rejected", "failed", "expired", "deleted-complete")


def route_target(r: Mapping[str, Any]) -> str:
    """The target id of a route, as the console shows it."""
    for key in _TARGET_KEYS:
        if r.get(key):
            return str(r[key])
    return "?"


def why(target: str) -> str:
    for prefix, reason in _WHY.items():
        if target.startswith(prefix):
            return reason
    if target == "?":
        return "its target is unknown (in a Terraform plan: known only after apply)"
    return "its target is not part of the import"


def groups_with_rules(data: Data, notes: list[Note]) -> list[dict[str, Any]]:
    """describe-security-groups, or groups rebuilt from describe-security-group-rules when
    only those were given (ref 11.6: the same rules, one per row)."""
    groups = [dict(g) for g in data.get("SecurityGroups") or []]
    known = {g["GroupId"] for g in groups}
    lonely = {r["GroupId"] for r in data.get("SecurityGroupRules") or []} - known
    for gid in sorted(lonely):
        msg = "rules given without the group itself (describe-security-groups): its VPC is unknown"
        notes.append(Note(str(gid), msg + "; left out"))
    return groups


def notes(
    data: Data, vpcs: Mapping[str, str], known_enis: set[str], instances: set[str]
) -> list[Note]:
    """Notes for resources the scenario format cannot hold yet."""
    out: list[Note] = []
    endpoint_enis: set[str] = set()
    for e in data.get("VpcEndpoints") or []:  # the endpoints themselves: interop.vpc_endpoints
        endpoint_enis.update(e.get("NetworkInterfaceIds") or [])
    for e in data.get("NetworkInterfaces") or []:
        eid = str(e["NetworkInterfaceId"])
        if eid in known_enis or eid in endpoint_enis or e.get("VpcId") not in vpcs:
            continue
        kind = e.get("InterfaceType", "interface")
        if kind in ("vpc_endpoint", "nat_gateway", "natGateway"):
            continue  # reported with their endpoint or NAT gateway
        attached = e.get("Attachment") or {}
        if attached.get("InstanceId") in instances:  # imported with it, or noted there (9.20)
            continue
        desc = f" ({e['Description']})" if e.get("Description") else ""
        if kind == "interface" and not e.get("Attachment"):
            out.append(
                Note(eid, f"network interfaces without an instance{desc} are not emulated yet")
            )
        else:
            out.append(Note(eid, f"{kind} network interface{desc} is not emulated yet"))
    return out
