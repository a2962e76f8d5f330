"""Transit gateways in describe-* JSON, both ways (ref 11, 18.2-18.5).

Export prints what these print for the model:
`aws ec2 describe-transit-gateways`, `describe-transit-gateway-vpc-attachments`,
`describe-transit-gateway-attachments` (each attachment's route table `Association`),
`describe-transit-gateway-route-tables`, and per route table
`get-transit-gateway-route-table-propagations --transit-gateway-route-table-id ID` and
`search-transit-gateway-routes --transit-gateway-route-table-id ID --filters
Name=type,Values=static`. Those two print no table id, so their files are named after the
table (`search-transit-gateway-routes.tgw-rtb-….json`), and the importer reads the id
from the name. Import turns them back into `transit_gateways:`,
`transit_gateway_attachments:` and `transit_gateway_route_tables:`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from netemu.errors import Problem, ScenarioInvalid
from netemu.interop.export_enis import ACCOUNT, CREATED, tags_json
from netemu.interop.names import Namer, tag
from netemu.interop.notes import Note
from netemu.model.transit_gateway import TransitGatewayRouteTable
from netemu.model.types import Model
from netemu.render.transit_gateway import association

Json = dict[str, Any]
PROPAGATIONS = "TransitGatewayRouteTablePropagations"  # get-…-propagations' key
ASSOCIATIONS = "Associations"  # get-transit-gateway-route-table-associations' key
ROUTES = "TransitGatewayRoutes"  # search-transit-gateway-routes' `Routes`, kept apart here
_TABLE_ID = re.compile(r"tgw-rtb-[0-9a-zA-Z]+")
_GONE = ("deleted", "deleting", "failed", "failing", "rejected", "rejecting")


def _onoff(flag: bool) -> str:
    return "enable" if flag else "disable"


def export(model: Model) -> dict[str, Json]:
    """{call: printed object}; the per-table calls are named `<call>.<tgw-rtb-id>`."""
    atts = model.transit_gateway_attachments
    out: dict[str, Json] = {
        "describe-transit-gateways": {
            "TransitGateways": [_gateway(model, t) for t in model.transit_gateways]
        },
        "describe-transit-gateway-vpc-attachments": {
            "TransitGatewayVpcAttachments": [_vpc_attachment(model, a) for a in atts]
        },
        "describe-transit-gateway-attachments": {
            "TransitGatewayAttachments": [_attachment(model, a) for a in atts]
        },
        "describe-transit-gateway-route-tables": {
            "TransitGatewayRouteTables": [
                _table(model, t) for t in model.transit_gateway_route_tables.values()
            ]
        },
    }
    for t in model.transit_gateway_route_tables.values():
        out[f"get-transit-gateway-route-table-propagations.{t.id}"] = {
            PROPAGATIONS: [
                {
                    "TransitGatewayAttachmentId": atts[a].id,
                    "ResourceId": model.vpcs[atts[a].vpc].id,
                    "ResourceType": "vpc",
                    "State": "enabled",
                }
                for a in t.propagations
            ]
        }
        out[f"search-transit-gateway-routes.{t.id}"] = {
            "Routes": [_route(model, r.destination, r.attachment) for r in t.static_routes],
            "AdditionalRoutesAvailable": False,
        }
    return out


def _gateway(model: Model, name: str) -> Json:
    t = model.transit_gateways[name]
    tables = model.transit_gateway_route_tables
    options: Json = {
        "AmazonSideAsn": t.amazon_side_asn,
        "AutoAcceptSharedAttachments": "disable",
        "DefaultRouteTableAssociation": _onoff(t.default_route_table_association),
        "DefaultRouteTablePropagation": _onoff(t.default_route_table_propagation),
        "VpnEcmpSupport": "enable",
        "DnsSupport": "enable",
        "MulticastSupport": "disable",
    }
    if t.association_default_route_table:
        options["AssociationDefaultRouteTableId"] = tables[t.association_default_route_table].id
    if t.propagation_default_route_table:
        options["PropagationDefaultRouteTableId"] = tables[t.propagation_default_route_table].id
    return {
        "TransitGatewayId": t.id,
        "TransitGatewayArn": f"arn:aws:ec2:{model.region}:{ACCOUNT}:transit-gateway/{t.id}",
        "State": "available",
        "OwnerId": ACCOUNT,
        "CreationTime": CREATED,
        "Options": options,
        "Tags": tags_json(t.name),
    }


def _vpc_attachment(model: Model, name: str) -> Json:
    a = model.transit_gateway_attachments[name]
    return {
        "TransitGatewayAttachmentId": a.id,
        "TransitGatewayId": model.transit_gateways[a.transit_gateway].id,
        "VpcId": model.vpcs[a.vpc].id,
        "VpcOwnerId": ACCOUNT,
        "State": "available",
        "SubnetIds": [model.subnets[s].id for s in a.subnets],
        "CreationTime": CREATED,
        "Options": {
            "DnsSupport": "enable",
            "SecurityGroupReferencingSupport": "disable",
            "Ipv6Support": "disable",
            "ApplianceModeSupport": "disable",
        },
        "Tags": tags_json(a.name),
    }


def _attachment(model: Model, name: str) -> Json:
    a = model.transit_gateway_attachments[name]
    out: Json = {
        "TransitGatewayAttachmentId": a.id,
        "TransitGatewayId": model.transit_gateways[a.transit_gateway].id,
        "TransitGatewayOwnerId": ACCOUNT,
        "ResourceOwnerId": ACCOUNT,
        "ResourceType": "vpc",
        "ResourceId": model.vpcs[a.vpc].id,
        "State": "available",
        "CreationTime": CREATED,
        "Tags": tags_json(a.name),
    }
    table = association(model, name)
    if table is not None:
        out["Association"] = {"TransitGatewayRouteTableId": table.id, "State": "associated"}
    return out


def _table(model: Model, t: TransitGatewayRouteTable) -> Json:
    return {
        "TransitGatewayRouteTableId": t.id,
        "TransitGatewayId": model.transit_gateways[t.transit_gateway].id,
        "State": "available",
        "DefaultAssociationRouteTable": t.default_association,
        "DefaultPropagationRouteTable": t.default_propagation,
        "CreationTime": CREATED,
        "Tags": tags_json(t.name),
    }


def _route(model: Model, destination: object, attachment: str | None) -> Json:
    out: Json = {"DestinationCidrBlock": str(destination), "Type": "static"}
    if attachment is None:
        out["State"] = "blackhole"
        return out
    a = model.transit_gateway_attachments[attachment]
    out["TransitGatewayAttachments"] = [
        {
            "ResourceId": model.vpcs[a.vpc].id,
            "TransitGatewayAttachmentId": a.id,
            "ResourceType": "vpc",
        }
    ]
    out["State"] = "active"
    return out


def is_per_table(doc: Mapping[str, Any]) -> bool:
    """get-transit-gateway-route-table-propagations / -associations, or
    search-transit-gateway-routes."""
    return (
        PROPAGATIONS in doc
        or ASSOCIATIONS in doc
        or ("Routes" in doc and "AdditionalRoutesAvailable" in doc)
    )


def add_per_table(data: dict[str, list[dict[str, Any]]], doc: Mapping[str, Any], path: str) -> None:
    """Keep a per-table document's items with the table id its file name carries."""
    found = _TABLE_ID.search(path.rsplit("/", 1)[-1])
    if found is None:
        msg = (
            "a per-route-table output prints no table id: name the file after the table, "
            "e.g. search-transit-gateway-routes.tgw-rtb-0a1b2c3d.json"
        )
        raise ScenarioInvalid([Problem(None, msg, file=path)])
    key, items = (
        (PROPAGATIONS, doc[PROPAGATIONS]) if PROPAGATIONS in doc else (ROUTES, doc["Routes"])
    )
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ScenarioInvalid([Problem(None, f"{key} must be a list of objects", file=path)])
    rows = data.setdefault(key, [])
    rows += [{**i, "TransitGatewayRouteTableId": found.group(0)} for i in items]


