"""Model -> the JSON `aws ec2 describe-*` prints for it (ref 11), one object per call.

Pure: no files. Ids are the model's (kept from an import, else derived from names); ids of
things the scenario has no name for (associations, allocations) are derived from their
owner's id, so the same model always exports the same JSON. The account is AWS's
documentation account 123456789012.
"""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address
from typing import Any

from netemu.interop.names import IDLE_TIMEOUT_TAG, SERVICES_TAG, service_text
from netemu.model.types import (
    PROTO_ALL,
    PROTO_ICMP,
    PROTO_TCP,
    PROTO_UDP,
    Eni,
    Instance,
    Model,
    NatGateway,
    NetworkAcl,
    NetworkAclRule,
    Route,
    SecurityGroup,
    SecurityGroupRule,
)

ACCOUNT = "123456789012"
CREATED = "2026-01-01T00:00:00+00:00"
_SG_PROTO = {PROTO_ALL: "-1", PROTO_TCP: "tcp", PROTO_UDP: "udp", PROTO_ICMP: "icmp"}
Json = dict[str, Any]


def derived(prefix: str, seed: str) -> str:
    return f"{prefix}-{hashlib.sha256(seed.encode()).hexdigest()[:17]}"


def _tags(name: str, extra: dict[str, str] | None = None) -> list[Json]:
    tags = [{"Key": "Name", "Value": name}]
    return tags + [{"Key": k, "Value": v} for k, v in (extra or {}).items()]


def dns_domain(region: str) -> str:
    """The private DNS domain of a Region (ref 10): ec2.internal in us-east-1."""
    return "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"


def private_dns(ip: IPv4Address, region: str) -> str:
    return f"ip-{str(ip).replace('.', '-')}.{dns_domain(region)}"


def model_to_describe(model: Model) -> dict[str, Json]:
    """{"describe-vpcs": {"Vpcs": [...]}, ...}; VPC attributes are one call per VPC, named
    `describe-vpc-attribute.<vpc-id>`."""
    out: dict[str, Json] = {
        "describe-vpcs": {"Vpcs": [_vpc(model, v.name) for v in model.vpcs.values()]},
        "describe-subnets": {"Subnets": [_subnet(model, s) for s in model.subnets]},
        "describe-route-tables": {"RouteTables": [_table(model, t) for t in model.route_tables]},
        "describe-internet-gateways": {
            "InternetGateways": [
                {
                    "Attachments": [{"State": "available", "VpcId": model.vpcs[g.vpc].id}],
                    "InternetGatewayId": g.id,
                    "OwnerId": ACCOUNT,
                    "Tags": _tags(g.name),
                }
                for g in model.internet_gateways.values()
            ]
        },
        "describe-nat-gateways": {
            "NatGateways": [_nat(model, n) for n in model.nat_gateways.values()]
        },
        "describe-security-groups": {
            "SecurityGroups": [_group(model, g) for g in model.security_groups.values()]
        },
        "describe-network-acls": {
            "NetworkAcls": [_acl(model, a) for a in model.network_acls.values()]
        },
        "describe-instances": {
            "Reservations": [
                {
                    "Groups": [],
                    "Instances": [_instance(model, i)],
                    "OwnerId": ACCOUNT,
                    "ReservationId": derived("r", i.id),
                }
                for i in model.instances.values()
            ]
        },
        "describe-network-interfaces": {
            "NetworkInterfaces": [_eni_full(model, e) for e in model.enis()]
        },
        "describe-addresses": {
            "Addresses": [_address(model, e) for e in model.enis() if e.elastic_ip and e.public_ip]
        },
        "describe-dhcp-options": {"DhcpOptions": [_dhcp(model)]},
    }
    for v in model.vpcs.values():
        out[f"describe-vpc-attribute.{v.id}"] = {
            "EnableDnsHostnames": {"Value": v.dns_hostnames},
            "VpcId": v.id,
        }
    return out


def _dhcp(model: Model) -> Json:
    return {
        "DhcpConfigurations": [
            {"Key": "domain-name", "Values": [{"Value": dns_domain(model.region)}]},
            {"Key": "domain-name-servers", "Values": [{"Value": "AmazonProvidedDNS"}]},
        ],
        "DhcpOptionsId": derived("dopt", model.region),
        "OwnerId": ACCOUNT,
        "Tags": [],
    }


