"""`terraform show -json` (state or plan) -> the same describe-* data the AWS CLI prints.

Each managed aws_* resource of the VPC network becomes the item `aws ec2 describe-*` would
list for it, so one converter (to_scenario) serves both sources. Resources of other
services (buckets, roles) are ignored quietly; network resources netemu cannot map are
listed. A plan's unknown ids are derived from the resource address (terraform_plan).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from netemu.errors import Problem, ScenarioInvalid
from netemu.interop.notes import Note
from netemu.interop.terraform_plan import Resolver
from netemu.interop.terraform_prefix_dhcp_read import PrefixDhcpResources
from netemu.interop.terraform_rules import RuleResources, tf_tags
from netemu.interop.to_endpoints import UNKNOWN_PUBLIC_IP

Json = dict[str, Any]
Data = dict[str, list[Json]]
_TARGETS = {
    "gateway_id": "GatewayId",
    "nat_gateway_id": "NatGatewayId",
    "network_interface_id": "NetworkInterfaceId",
    "instance_id": "InstanceId",
    "vpc_peering_connection_id": "VpcPeeringConnectionId",
    "transit_gateway_id": "TransitGatewayId",
    "egress_only_gateway_id": "EgressOnlyInternetGatewayId",
    "vpc_endpoint_id": "VpcEndpointId",
    "local_gateway_id": "LocalGatewayId",
    "carrier_gateway_id": "CarrierGatewayId",
    "core_network_arn": "CoreNetworkArn",
}
_DESTINATIONS = {
    "cidr_block": "DestinationCidrBlock",
    "destination_cidr_block": "DestinationCidrBlock",
    "ipv6_cidr_block": "DestinationIpv6CidrBlock",
    "destination_ipv6_cidr_block": "DestinationIpv6CidrBlock",
    "destination_prefix_list_id": "DestinationPrefixListId",
}
# Network resources with no mapping yet: listed, never silently dropped.
_UNMAPPED_PREFIXES = (
    "aws_vpn_",
    "aws_ec2_transit_gateway",
    "aws_vpc_ipv4_cidr_block_association",
    "aws_vpc_ipv6_",
    "aws_eip_association",
    "aws_customer_gateway",
    "aws_lb",
    "aws_alb",
    "aws_elb",
    "aws_dx_",
    "aws_networkfirewall_",
    "aws_vpc_endpoint_",
    "aws_vpc_peering_connection_",
)


def is_terraform(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and "format_version" in doc
        and ("values" in doc or "planned_values" in doc)
    )


def terraform_to_data(doc: Mapping[str, Any], path: str) -> tuple[Data, list[Note]]:
    try:
        return _Reader(doc).run()
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        msg = f"unexpected terraform show -json shape: {e!r}"
        raise ScenarioInvalid([Problem(None, msg, file=path)]) from None


def _walk(module: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    if not module:
        return
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _walk(child)


class _Reader(RuleResources, PrefixDhcpResources):
    def __init__(self, doc: Mapping[str, Any]) -> None:
        plan = "planned_values" in doc
        root = (doc["planned_values"] if plan else doc["values"]) or {}
        self.resources = [r for r in _walk(root.get("root_module")) if r.get("mode") == "managed"]
        self.ref = Resolver(doc if plan else None, self.resources)
        self.data: Data = {}
        self.notes: list[Note] = []
        self.tables: dict[str, Json] = {}
        self.groups: dict[str, Json] = {}
        self.acls: dict[str, Json] = {}

    def add(self, key: str, item: Json) -> Json:
        self.data.setdefault(key, []).append(item)
        return item

    def run(self) -> tuple[Data, list[Note]]:
        later: list[Mapping[str, Any]] = []
        for r in self.resources:  # owners first: rules, routes and associations join them
            kind = str(r["type"])
            method = getattr(self, "_" + kind.removeprefix("aws_").replace("default_", ""), None)
            if kind in (
                "aws_route",
                "aws_route_table_association",
                "aws_main_route_table_association",
                "aws_security_group_rule",
                "aws_vpc_security_group_ingress_rule",
                "aws_vpc_security_group_egress_rule",
                "aws_network_acl_rule",
                "aws_network_acl_association",
                "aws_internet_gateway_attachment",
                "aws_vpc_dhcp_options_association",
                "aws_ec2_managed_prefix_list_entry",
            ):
                later.append(r)
            elif method is not None and kind.startswith("aws_"):
                method(r, self.ref.values(r))
            elif kind.startswith(_UNMAPPED_PREFIXES):
                self.notes.append(Note(str(r["address"]), f"{kind} is not emulated yet"))
        for r in later:
            getattr(self, "_" + str(r["type"]).removeprefix("aws_"))(r, self.ref.values(r))
        self._eips_to_instances()
        self._enis_to_instances()
        return self.data, self.notes

    # -- VPCs and subnets ------------------------------------------------------------------

    def _vpc(self, r: Mapping[str, Any], v: Json) -> None:
        default = r["type"] == "aws_default_vpc"
        self.add(
            "Vpcs",
            {
                "VpcId": v["id"],
                "CidrBlock": v.get("cidr_block"),
                "Ipv6Native": bool(v.get("ipv6_native")),
                "IsDefault": default,
                "Tags": tf_tags(v),
                **_ipv6_block(v, v.get("assign_generated_ipv6_cidr_block")),
            },
        )
        if v.get("enable_dns_hostnames") is not None:
            attr = {
                "VpcId": v["id"],
                "EnableDnsHostnames": {"Value": bool(v["enable_dns_hostnames"])},
            }
            self.add("VpcAttributes", attr)
        # AWS makes these with every VPC; Terraform lists them only when it manages them
        if v.get("main_route_table_id"):
            self._table_item(v["main_route_table_id"], v["id"], [], main=True)
        if v.get("default_security_group_id"):
            self._group_item(v["default_security_group_id"], v["id"], "default", default=True)
        if v.get("default_network_acl_id"):
            self._acl_item(v["default_network_acl_id"], v["id"], True, default=True)

    def _subnet(self, r: Mapping[str, Any], v: Json) -> None:
        self.add(
            "Subnets",
            {
                "SubnetId": v["id"],
                "VpcId": v["vpc_id"],
                "CidrBlock": v.get("cidr_block"),
                "Ipv6Native": bool(v.get("ipv6_native")),
                "AvailabilityZone": v.get("availability_zone"),
                "MapPublicIpOnLaunch": bool(v.get("map_public_ip_on_launch")),
                "DefaultForAz": r["type"] == "aws_default_subnet",
                "AssignIpv6AddressOnCreation": bool(v.get("assign_ipv6_address_on_creation")),
                "Tags": tf_tags(v),
                **_ipv6_block(v, False),
            },
        )

    def _flow_log(self, r: Mapping[str, Any], v: Json) -> None:
        """The describe-flow-logs item (docs/flow-logs.md); the importer maps it."""
        keys = (
            "vpc_id",
            "subnet_id",
            "eni_id",
            "transit_gateway_id",
            "transit_gateway_attachment_id",
        )
        resource = next((v[k] for k in keys if v.get(k)), "-")
        item: Json = {"FlowLogId": v["id"], "ResourceId": resource, "Tags": tf_tags(v)}
        for key, field in (
            ("TrafficType", "traffic_type"),
            ("LogDestinationType", "log_destination_type"),
            ("LogFormat", "log_format"),
            ("MaxAggregationInterval", "max_aggregation_interval"),
        ):
            if v.get(field) is not None:
                item[key] = v[field]
        self.add("FlowLogs", item)

    def _internet_gateway(self, r: Mapping[str, Any], v: Json) -> None:
        attached = [{"VpcId": v["vpc_id"], "State": "available"}] if v.get("vpc_id") else []
        self.add(
            "InternetGateways",
            {"InternetGatewayId": v["id"], "Attachments": attached, "Tags": tf_tags(v)},
        )

    def _egress_only_internet_gateway(self, r: Mapping[str, Any], v: Json) -> None:
        attached = [{"VpcId": v["vpc_id"], "State": "attached"}] if v.get("vpc_id") else []
        item = {"EgressOnlyInternetGatewayId": v["id"], "Attachments": attached}
        self.add("EgressOnlyInternetGateways", {**item, "Tags": tf_tags(v)})

    def _internet_gateway_attachment(self, r: Mapping[str, Any], v: Json) -> None:
        for g in self.data.get("InternetGateways", []):
            if g["InternetGatewayId"] == v["internet_gateway_id"]:
                g["Attachments"] = [{"VpcId": v["vpc_id"], "State": "available"}]

    # -- route tables ------------------------------------------------------------------------

    def _table_item(self, tid: str, vpc: str, tags: list[Json], main: bool = False) -> Json:
        table = self.tables.get(tid)
        if table is None:
            table = self.add(
                "RouteTables",
                {"RouteTableId": tid, "VpcId": vpc, "Routes": [], "Associations": [], "Tags": tags},
            )
            self.tables[tid] = table
        table["Tags"] = tags or table["Tags"]
        if main and not any(a.get("Main") for a in table["Associations"]):
            table["Associations"].append({"Main": True, "RouteTableId": tid})
        return table

    def _route_table(self, r: Mapping[str, Any], v: Json) -> None:
        main = r["type"] == "aws_default_route_table"
        vpc = v.get("vpc_id") or ""
        table = self._table_item(v["id"], vpc, tf_tags(v), main=main)
        for route in v.get("route") or []:
            table["Routes"].append(_route(route))

    def _route(self, r: Mapping[str, Any], v: Json) -> None:
        table = self.tables.get(v["route_table_id"])
        if table is not None:
            table["Routes"].append(_route(v))

    def _route_table_association(self, r: Mapping[str, Any], v: Json) -> None:
        table = self.tables.get(v["route_table_id"])
        if table is None:
            return
        a: Json = {"Main": False, "RouteTableId": v["route_table_id"]}
        a.update(
            {"SubnetId": v["subnet_id"]}
            if v.get("subnet_id")
            else {"GatewayId": v.get("gateway_id")}
        )
        table["Associations"].append(a)

    def _main_route_table_association(self, r: Mapping[str, Any], v: Json) -> None:
        for table in self.tables.values():
            if table["VpcId"] == v["vpc_id"]:
                table["Associations"] = [a for a in table["Associations"] if not a.get("Main")]
        self._table_item(v["route_table_id"], v["vpc_id"], [], main=True)

    # -- gateways and addresses --------------------------------------------------------------

    def _nat_gateway(self, r: Mapping[str, Any], v: Json) -> None:
        address = {
            "AllocationId": v.get("allocation_id"),
            "NetworkInterfaceId": v.get("network_interface_id"),
            "PrivateIp": v.get("private_ip"),
            "PublicIp": v.get("public_ip"),
            "IsPrimary": True,
        }
        self.add(
            "NatGateways",
            {
                "NatGatewayId": v["id"],
                "SubnetId": v["subnet_id"],
                "State": "available",
                "ConnectivityType": v.get("connectivity_type") or "public",
                "NatGatewayAddresses": [{k: x for k, x in address.items() if x}],
                "Tags": tf_tags(v),
            },
        )

    def _eip(self, r: Mapping[str, Any], v: Json) -> None:
        item = {
            "PublicIp": v.get("public_ip") or "",
            "AllocationId": v["id"],
            "Domain": "vpc",
            "InstanceId": v.get("instance") or None,
            "NetworkInterfaceId": v.get("network_interface") or None,
            "AssociationId": v.get("association_id") or None,
            "Tags": tf_tags(v),
        }
        self.add("Addresses", {k: x for k, x in item.items() if x is not None})

    def _eips_to_instances(self) -> None:
        """An EIP given to an instance is its public IP (ref 9.4); a NAT gateway's EIP is
        found through its allocation id."""
        by_alloc = {a["AllocationId"]: a for a in self.data.get("Addresses", [])}
        for n in self.data.get("NatGateways", []):
            for address in n["NatGatewayAddresses"]:
                eip = by_alloc.get(address.get("AllocationId"))
                if eip is not None:
                    eip.setdefault("NetworkInterfaceId", address.get("NetworkInterfaceId") or "nat")
                    if eip.get("PublicIp") and not address.get("PublicIp"):
                        address["PublicIp"] = eip["PublicIp"]
        for res in self.data.get("Reservations", []):
            for i in res["Instances"]:
                for eip in self.data.get("Addresses", []):
                    if eip.get("InstanceId") == i["InstanceId"] and eip.get("PublicIp"):
                        i["PublicIpAddress"] = eip["PublicIp"]
                        eip.setdefault("AssociationId", "eipassoc-terraform")

    # -- instances and the rest ---------------------------------------------------------------

    def _instance(self, r: Mapping[str, Any], v: Json) -> None:
        groups = [{"GroupId": g} for g in v.get("vpc_security_group_ids") or []]
        eni: Json = {"Attachment": {"DeviceIndex": 0}, "Groups": groups}
        if v.get("primary_network_interface_id"):
            eni["NetworkInterfaceId"] = v["primary_network_interface_id"]
        item: Json = {
            "InstanceId": v["id"],
            "SubnetId": v.get("subnet_id"),
            "State": {"Name": v.get("instance_state") or "running"},
            "SecurityGroups": groups,
            "SourceDestCheck": v.get("source_dest_check", True),
            "NetworkInterfaces": [eni],
            "Tags": tf_tags(v),
        }
        if v.get("ipv6_addresses"):
            eni["Ipv6Addresses"] = [{"Ipv6Address": a} for a in v["ipv6_addresses"]]
        if v.get("private_ip"):
            item["PrivateIpAddress"] = v["private_ip"]
            more = v.get("secondary_private_ips") or []
            eni["PrivateIpAddresses"] = _private_ips([v["private_ip"], *more])
        if v.get("public_ip"):
            item["PublicIpAddress"] = v["public_ip"]
        elif "public_ip" not in v and v.get("associate_public_ip_address") is not False:
            item[UNKNOWN_PUBLIC_IP] = True  # a plan: known after apply, if the subnet gives one
        self.add("Reservations", {"Instances": [item]})

    def _network_interface(self, r: Mapping[str, Any], v: Json) -> None:
        attachment = (v.get("attachment") or [{}])[0]
        item: Json = {
            "NetworkInterfaceId": v["id"],
            "SubnetId": v.get("subnet_id"),
            "InterfaceType": v.get("interface_type") or "interface",
            "Description": v.get("description"),
        }
        if attachment.get("instance"):
            item["Attachment"] = {
                "InstanceId": attachment["instance"],
                "DeviceIndex": attachment.get("device_index"),
            }
        ips = list(v.get("private_ips") or ([v["private_ip"]] if v.get("private_ip") else []))
        if ips:  # the first is the primary, as the provider lists them (ref 9.21)
            item["PrivateIpAddress"], item["PrivateIpAddresses"] = ips[0], _private_ips(ips)
        item["Groups"] = [{"GroupId": g} for g in v.get("security_groups") or []]
        item["SourceDestCheck"] = v.get("source_dest_check", True)
        item["TagSet"] = tf_tags(v)
        self.add("NetworkInterfaces", item)

    def _enis_to_instances(self) -> None:
        """A secondary ENI attached to an instance is one of its NetworkInterfaces, as
        describe-instances lists them (ref 9.20)."""
        instances = {
            i["InstanceId"]: i for r in self.data.get("Reservations", []) for i in r["Instances"]
        }
        for e in self.data.get("NetworkInterfaces", []):
            attached = e.get("Attachment") or {}
            owner = instances.get(attached.get("InstanceId"))
            if owner is not None and attached.get("DeviceIndex"):
                owner["NetworkInterfaces"].append({k: v for k, v in e.items() if k != "TagSet"})

    def _vpc_peering_connection(self, r: Mapping[str, Any], v: Json) -> None:
        self.add(
            "VpcPeeringConnections",
            {
                "VpcPeeringConnectionId": v["id"],
                "Status": {"Code": v.get("accept_status") or "active"},
                "RequesterVpcInfo": {"VpcId": v.get("vpc_id")},
                "AccepterVpcInfo": {"VpcId": v.get("peer_vpc_id")},
                "Tags": tf_tags(v),
            },
        )

    def _vpc_endpoint(self, r: Mapping[str, Any], v: Json) -> None:
        self.add(
            "VpcEndpoints",
            {
                "VpcEndpointId": v["id"],
                "VpcEndpointType": v.get("vpc_endpoint_type") or "Gateway",
                "ServiceName": v.get("service_name"),
                "State": v.get("state") or "available",
                "NetworkInterfaceIds": v.get("network_interface_ids") or [],
                "VpcId": v.get("vpc_id"),  # the rest: interop.vpc_endpoints (ref 17)
                "RouteTableIds": v.get("route_table_ids") or [],
                "SubnetIds": v.get("subnet_ids") or [],
                "Groups": [{"GroupId": g} for g in v.get("security_group_ids") or []],
                "PrivateDnsEnabled": bool(v.get("private_dns_enabled")),
                "PolicyDocument": v.get("policy"),
                "Tags": tf_tags(v),
            },
        )


def _route(route: Mapping[str, Any]) -> Json:
    out: Json = {"Origin": "CreateRoute", "State": "active"}
    for key, api in (*_DESTINATIONS.items(), *_TARGETS.items()):
        if route.get(key):
            out[api] = route[key]
    return out


def _ipv6_block(v: Mapping[str, Any], generated: Any) -> Json:
    """describe-*'s Ipv6CidrBlockAssociationSet for a VPC's or subnet's `ipv6_cidr_block`;
    a plan's block not known yet is an association without a block, which the importer
    turns into `ipv6: true` or a subnet's `ipv6_cidr: auto` (netemu picks, ref 16.1)."""
    block = v.get("ipv6_cidr_block")
    if block and ":" in str(block):
        state = {"Ipv6CidrBlockState": {"State": "associated"}}
        return {"Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": block, **state}]}
    # A plan's subnet block (`cidrsubnet(aws_vpc.x.ipv6_cidr_block, 8, N)`) is known after
    # apply only; the resolver then gives the VPC's id in its place.
    if generated or block:
        state = {"Ipv6CidrBlockState": {"State": "associating"}}
        return {"Ipv6CidrBlockAssociationSet": [{"Ipv6Pool": "Amazon", **state}]}
    return {}


def _private_ips(ips: list[str]) -> list[Json]:
    """PrivateIpAddresses of an ENI: the first address primary, the others not (ref 9.21)."""
    return [{"Primary": n == 0, "PrivateIpAddress": ip} for n, ip in enumerate(ips)]
