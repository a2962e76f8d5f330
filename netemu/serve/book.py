"""The book's web + DB VPC made through the EC2 API, call by call, as its console steps
are (docs/serve.md walks the same calls with the `aws` CLI). Tests and benchmarks use it."""

from __future__ import annotations

from typing import Any


def _tags(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def build_webdb(ec2: Any) -> dict[str, str]:
    """Create the VPC of scenarios/book/webdb.yaml through `ec2` (a boto3 client); returns
    the IDs by name."""
    ids: dict[str, str] = {}
    vpc = ec2.create_vpc(CidrBlock="172.30.0.0/16", TagSpecifications=_tags("vpc", "main"))
    ids["main"] = vpc_id = vpc["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    igw = ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway", "igw"))
    ids["igw"] = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=vpc_id)
    for name, cidr in (("public", "172.30.0.0/24"), ("private", "172.30.1.0/24")):
        sub = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr,
            AvailabilityZone=ec2.meta.region_name + "a",
            TagSpecifications=_tags("subnet", name),
        )
        ids[name] = sub["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=ids["public"], MapPublicIpOnLaunch={"Value": True})
    for name in ("public-rt", "private-rt"):
        rt = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=_tags("route-table", name))
        ids[name] = rt["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=ids["public-rt"], DestinationCidrBlock="0.0.0.0/0", GatewayId=ids["igw"]
    )
    ec2.associate_route_table(RouteTableId=ids["public-rt"], SubnetId=ids["public"])
    ec2.associate_route_table(RouteTableId=ids["private-rt"], SubnetId=ids["private"])
    eip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(
        SubnetId=ids["public"],
        AllocationId=eip["AllocationId"],
        TagSpecifications=_tags("natgateway", "nat"),
    )
    ids["nat"] = nat["NatGateway"]["NatGatewayId"]
    ec2.create_route(
        RouteTableId=ids["private-rt"], DestinationCidrBlock="0.0.0.0/0", NatGatewayId=ids["nat"]
    )
    sg = ec2.create_security_group(GroupName="ssh", Description="ssh from anywhere", VpcId=vpc_id)
    ids["ssh"] = sg["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=ids["ssh"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    default = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"][0]["GroupId"]
    ids["default"] = default
    for name, subnet, ip, groups in (
        ("web", "public", "172.30.0.10", [default, ids["ssh"]]),
        ("db", "private", "172.30.1.10", [default]),
    ):
        run = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=ids[subnet],
            PrivateIpAddress=ip,
            SecurityGroupIds=groups,
            TagSpecifications=_tags("instance", name),
        )
        ids[name] = run["Instances"][0]["InstanceId"]
    return ids
