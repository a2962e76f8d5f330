"""VPC endpoints and AWS-managed prefix lists in describe-* JSON, both ways (ref 11, 17).

Export prints what `aws ec2 describe-vpc-endpoints`, `describe-prefix-lists` and
`describe-managed-prefix-lists` print for the model; import turns describe-vpc-endpoints
back into `vpc_endpoints:` entries. A real account's prefix list ids differ from netemu's
(model.aws_services derives its own), so an imported `pl-…` is matched by the list's name
(com.amazonaws.REGION.s3) when the import holds the prefix lists; an endpoint or a list of
a service netemu does not emulate is left out with a note.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netemu.interop.export_enis import ACCOUNT, CREATED, tags_json
from netemu.interop.names import Namer, tag
from netemu.interop.notes import Note
from netemu.model.aws_services import managed_prefix_lists, service_by_name
from netemu.model.types import Model, VpcEndpoint

Json = dict[str, Any]
_GONE = ("deleted", "deleting", "rejected", "failed", "expired")


def export(model: Model, out: dict[str, Json]) -> None:
    """Adds describe-vpc-endpoints, describe-prefix-lists, describe-managed-prefix-lists."""
    out["describe-vpc-endpoints"] = {
        "VpcEndpoints": [_endpoint(model, e) for e in model.vpc_endpoints.values()]
    }
    lists = list(managed_prefix_lists(model.region).values())  # every account has them
    out["describe-prefix-lists"] = {
        "PrefixLists": [
            {"Cidrs": [str(c) for c in p.cidrs], "PrefixListId": p.id, "PrefixListName": p.name}
            for p in lists
        ]
    }
    out["describe-managed-prefix-lists"] = {
        "PrefixLists": [
            {
                "PrefixListId": p.id,
                "AddressFamily": "IPv4",
                "State": "create-complete",
                "PrefixListArn": f"arn:aws:ec2:{model.region}:aws:prefix-list/{p.id}",
                "PrefixListName": p.name,
                "Tags": [],
                "OwnerId": "AWS",
            }
            for p in lists
        ]
    }


def _endpoint(model: Model, e: VpcEndpoint) -> Json:
    out: Json = {
        "VpcEndpointId": e.id,
        "VpcEndpointType": e.vpc_endpoint_type,
        "VpcId": model.vpcs[e.vpc].id,
        "ServiceName": e.service_name,
        "State": "available",
        "PolicyDocument": e.policy or _FULL_ACCESS,
        "RouteTableIds": [model.route_tables[t].id for t in e.route_table_ids],
        "SubnetIds": [model.subnets[s].id for s in e.subnet_ids],
        "Groups": [
            {"GroupId": g, "GroupName": model.security_groups[g].name} for g in e.security_group_ids
        ],
        "PrivateDnsEnabled": e.private_dns_enabled,
        "RequesterManaged": False,
        "NetworkInterfaceIds": [n.id for n in e.network_interfaces],
        "DnsEntries": _dns_entries(model, e),
        "CreationTimestamp": CREATED,
        "Tags": tags_json(e.name),
        "OwnerId": ACCOUNT,
    }
    return out


def _dns_entries(model: Model, e: VpcEndpoint) -> list[Json]:
    """The regional name, then the private one with private DNS (ref 17.4)."""
    if e.vpc_endpoint_type != "Interface":
        return []
    short = e.service_name.rsplit(".", 1)[-1]
    zone = "Z7HUB22UULQXV"  # the documentation's example hosted zone id
    out = [{"DnsName": f"{e.id}.{short}.{model.region}.vpce.amazonaws.com", "HostedZoneId": zone}]
    if e.private_dns_enabled:
        out.append({"DnsName": f"{short}.{model.region}.amazonaws.com", "HostedZoneId": zone})
    return out


# The default endpoint policy: full access (ref 17.5), as AWS prints it.
_FULL_ACCESS = (
    '{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
    '"Action":"*","Resource":"*"}]}'
)


def _full_access(policy: str) -> bool:
    """Whether a policy document is the default one: allow everything to everyone."""
    try:
        doc = json.loads(policy)
    except ValueError:
        return False
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if not isinstance(statements, list) or len(statements) != 1:
        return False
    st = statements[0]
    anyone = st.get("Principal") in ("*", {"AWS": "*"})
    return bool(
        st.get("Effect") == "Allow"
        and anyone
        and st.get("Action") in ("*", ["*"])
        and st.get("Resource") in ("*", ["*"])
    )


def prefix_list_mapper(
    data: Mapping[str, Sequence[Mapping[str, Any]]], region: str
) -> Callable[[str], str | None]:
    """Imported pl- id -> netemu's id of the same AWS-managed list, or None."""
    ours = managed_prefix_lists(region)
    by_name = {p.name: p.id for p in ours.values()}
    named: dict[str, str] = {}
    for key in ("PrefixLists", "ManagedPrefixLists"):
        for p in data.get(key) or []:
            if p.get("PrefixListName") in by_name:
                named[str(p["PrefixListId"])] = by_name[str(p["PrefixListName"])]

    def mapped(pid: str) -> str | None:
        return pid if pid in ours else named.get(pid)

    return mapped


def read(
    items: Sequence[Mapping[str, Any]],
    region: str,
    ids: Mapping[str, Mapping[str, str]],
    notes: list[Note],
) -> dict[str, Any]:
    """The `vpc_endpoints:` section. ids: "vpc", "table", "subnet", "group" id -> name,
    "table_vpc": route table id -> its VPC id."""
    names = Namer()
    out: dict[str, Any] = {}
    for e in items:
        eid = str(e["VpcEndpointId"])
        if str(e.get("State", "available")).lower() in _GONE:
            continue
        kind = str(e.get("VpcEndpointType", "Gateway"))
        service = str(e.get("ServiceName", ""))
        if e.get("VpcId") not in ids["vpc"]:
            notes.append(
                Note(eid, f"its VPC {e.get('VpcId')} is not part of the import", "skipped")
            )
            continue
        if kind not in ("Gateway", "Interface") or service_by_name(region, service) is None:
            shown = {"GatewayLoadBalancer": "Gateway Load Balancer"}.get(kind, kind).lower()
            notes.append(Note(eid, f"{shown} endpoints to {service} are not emulated"))
            continue
        spec: dict[str, Any] = {
            "id": eid,
            "vpc": ids["vpc"][str(e["VpcId"])],
            "vpc_endpoint_type": kind,
            "service_name": service,
        }
        if kind == "Gateway":
            tables = [t for t in e.get("RouteTableIds") or [] if t in ids["table"]]
            for t in tables:
                if ids["table_vpc"].get(t) != e["VpcId"]:
                    msg = f"route table {t} is not in the endpoint's VPC {e['VpcId']}; left out"
                    notes.append(Note(eid, msg, "skipped"))
            spec["route_table_ids"] = [
                ids["table"][t] for t in tables if ids["table_vpc"].get(t) == e["VpcId"]
            ]
        else:
            spec["subnet_ids"] = [
                ids["subnet"][s] for s in e.get("SubnetIds") or [] if s in ids["subnet"]
            ]
            groups = [g.get("GroupId") for g in e.get("Groups") or []]
            spec["security_group_ids"] = [ids["group"][g] for g in groups if g in ids["group"]]
            spec["private_dns_enabled"] = bool(e.get("PrivateDnsEnabled", True))
        policy = e.get("PolicyDocument")
        if policy and not _full_access(str(policy)):
            spec["policy_document"] = str(policy)
            notes.append(Note(eid, "its endpoint policy is kept but not enforced", "changed"))
        out[names.name(tag(e), eid)] = spec
    return out