def _vpc(model: Model, name: str) -> Json:
    v = model.vpcs[name]
    return {
        "CidrBlock": str(v.cidr),
        "DhcpOptionsId": derived("dopt", model.region),
        "State": "available",
        "VpcId": v.id,
        "OwnerId": ACCOUNT,
        "InstanceTenancy": "default",
        "CidrBlockAssociationSet": [
            {
                "AssociationId": derived("vpc-cidr-assoc", v.id),
                "CidrBlock": str(v.cidr),
                "CidrBlockState": {"State": "associated"},
            }
        ],
        "IsDefault": v.is_default,
        "Tags": _tags(v.name),
    }


def _subnet(model: Model, name: str) -> Json:
    s = model.subnets[name]
    used = len(model.enis_in(name))
    return {
        "AvailabilityZone": s.az,
        "AvailableIpAddressCount": s.cidr.num_addresses - 5 - used,  # ref 2.3, 2.10
        "CidrBlock": str(s.cidr),
        "DefaultForAz": s.default_for_az,
        "MapPublicIpOnLaunch": s.public_ip_on_launch,
        "State": "available",
        "SubnetId": s.id,
        "VpcId": model.vpcs[s.vpc].id,
        "OwnerId": ACCOUNT,
        "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [],
        "Tags": _tags(s.name),
        "SubnetArn": f"arn:aws:ec2:{model.region}:{ACCOUNT}:subnet/{s.id}",
        "EnableDns64": False,
        "Ipv6Native": False,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
    }


def _table(model: Model, name: str) -> Json:
    t = model.route_tables[name]
    assoc: list[Json] = []
    if t.main:
        assoc.append(_association(t.id, t.id, None))
    for s in model.subnets.values():
        if s.route_table == name and not t.main:
            assoc.append(_association(t.id, s.id, s.id))
    return {
        "Associations": assoc,
        "PropagatingVgws": [],
        "RouteTableId": t.id,
        "Routes": [_route(model, r) for r in t.routes],
        "Tags": _tags(t.name),
        "VpcId": model.vpcs[t.vpc].id,
        "OwnerId": ACCOUNT,
    }


def _association(table: str, seed: str, subnet: str | None) -> Json:
    a: Json = {"Main": subnet is None, "RouteTableAssociationId": derived("rtbassoc", seed)}
    a["RouteTableId"] = table
    if subnet is not None:
        a["SubnetId"] = subnet
    a["AssociationState"] = {"State": "associated"}
    return a


def _route(model: Model, r: Route) -> Json:
    out: Json = {"DestinationCidrBlock": str(r.destination)}
    origin, state = "CreateRoute", "active"
    if r.target_kind == "local":
        out["GatewayId"] = "local"
        origin = "CreateRouteTable"
    elif r.target_kind == "internet_gateway" and r.target:
        out["GatewayId"] = model.internet_gateways[r.target].id
    elif r.target_kind == "nat_gateway" and r.target:
        out["NatGatewayId"] = model.nat_gateways[r.target].id
    elif r.target_kind == "instance" and r.target:
        inst = model.instances[r.target]
        out.update(InstanceId=inst.id, InstanceOwnerId=ACCOUNT, NetworkInterfaceId=inst.eni.id)
    else:  # a blackhole: AWS shows the deleted target it still points at (ref 4.10)
        out["NatGatewayId"] = derived("nat", f"blackhole/{r.destination}")
        state = "blackhole"
    out.update(Origin=origin, State=state)
    return out


def _nat(model: Model, n: NatGateway) -> Json:
    extra = {IDLE_TIMEOUT_TAG: str(n.idle_timeout)} if n.idle_timeout != 350 else None
    return {
        "CreateTime": CREATED,
        "NatGatewayAddresses": [
            {
                "AllocationId": derived("eipalloc", n.eni.id),
                "NetworkInterfaceId": n.eni.id,
                "PrivateIp": str(n.eni.private_ip),
                "PublicIp": str(n.eni.public_ip),
                "AssociationId": derived("eipassoc", n.eni.id),
                "IsPrimary": True,
                "Status": "succeeded",
            }
        ],
        "NatGatewayId": n.id,
        "State": "available",
        "SubnetId": model.subnets[n.subnet].id,
        "VpcId": model.vpcs[model.subnets[n.subnet].vpc].id,
        "Tags": _tags(n.name, extra),
        "ConnectivityType": "public",
    }


