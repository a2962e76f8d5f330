"""describe-* results built straight from moto's backend objects, in the shapes boto3 gives,
for the results `netemu serve` reads after every call of the commonest kinds.

Reading through boto3 costs a request built, serialized to XML by moto and parsed back,
about ten times the call it follows. Only the shapes are made here: turning them into a
scenario is the importer's one mapping (interop.to_scenario), whichever way they were read.
tests/unit/test_serve_backend_read.py holds each reader equal to boto3's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Json = dict[str, Any]

# The members of the output shapes (botocore's ec2 model) each reader fills.
_RANGE = ("CidrIp", "Description")
_RANGE6 = ("CidrIpv6", "Description")
_PREFIX_LIST = ("Description", "PrefixListId")
_PAIR = ("Description", "UserId", "GroupName", "GroupId", "VpcId", "VpcPeeringConnectionId",
         "PeeringStatus")  # fmt: skip


def security_groups(backend: Any) -> list[Json]:
    """describe-security-groups, every group of the region."""
    out = []
    for g in backend.describe_security_groups():
        group: Json = {
            "Description": g.description,
            "GroupName": g.name,
            "IpPermissions": _permissions(g.ip_permissions),
            "OwnerId": g.owner_id,
            "GroupId": g.id,
            "IpPermissionsEgress": _permissions(g.ip_permissions_egress),
            "SecurityGroupArn": g.arn,
            "Tags": _tags(g),
            "VpcId": g.vpc_id,
        }
        out.append({k: v for k, v in group.items() if v is not None})
    return out


def _permissions(views: Iterable[Any]) -> list[Json]:
    """moto's grouped rule views (one per protocol and port range) as IpPermissions."""
    out = []
    for v in views:
        perm: Json = {"IpProtocol": v.ip_protocol}
        if v.from_port is not None:
            perm["FromPort"] = int(v.from_port)
        if v.to_port is not None:
            perm["ToPort"] = int(v.to_port)
        perm["IpRanges"] = [_only(r, _RANGE) for r in v.ip_ranges]
        perm["Ipv6Ranges"] = [_only(r, _RANGE6) for r in v.ipv6_ranges]
        perm["PrefixListIds"] = [_only(p, _PREFIX_LIST) for p in v.prefix_list_ids]
        perm["UserIdGroupPairs"] = [_only(p, _PAIR) for p in v.user_id_group_pairs]
        out.append(perm)
    return out


def _only(obj: Json, keys: tuple[str, ...]) -> Json:
    return {k: obj[k] for k in keys if obj.get(k) is not None}


def _tags(obj: Any) -> list[Json]:
    return [{"Key": t["key"], "Value": t["value"]} for t in obj.get_tags()]


# describe-* result key -> its reader; reconcile reads the others through boto3.
READERS: dict[str, Callable[[Any], list[Json]]] = {"SecurityGroups": security_groups}
