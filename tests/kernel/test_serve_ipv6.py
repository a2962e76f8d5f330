"""`netemu serve` with IPv6: the API's IPv6 calls reach the kernel (ref 16.1-16.6, 16.9)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from ipaddress import IPv6Network
from pathlib import Path

import pytest
from test_serve import Served, netemu, serving

NAME = "sv6"
INTERNET6 = "2001:db8:ff00::10"  # the default internet host's IPv6 address


@pytest.fixture
def served6(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path / "state", NAME) as s:
        yield s


def _probe(*args: str) -> dict[str, object]:
    out = netemu("probe", "-s", NAME, *args, "--json")
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_ipv6_built_through_the_api_reaches_the_kernel(served6: Served) -> None:
    """16.1, 16.9: AssociateVpcCidrBlock's Amazon-provided block comes from 2001:db8::/32;
    AssociateSubnetCidrBlock, CreateEgressOnlyInternetGateway, a ::/0 route to it,
    RunInstances with an IPv6 address and an IPv6 security group rule reach the kernel:
    the instance reaches the internet over IPv6 (16.5), the internet cannot reach it, and
    verify finds the kernel as planned."""
    from netemu import lifecycle

    ec2 = served6.client()
    vpc = ec2.create_vpc(CidrBlock="10.81.0.0/16")["Vpc"]["VpcId"]  # type: ignore[attr-defined]
    assoc = ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)  # type: ignore[attr-defined]
    block = IPv6Network(assoc["Ipv6CidrBlockAssociation"]["Ipv6CidrBlock"])
    assert block.subnet_of(IPv6Network("2001:db8::/32")) and block.prefixlen == 56
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.81.1.0/24")["Subnet"]["SubnetId"]  # type: ignore[attr-defined]
    net64 = next(block.subnets(new_prefix=64))
    ec2.associate_subnet_cidr_block(SubnetId=sub, Ipv6CidrBlock=str(net64))  # type: ignore[attr-defined]
    eigw = ec2.create_egress_only_internet_gateway(VpcId=vpc)  # type: ignore[attr-defined]
    eigw_id = eigw["EgressOnlyInternetGateway"]["EgressOnlyInternetGatewayId"]
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]  # type: ignore[attr-defined]
    ec2.create_route(  # type: ignore[attr-defined]
        RouteTableId=rtb, DestinationIpv6CidrBlock="::/0", EgressOnlyInternetGatewayId=eigw_id
    )
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=sub)  # type: ignore[attr-defined]
    groups = ec2.describe_security_groups(  # type: ignore[attr-defined]
        Filters=[{"Name": "vpc-id", "Values": [vpc]}]
    )["SecurityGroups"]
    default = groups[0]["GroupId"]
    ec2.authorize_security_group_ingress(  # type: ignore[attr-defined]
        GroupId=default,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                        "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
    )  # fmt: skip
    run = ec2.run_instances(  # type: ignore[attr-defined]
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=sub, Ipv6AddressCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "db"}]}],
    )  # fmt: skip
    given = run["Instances"][0]["NetworkInterfaces"][0]["Ipv6Addresses"][0]["Ipv6Address"]
    model = lifecycle.running_model(NAME)
    assert str(model.instances["db"].ipv6_address) == given
    rules = [str(r.cidr_ipv6) for r in model.security_groups[default].ingress if r.cidr_ipv6]
    assert rules == ["::/0"]
    assert _probe("db", INTERNET6, "--icmp")["result"] == "reachable"
    inbound = _probe("internet", given, "--tcp", "22")
    assert inbound["result"] == "blocked"
    assert inbound["reason"]["component"].startswith("egress_only_internet_gateway:")  # type: ignore[index]
    assert netemu("verify", NAME).returncode == 0