def _permissions(model: Model, rules: tuple[SecurityGroupRule, ...]) -> list[Json]:
    """Rules sharing protocol and ports form one IpPermission, as AWS prints them (ref 11.6)."""
    perms: dict[tuple[int, int | None, int | None], Json] = {}
    for r in rules:
        lo, hi = r.ports if r.ports else (r.icmp_type, r.icmp_code)
        key = (r.protocol, lo, hi)
        if key not in perms:
            p: Json = {"IpProtocol": _SG_PROTO.get(r.protocol, str(r.protocol))}
            if r.protocol in (PROTO_TCP, PROTO_UDP, PROTO_ICMP):
                p.update(FromPort=lo, ToPort=hi)
            p.update(IpRanges=[], Ipv6Ranges=[], PrefixListIds=[], UserIdGroupPairs=[])
            perms[key] = p
        desc = {"Description": r.description} if r.description else {}
        if r.cidr is not None:
            perms[key]["IpRanges"].append({"CidrIp": str(r.cidr), **desc})
        elif r.security_group is not None:
            pair = {**desc, "GroupId": r.security_group, "UserId": ACCOUNT}
            perms[key]["UserIdGroupPairs"].append(pair)
    return list(perms.values())


def _group(model: Model, g: SecurityGroup) -> Json:
    return {
        "Description": "default VPC security group" if g.is_default else g.name,
        "GroupName": g.name,
        "IpPermissions": _permissions(model, g.ingress),
        "OwnerId": ACCOUNT,
        "GroupId": g.id,
        "IpPermissionsEgress": _permissions(model, g.egress),
        "Tags": [] if g.is_default else _tags(g.name),
        "VpcId": model.vpcs[g.vpc].id,
    }


def _entry(r: NetworkAclRule | None, egress: bool) -> Json:
    if r is None:  # the `*` rule (ref 8.3)
        return {
            "CidrBlock": "0.0.0.0/0",
            "Egress": egress,
            "Protocol": "-1",
            "RuleAction": "deny",
            "RuleNumber": 32767,
        }
    e: Json = {"CidrBlock": str(r.cidr), "Egress": egress}
    if r.protocol == PROTO_ICMP:
        e["IcmpTypeCode"] = {"Code": r.icmp_code, "Type": r.icmp_type}
    if r.ports is not None:
        e["PortRange"] = {"From": r.ports[0], "To": r.ports[1]}
    e.update(Protocol=str(r.protocol), RuleAction=r.action, RuleNumber=r.number)
    return e


def _acl(model: Model, a: NetworkAcl) -> Json:
    entries = [_entry(r, True) for r in a.egress] + [_entry(None, True)]
    entries += [_entry(r, False) for r in a.ingress] + [_entry(None, False)]
    return {
        "Associations": [
            {
                "NetworkAclAssociationId": derived("aclassoc", s.id),
                "NetworkAclId": a.id,
                "SubnetId": s.id,
            }
            for s in model.subnets.values()
            if s.network_acl == a.name
        ],
        "Entries": entries,
        "IsDefault": a.is_default,
        "NetworkAclId": a.id,
        "Tags": [] if a.is_default else _tags(a.name),
        "VpcId": model.vpcs[a.vpc].id,
        "OwnerId": ACCOUNT,
    }


def _public_dns(ip: IPv4Address, region: str) -> str:
    dashed = str(ip).replace(".", "-")
    if region == "us-east-1":
        return f"ec2-{dashed}.compute-1.amazonaws.com"
    return f"ec2-{dashed}.{region}.compute.amazonaws.com"


def _groups(model: Model, e: Eni) -> list[Json]:
    return [{"GroupId": g, "GroupName": model.security_groups[g].name} for g in e.security_groups]


def _association_of(model: Model, e: Eni) -> Json | None:
    if e.public_ip is None:
        return None
    owner = ACCOUNT if e.elastic_ip else "amazon"  # ref 11.9
    out: Json = {"IpOwnerId": owner, "PublicDnsName": _public_dns(e.public_ip, model.region)}
    out["PublicIp"] = str(e.public_ip)
    return out