def read(
    data: Mapping[str, Sequence[Mapping[str, Any]]],
    vpcs: Mapping[str, str],
    subnets: Mapping[str, str],
    notes: list[Note],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """({top-level key: section}, tgw id -> name)."""
    gateways, tgw = _gateways([t for t in data.get("TransitGateways") or [] if live(t)])
    attachments, att = _attachments(
        [a for a in data.get("TransitGatewayVpcAttachments") or [] if live(a)],
        tgw,
        vpcs,
        subnets,
        notes,
    )
    tables = _tables(data, tgw, att, gateways, notes)
    for a in data.get("TransitGatewayAttachments") or []:
        kind = str(a.get("ResourceType", "vpc"))
        if kind != "vpc" and live(a):
            what = f"transit gateway {kind} attachments are not emulated yet"
            notes.append(Note(str(a["TransitGatewayAttachmentId"]), what))
    for a in data.get("TransitGatewayPeeringAttachments") or []:
        if live(a):
            msg = "transit gateway peering attachments are not emulated yet"
            notes.append(Note(str(a["TransitGatewayAttachmentId"]), msg))
    sections = {
        "transit_gateways": gateways,
        "transit_gateway_attachments": attachments,
        "transit_gateway_route_tables": tables,
    }
    return sections, tgw


def live(x: Mapping[str, Any]) -> bool:
    """Not deleted nor failed: it still routes."""
    return str(x.get("State", "available")) not in _GONE


def _gateways(items: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    names, out, ids = Namer(), {}, {}
    for t in items:
        tid = str(t["TransitGatewayId"])
        name = names.name(tag(t), tid)
        ids[tid] = name
        options = t.get("Options") or {}
        spec: dict[str, Any] = {"id": tid}
        for key, aws_key in (
            ("default_route_table_association", "DefaultRouteTableAssociation"),
            ("default_route_table_propagation", "DefaultRouteTablePropagation"),
        ):
            if options.get(aws_key, "enable") == "disable":
                spec[key] = False
        asn = options.get("AmazonSideAsn")
        if isinstance(asn, int) and asn != 64512:
            spec["amazon_side_asn"] = asn
        out[name] = spec
    return out, ids


def _attachments(
    items: Sequence[Mapping[str, Any]],
    tgw: Mapping[str, str],
    vpcs: Mapping[str, str],
    subnets: Mapping[str, str],
    notes: list[Note],
) -> tuple[dict[str, Any], dict[str, str]]:
    names, out, ids = Namer(), {}, {}
    for a in items:
        aid = str(a["TransitGatewayAttachmentId"])
        if a.get("TransitGatewayId") not in tgw or a.get("VpcId") not in vpcs:
            notes.append(
                Note(aid, "its transit gateway or VPC is not part of the import; left out")
            )
            continue
        mine = [subnets[s] for s in a.get("SubnetIds") or [] if s in subnets]
        if not mine:
            notes.append(Note(aid, "none of its subnets is part of the import; left out"))
            continue
        name = names.name(tag(a), aid)
        ids[aid] = name
        out[name] = {
            "id": aid,
            "transit_gateway": tgw[str(a["TransitGatewayId"])],
            "vpc": vpcs[str(a["VpcId"])],
            "subnet_ids": mine,
        }
    return out, ids


def _tables(
    data: Mapping[str, Sequence[Mapping[str, Any]]],
    tgw: Mapping[str, str],
    att: Mapping[str, str],
    gateways: Mapping[str, Mapping[str, Any]],
    notes: list[Note],
) -> dict[str, Any]:
    rows: list[Mapping[str, Any]] = [
        {
            **(a.get("Association") or {}),
            "TransitGatewayAttachmentId": a.get("TransitGatewayAttachmentId"),
        }
        for a in data.get("TransitGatewayAttachments") or []
        if a.get("Association")
    ]
    rows += list(data.get(ASSOCIATIONS) or [])  # describe-…-attachments, or per table
    table_of: dict[str, str] = {}  # attachment id -> its table's id (one, 18.3)
    for row in rows:
        aid, rid = (
            str(row.get("TransitGatewayAttachmentId")),
            str(row.get("TransitGatewayRouteTableId")),
        )
        if aid not in att or row.get("State", "associated") != "associated":
            continue
        if table_of.get(aid, rid) != rid:  # AWS allows one; some endpoints (moto) say two
            notes.append(
                Note(aid, f"associated with {table_of[aid]} and {rid}; kept {rid}", "changed")
            )
        table_of[aid] = rid
    associated: dict[str, list[str]] = {}
    for aid, rid in table_of.items():
        associated.setdefault(rid, []).append(att[aid])
    propagated: dict[str, list[str]] = {}
    for p in data.get(PROPAGATIONS) or []:
        aid = str(p.get("TransitGatewayAttachmentId"))
        if aid in att and p.get("State", "enabled") == "enabled":
            propagated.setdefault(str(p["TransitGatewayRouteTableId"]), []).append(att[aid])
    routes: dict[str, list[dict[str, Any]]] = {}
    for r in data.get(ROUTES) or []:
        rid = str(r["TransitGatewayRouteTableId"])
        route = _static_route(r, att, rid, notes)
        if route is not None:
            routes.setdefault(rid, []).append(route)
    names, out = Namer(), {}
    for t in data.get("TransitGatewayRouteTables") or []:
        rid = str(t["TransitGatewayRouteTableId"])
        if not live(t) or t.get("TransitGatewayId") not in tgw:
            continue
        gateway = tgw[str(t["TransitGatewayId"])]
        spec: dict[str, Any] = {"id": rid, "transit_gateway": gateway}
        default = False
        for key, aws_key, setting in (
            (
                "default_association_route_table",
                "DefaultAssociationRouteTable",
                "default_route_table_association",
            ),
            (
                "default_propagation_route_table",
                "DefaultPropagationRouteTable",
                "default_route_table_propagation",
            ),
        ):
            # A default table of a setting the gateway has disabled serves nothing (18.4);
            # some endpoints (moto) still flag the table the gateway was created with.
            if t.get(aws_key) is True and gateways[gateway].get(setting, True):
                spec[key] = default = True
        # A default table's lists are written even empty: without them the scenario would
        # hand it every unlisted attachment (18.4), which the account does not say.
        for key, found in (("associations", associated), ("propagations", propagated)):
            if found.get(rid) or default:
                spec[key] = found.get(rid, [])
        if routes.get(rid):
            spec["routes"] = routes[rid]
        out[names.name(tag(t), rid)] = spec
    return out


def _static_route(
    r: Mapping[str, Any], att: Mapping[str, str], table: str, notes: list[Note]
) -> dict[str, Any] | None:
    if str(r.get("Type", "static")) != "static":
        return None  # propagated: the scenario's propagations make it
    dest = r.get("DestinationCidrBlock")
    if dest is None:
        notes.append(Note(table, "a prefix-list route is not emulated yet; left out"))
        return None
    if r.get("State") == "blackhole":
        return {"destination_cidr_block": dest, "blackhole": True}
    targets = [
        str(x.get("TransitGatewayAttachmentId")) for x in r.get("TransitGatewayAttachments") or []
    ]
    known = [att[x] for x in targets if x in att]
    if not known:
        notes.append(Note(table, f"route {dest}: its attachment is not part of the import"))
        return None
    return {"destination_cidr_block": dest, "transit_gateway_attachment_id": known[0]}
