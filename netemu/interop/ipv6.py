"""IPv6 fields of describe-* JSON (reference 11, 16): written by the export, read by the import.

The export adds them to what export_describe printed; the importer's readers call the small
functions below, so the IPv4 code paths stay as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv6Network
from typing import Any

from netemu.interop.export_enis import derived, tags_json
from netemu.model.types import PROTO_ICMPV6, Model, NetworkAclRule6, Route6

Json = dict[str, Any]
ALL_SG6 = {"protocol": "all", "cidr_ipv6": "::/0"}  # a new group's IPv6 egress rule (7.4)
STAR6 = 32768  # the IPv6 `*` entry of a network ACL (ref 8.3)
MOTO_ASSOCIATED = "{'State': 'associated'}"


# -- export -------------------------------------------------------------------------------


def export(model: Model, out: dict[str, Json]) -> None:
    """Add the IPv6 fields of `model` to model_to_describe's calls, in place."""
    for v in out["describe-vpcs"]["Vpcs"]:
        vpc = next(x for x in model.vpcs.values() if x.id == v["VpcId"])
        if vpc.ipv6_cidr is not None:
            v["Ipv6CidrBlockAssociationSet"] = [
                {
                    "AssociationId": derived("vpc-cidr-assoc", f"{vpc.id}/ipv6"),
                    "Ipv6CidrBlock": str(vpc.ipv6_cidr),
                    "Ipv6CidrBlockState": {"State": "associated"},
                    "NetworkBorderGroup": model.region,
                    "Ipv6Pool": "Amazon",
                }
            ]
    for s in out["describe-subnets"]["Subnets"]:
        sub = next(x for x in model.subnets.values() if x.id == s["SubnetId"])
        if sub.ipv6_cidr is not None:
            s["AssignIpv6AddressOnCreation"] = sub.assign_ipv6_address_on_creation
            s["Ipv6CidrBlockAssociationSet"] = [
                {
                    "AssociationId": derived("subnet-cidr-assoc", f"{sub.id}/ipv6"),
                    "Ipv6CidrBlock": str(sub.ipv6_cidr),
                    "Ipv6CidrBlockState": {"State": "associated"},
                }
            ]
    for t in out["describe-route-tables"]["RouteTables"]:
        table = next(x for x in model.route_tables.values() if x.id == t["RouteTableId"])
        t["Routes"] += [_route(model, r) for r in table.ipv6_routes]
    for a in out["describe-network-acls"]["NetworkAcls"]:
        acl = next(x for x in model.network_acls.values() if x.id == a["NetworkAclId"])
        if model.vpcs[acl.vpc].ipv6_cidr is None:
            continue
        for egress, rules in ((True, acl.egress_ipv6), (False, acl.ingress_ipv6)):
            a["Entries"] += [_entry(r, egress) for r in rules] + [_star(egress)]
    by_eni = {e.id: e for e in model.enis()}
    for n in out["describe-network-interfaces"]["NetworkInterfaces"]:
        _addresses(n, by_eni.get(n["NetworkInterfaceId"]))
    for r in out["describe-instances"]["Reservations"]:
        for i in r["Instances"]:
            for n in i.get("NetworkInterfaces") or []:
                _addresses(n, by_eni.get(n.get("NetworkInterfaceId", "")))
    out["describe-egress-only-internet-gateways"] = {
        "EgressOnlyInternetGateways": [
            {
                "Attachments": [{"State": "attached", "VpcId": model.vpcs[g.vpc].id}],
                "EgressOnlyInternetGatewayId": g.id,
                "Tags": tags_json(g.name),
            }
            for g in model.egress_only_internet_gateways.values()
        ]
    }


def _addresses(n: Json, eni: Any) -> None:
    if eni is not None and eni.ipv6_address is not None:
        n["Ipv6Addresses"] = [{"Ipv6Address": str(eni.ipv6_address), "IsPrimaryIpv6": False}]