def _eni_brief(model: Model, e: Eni) -> Json:
    """The ENI as describe-instances nests it (InstanceNetworkInterface, ref 11.8)."""
    subnet = model.subnets[e.subnet]
    assoc = _association_of(model, e)
    dns = private_dns(e.private_ip, model.region)
    ip: Json = {"Primary": True, "PrivateDnsName": dns, "PrivateIpAddress": str(e.private_ip)}
    out: Json = {}
    if assoc:
        out["Association"] = assoc
        ip = {"Association": assoc, **ip}
    out["Attachment"] = {
        "AttachTime": CREATED,
        "AttachmentId": derived("eni-attach", e.id),
        "DeleteOnTermination": True,
        "DeviceIndex": 0,
        "Status": "attached",
        "NetworkCardIndex": 0,
    }
    out.update(
        Description="",
        Groups=_groups(model, e),
        Ipv6Addresses=[],
        MacAddress=e.mac,
        NetworkInterfaceId=e.id,
        OwnerId=ACCOUNT,
        PrivateDnsName=dns,
        PrivateIpAddress=str(e.private_ip),
        PrivateIpAddresses=[ip],
        SourceDestCheck=e.source_dest_check,
        Status="in-use",
        SubnetId=subnet.id,
        VpcId=model.vpcs[subnet.vpc].id,
        InterfaceType="interface",
    )
    return out


def _instance(model: Model, i: Instance) -> Json:
    subnet = model.subnets[i.subnet]
    running = i.state == "running"
    out: Json = {
        "AmiLaunchIndex": 0,
        "ImageId": "ami-0abcdef1234567890",
        "InstanceId": i.id,
        "InstanceType": "t3.micro",
        "LaunchTime": CREATED,
        "Monitoring": {"State": "disabled"},
        "Placement": {"AvailabilityZone": subnet.az, "GroupName": "", "Tenancy": "default"},
        "PrivateDnsName": private_dns(i.private_ip, model.region),
        "PrivateIpAddress": str(i.private_ip),
        "ProductCodes": [],
        "PublicDnsName": _public_dns(i.public_ip, model.region) if i.public_ip else "",
    }
    if i.public_ip:
        out["PublicIpAddress"] = str(i.public_ip)
    out.update(
        State={"Code": 16, "Name": "running"} if running else {"Code": 80, "Name": "stopped"},
        SubnetId=subnet.id,
        VpcId=model.vpcs[subnet.vpc].id,
        Architecture="x86_64",
        NetworkInterfaces=[_eni_brief(model, i.eni)],
        SecurityGroups=_groups(model, i.eni),
        SourceDestCheck=i.eni.source_dest_check,
        Tags=_tags(
            i.name,
            {SERVICES_TAG: ",".join(service_text(s) for s in i.services)} if i.services else None,
        ),
    )
    return out


def _eni_full(model: Model, e: Eni) -> Json:
    """An ENI as describe-network-interfaces prints it (ref 11.9): TagSet, not Tags."""
    brief = _eni_brief(model, e)
    subnet = model.subnets[e.subnet]
    out: Json = {"AvailabilityZone": subnet.az}
    for key in ("Association", "Attachment"):
        if key in brief:
            out[key] = dict(brief[key])
    if e.owner_kind == "instance":
        out["Attachment"].update(InstanceId=model.instances[e.owner].id, InstanceOwnerId=ACCOUNT)
        out["Description"] = ""
        out["InterfaceType"] = "interface"
        out["RequesterManaged"] = False
    else:
        nat = model.nat_gateways[e.owner]
        del out["Attachment"]
        out["Description"] = f"Interface for NAT Gateway {nat.id}"
        out["InterfaceType"] = "nat_gateway"
        out["RequesterManaged"] = True
        out["RequesterId"] = "amazon-nat-gateway"
        if "Association" in out:
            out["Association"].update(
                AllocationId=derived("eipalloc", e.id), AssociationId=derived("eipassoc", e.id)
            )
    for key in (
        "Groups",
        "Ipv6Addresses",
        "MacAddress",
        "NetworkInterfaceId",
        "OwnerId",
        "PrivateDnsName",
        "PrivateIpAddress",
        "PrivateIpAddresses",
        "SourceDestCheck",
        "Status",
        "SubnetId",
        "VpcId",
    ):
        out[key] = brief[key]
    out["TagSet"] = []
    return out


def _address(model: Model, e: Eni) -> Json:
    out: Json = {
        "AllocationId": derived("eipalloc", e.id),
        "AssociationId": derived("eipassoc", e.id),
    }
    out["Domain"] = "vpc"
    if e.owner_kind == "instance":
        out["InstanceId"] = model.instances[e.owner].id
    out.update(
        NetworkInterfaceId=e.id,
        NetworkInterfaceOwnerId=ACCOUNT,
        PrivateIpAddress=str(e.private_ip),
        PublicIp=str(e.public_ip),
        PublicIpv4Pool="amazon",
        NetworkBorderGroup=model.region,
    )
    return out
