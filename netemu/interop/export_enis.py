"""Instances, ENIs and elastic IPs as describe-instances/-network-interfaces/-addresses print them.

Ids netemu has no object for (attachments, allocations) are derived from their owner's id.
"""

from __future__ import annotations

import base64
import hashlib
from ipaddress import IPv4Address
from typing import Any

from netemu.interop.names import SERVICES_TAG, USER_DATA_TAG, services_tag
from netemu.model.types import Eni, Instance, Model

ACCOUNT = "123456789012"  # AWS's documentation account
CREATED = "2026-01-01T00:00:00+00:00"
Json = dict[str, Any]


def derived(prefix: str, seed: str) -> str:
    return f"{prefix}-{hashlib.sha256(seed.encode()).hexdigest()[:17]}"


def tags_json(name: str, extra: dict[str, str] | None = None) -> list[Json]:
    tags = [{"Key": "Name", "Value": name}]
    return tags + [{"Key": k, "Value": v} for k, v in (extra or {}).items()]


def dns_domain(region: str) -> str:
    """The private DNS domain of a Region (ref 10): ec2.internal in us-east-1."""
    return "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"


def private_dns(ip: IPv4Address, region: str) -> str:
    return f"ip-{str(ip).replace('.', '-')}.{dns_domain(region)}"


def _private_dns_of(model: Model, e: Eni) -> str:
    """The IP name, or the resource name of an IPv6-only instance (16.11)."""
    if e.private_ip is not None:
        return private_dns(e.private_ip, model.region)
    return f"{model.instances[e.owner].id}.{dns_domain(model.region)}"


def _private_ips(e: Eni, assoc: Json | None, dns: str, region: str) -> Json:
    """PrivateIpAddress(es): the primary, then the secondary ones with Primary false (9.21);
    absent and empty for an ENI without IPv4 (16.11)."""
    if e.private_ip is None:
        return {"PrivateIpAddresses": []}
    ip: Json = {"Association": assoc} if assoc else {}
    ip.update(Primary=True, PrivateDnsName=dns, PrivateIpAddress=str(e.private_ip))
    secondary = [
        {"Primary": False, "PrivateDnsName": private_dns(a, region), "PrivateIpAddress": str(a)}
        for a in e.secondary_private_ips
    ]
    return {"PrivateIpAddress": str(e.private_ip), "PrivateIpAddresses": [ip, *secondary]}


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


def _conntrack(e: Eni) -> Json:
    """ConnectionTrackingConfiguration of an ENI whose timeouts are not AWS's defaults."""
    ct = e.connection_tracking
    if ct == type(ct)():
        return {}
    return {
        "ConnectionTrackingConfiguration": {
            "TcpEstablishedTimeout": ct.tcp_established_timeout,
            "UdpStreamTimeout": ct.udp_stream_timeout,
            "UdpTimeout": ct.udp_timeout,
        }
    }


def _eni_brief(model: Model, e: Eni) -> Json:
    """The ENI as describe-instances nests it (InstanceNetworkInterface, ref 11.8)."""
    subnet = model.subnets[e.subnet]
    assoc = _association_of(model, e)
    dns = _private_dns_of(model, e)
    out: Json = {}
    if assoc:
        out["Association"] = assoc
    out["Attachment"] = {
        "AttachTime": CREATED,
        "AttachmentId": derived("eni-attach", e.id),
        # An ENI created on its own outlives its instance (ref 9.20); the primary does not.
        "DeleteOnTermination": e.device_index == 0,
        "DeviceIndex": e.device_index,
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
        **_private_ips(e, assoc, dns, model.region),
        SourceDestCheck=e.source_dest_check,
        Status="in-use",
        **_conntrack(e),
        SubnetId=subnet.id,
        VpcId=model.vpcs[subnet.vpc].id,
        InterfaceType="interface",
    )
    return out


def _instance_tags(i: Instance) -> dict[str, str] | None:
    """netemu's own parts of an instance, kept as tags: its services and its user data
    (EC2 keeps UserData as an attribute no describe-* call prints)."""
    tags = {SERVICES_TAG: services_tag(i.services)} if i.services else {}
    if i.user_data:
        tags[USER_DATA_TAG] = base64.b64encode(i.user_data.encode()).decode()
    return tags or None


def _instance_type(enis: list[Eni]) -> str:
    """t3.micro (2 ENIs, 2 IPv4 addresses each), or the m5.large whose limits netemu
    applies (3 and 10, ref 9.22) when the instance needs more."""
    small = len(enis) <= 2 and all(len(e.private_ips) <= 2 for e in enis)
    return "t3.micro" if small else "m5.large"


def instance_json(model: Model, i: Instance) -> Json:
    subnet = model.subnets[i.subnet]
    running = i.state == "running"
    out: Json = {
        "AmiLaunchIndex": 0,
        "ImageId": "ami-0abcdef1234567890",
        "InstanceId": i.id,
        "InstanceType": _instance_type(model.enis_of(i.name)),
        "LaunchTime": CREATED,
        "Monitoring": {"State": "disabled"},
        "Placement": {"AvailabilityZone": subnet.az, "GroupName": "", "Tenancy": "default"},
        "PrivateDnsName": _private_dns_of(model, i.eni),
        **({"PrivateIpAddress": str(i.private_ip)} if i.private_ip else {}),
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
        NetworkInterfaces=[_eni_brief(model, e) for e in model.enis_of(i.name)],
        SecurityGroups=_groups(model, i.eni),
        SourceDestCheck=i.eni.source_dest_check,
        Tags=tags_json(
            i.name,
            _instance_tags(i),
        ),
    )
    return out


def eni_json(model: Model, e: Eni) -> Json:
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
    elif e.owner_kind == "vpc_endpoint":  # an interface endpoint's ENI (ref 17.3)
        ep = next(x for x in model.vpc_endpoints.values() if e in x.network_interfaces)
        out.pop("Attachment", None)
        out["Description"] = f"VPC Endpoint Interface {ep.id}"
        out["InterfaceType"] = "vpc_endpoint"
        out["RequesterManaged"] = True
        out["RequesterId"] = "amazon-vpce"
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
        if key in brief:  # an IPv6-only ENI has no PrivateIpAddress (16.11)
            out[key] = brief[key]
    out["TagSet"] = tags_json(e.name) if e.name else []  # a secondary ENI's name (9.20)
    return out


def address_json(model: Model, e: Eni) -> Json:
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