def _route(model: Model, r: Route6) -> Json:
    out: Json = {"DestinationIpv6CidrBlock": str(r.destination)}
    origin, state = "CreateRoute", "active"
    if r.target_kind == "local":
        out["GatewayId"] = "local"
        origin = "CreateRouteTable"
    elif r.target_kind == "internet_gateway" and r.target:
        out["GatewayId"] = model.internet_gateways[r.target].id
    elif r.target_kind == "egress_only_internet_gateway" and r.target:
        out["EgressOnlyInternetGatewayId"] = model.egress_only_internet_gateways[r.target].id
    else:  # a blackhole: the deleted gateway it still points at (ref 4.10)
        out["EgressOnlyInternetGatewayId"] = derived("eigw", f"blackhole/{r.destination}")
        state = "blackhole"
    out.update(Origin=origin, State=state)
    return out


def _entry(r: NetworkAclRule6, egress: bool) -> Json:
    e: Json = {"Egress": egress, "Ipv6CidrBlock": str(r.cidr)}
    if r.protocol == PROTO_ICMPV6:
        e["IcmpTypeCode"] = {"Code": r.icmp_code, "Type": r.icmp_type}
    if r.ports is not None:
        e["PortRange"] = {"From": r.ports[0], "To": r.ports[1]}
    e.update(Protocol=str(r.protocol), RuleAction=r.action, RuleNumber=r.number)
    return e


def _star(egress: bool) -> Json:
    return {
        "Egress": egress,
        "Ipv6CidrBlock": "::/0",
        "Protocol": "-1",
        "RuleAction": "deny",
        "RuleNumber": STAR6,
    }


# -- import -------------------------------------------------------------------------------


def block(item: Mapping[str, Any]) -> str | None:
    """The associated IPv6 CIDR of a VPC or subnet, or None."""
    for assoc in item.get("Ipv6CidrBlockAssociationSet") or []:
        state = (assoc.get("Ipv6CidrBlockState") or {}).get("State", "associated")
        # moto (netemu serve's account) writes a subnet's state as the text of a dict.
        if state in ("associated", MOTO_ASSOCIATED) and assoc.get("Ipv6CidrBlock"):
            return str(assoc["Ipv6CidrBlock"])
    return None


def amazon_block_pending(item: Mapping[str, Any]) -> bool:
    """An Amazon-provided block asked for but not known yet (a Terraform plan)."""
    return any(
        a.get("Ipv6Pool") == "Amazon" and not a.get("Ipv6CidrBlock")
        for a in item.get("Ipv6CidrBlockAssociationSet") or []
    )


def closed_world(cidr: str) -> bool:
    """Whether an imported IPv6 block lies in the documentation prefix (ref 16.1)."""
    try:
        return IPv6Network(cidr).subnet_of(IPv6Network("2001:db8::/32"))
    except ValueError:
        return False


def egress_only_gateways(
    items: list[Mapping[str, Any]], vpcs: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The scenario's egress_only_internet_gateways, and their ids -> names."""
    out: dict[str, Any] = {}
    names: dict[str, str] = {}
    for g in items:
        gid = str(g["EgressOnlyInternetGatewayId"])
        attached = [a for a in g.get("Attachments") or [] if a.get("VpcId") in vpcs]
        if not attached:
            continue
        tags = {t.get("Key"): t.get("Value") for t in g.get("Tags") or []}
        name = str(tags.get("Name") or gid)
        names[gid] = name
        out[name] = {"id": gid, "vpc": vpcs[attached[0]["VpcId"]]}
    return out, names


def route(r: Mapping[str, Any], igws: Mapping[str, str], eigws: Mapping[str, str]) -> Json | None:
    """A route with DestinationIpv6CidrBlock, or None when its target is not emulated."""
    dest = str(r["DestinationIpv6CidrBlock"])
    if r.get("State") == "blackhole":
        return {"destination": dest, "blackhole": True}
    if str(r.get("GatewayId") or "") in igws:
        return {"destination": dest, "internet_gateway": igws[str(r["GatewayId"])]}
    if str(r.get("EgressOnlyInternetGatewayId") or "") in eigws:
        eigw = eigws[str(r["EgressOnlyInternetGatewayId"])]
        return {"destination": dest, "egress_only_internet_gateway": eigw}
    return None


def address(eni: Mapping[str, Any]) -> str | None:
    addresses = eni.get("Ipv6Addresses") or []
    return str(addresses[0]["Ipv6Address"]) if addresses else None
