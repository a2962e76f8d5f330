"""AWS accounts built through boto3 on moto's EC2 server: real API shapes, no one's invention.

moto_endpoint starts moto's server on 127.0.0.1 on a free port and stops it. The builders
create, through the same API calls a user would make, the book's web + DB VPC (the layout of
scenarios/book/webdb.yaml) and a three-AZ VPC shaped like the terraform-aws-modules/vpc
module (public, private and database subnets, one NAT gateway per AZ, an S3 gateway
endpoint).
"""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

REGION = "ap-northeast-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh moto EC2 server on 127.0.0.1; its URL. Dummy credentials, never real ones."""
    server_mod = pytest.importorskip("moto.server")
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # moto keeps its accounts in this process: start each test from an empty one
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    try:
        yield url
    finally:
        server.stop()


def client(url: str) -> Any:
    import boto3

    return boto3.client("ec2", endpoint_url=url, region_name=REGION, **_keys())


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _tags(kind: str, name: str, **extra: str) -> list[dict[str, Any]]:
    tags = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in extra.items()]
    return [{"ResourceType": kind, "Tags": tags}]


def _image(ec2: Any) -> str:
    return str(ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"])


def _default_group(ec2: Any, vpc: str) -> str:
    """The VPC's default group, with the self-referencing inbound rule AWS gives it (ref 7.4);
    moto leaves it out."""
    filters = [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    group = str(ec2.describe_security_groups(Filters=filters)["SecurityGroups"][0]["GroupId"])
    own = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=own)
    return group


def build_webdb(ec2: Any) -> dict[str, str]:
    """scenarios/book/webdb.yaml, made the way a user makes it in the console or CLI."""
    vpc = ec2.create_vpc(CidrBlock="172.30.0.0/16", TagSpecifications=_tags("vpc", "main"))
    vpc_id = vpc["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    igw = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", "igw"))
    igw_id = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    subnets = {}
    for name, cidr in (("public", "172.30.0.0/24"), ("private", "172.30.1.0/24")):
        s = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=REGION + "a",
            TagSpecifications=_tags("subnet", name),
        )
        subnets[name] = s["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnets["public"], MapPublicIpOnLaunch={"Value": True})
    eip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(
        SubnetId=subnets["public"],
        AllocationId=eip["AllocationId"],
        TagSpecifications=_tags("natgateway", "nat"),
    )
    nat_id = nat["NatGateway"]["NatGatewayId"]
    for name, target in (("public", {"GatewayId": igw_id}), ("private", {"NatGatewayId": nat_id})):
        table = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=_tags("route-table", name))
        table_id = table["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", **target)
        ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnets[name])
    default = _default_group(ec2, vpc_id)
    ssh = ec2.create_security_group(
        GroupName="ssh",
        Description="ssh from anywhere",
        VpcId=vpc_id,
        TagSpecifications=_tags("security-group", "ssh"),
    )
    ssh_id = ssh["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=ssh_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    image = _image(ec2)
    for name, subnet, ip, groups, services in (
        ("web", "public", "172.30.0.10", [default, ssh_id], "ssh,http"),
        ("db", "private", "172.30.1.10", [default], "ssh,tcp:3306"),
    ):
        ec2.run_instances(
            ImageId=image,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnets[subnet],
            PrivateIpAddress=ip,
            SecurityGroupIds=groups,
            TagSpecifications=_tags("instance", name, **{"netemu:services": services}),
        )
    return {"vpc": vpc_id, "nat": nat_id, "eip": eip["PublicIp"]}


def build_three_az(ec2: Any) -> dict[str, str]:
    """What `module "vpc" { source = "terraform-aws-modules/vpc/aws" ... }` makes with
    azs = [a, c, d], public/private/database subnets, enable_nat_gateway = true,
    one_nat_gateway_per_az = true, plus an aws_vpc_endpoint for S3 on the private tables."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=_tags("vpc", "my-vpc"))
    vpc_id = vpc["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    igw = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", "my-vpc"))
    igw_id = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    public_rt = ec2.create_route_table(
        VpcId=vpc_id, TagSpecifications=_tags("route-table", "my-vpc-public")
    )
    public_rt_id = public_rt["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    private_tables = []
    image = _image(ec2)
    for n, az in enumerate(("a", "c", "d")):
        zone = REGION + az
        ids = {}
        for kind, third in (("public", 101 + n), ("private", 1 + n), ("db", 21 + n)):
            s = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=f"10.0.{third}.0/24",
                AvailabilityZone=zone,
                TagSpecifications=_tags("subnet", f"my-vpc-{kind}-{zone}"),
            )
            ids[kind] = s["Subnet"]["SubnetId"]
        ec2.modify_subnet_attribute(SubnetId=ids["public"], MapPublicIpOnLaunch={"Value": True})
        ec2.associate_route_table(RouteTableId=public_rt_id, SubnetId=ids["public"])
        eip = ec2.allocate_address(
            Domain="vpc", TagSpecifications=_tags("elastic-ip", f"my-vpc-{zone}")
        )
        nat = ec2.create_nat_gateway(
            SubnetId=ids["public"],
            AllocationId=eip["AllocationId"],
            TagSpecifications=_tags("natgateway", f"my-vpc-{zone}"),
        )
        rt = ec2.create_route_table(
            VpcId=vpc_id, TagSpecifications=_tags("route-table", f"my-vpc-private-{zone}")
        )
        rt_id = rt["RouteTable"]["RouteTableId"]
        private_tables.append(rt_id)
        ec2.create_route(
            RouteTableId=rt_id,
            DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId=nat["NatGateway"]["NatGatewayId"],
        )
        ec2.associate_route_table(RouteTableId=rt_id, SubnetId=ids["private"])
        ec2.associate_route_table(RouteTableId=rt_id, SubnetId=ids["db"])  # module default
        ec2.run_instances(
            ImageId=image,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            SubnetId=ids["private"],
            TagSpecifications=_tags("instance", f"app-{az}"),
        )
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc_id,
        VpcEndpointType="Gateway",
        ServiceName=f"com.amazonaws.{REGION}.s3",
        RouteTableIds=private_tables,
    )
    return {"vpc": vpc_id, "endpoint": endpoint["VpcEndpoint"]["VpcEndpointId"]}
