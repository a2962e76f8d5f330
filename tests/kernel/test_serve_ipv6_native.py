"""`netemu serve` with IPv6-only subnets: CreateSubnet Ipv6Native and RunInstances in it
reach the kernel (ref 16.11)."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv6Network
from pathlib import Path

import pytest
from test_serve import Served, netemu, serving

NAME = "sv6n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path / "state", NAME) as s:
        yield s


def test_an_ipv6_only_subnet_made_through_the_api_reaches_the_kernel(served: Served) -> None:
    """16.11: the API's IPv6-only subnet becomes `ipv6_native` and its instance has no
    IPv4 address; it is reachable over IPv6 and verify finds the kernel as planned."""
    from netemu import lifecycle

    ec2 = served.client()
    vpc = ec2.create_vpc(CidrBlock="10.82.0.0/16")["Vpc"]["VpcId"]  # type: ignore[attr-defined]
    assoc = ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)  # type: ignore[attr-defined]
    block = IPv6Network(assoc["Ipv6CidrBlockAssociation"]["Ipv6CidrBlock"])
    net64 = str(next(block.subnets(new_prefix=64)))
    sub = ec2.create_subnet(VpcId=vpc, Ipv6Native=True, Ipv6CidrBlock=net64)["Subnet"]  # type: ignore[attr-defined]
    run = ec2.run_instances(  # type: ignore[attr-defined]
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=sub["SubnetId"],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "app"}]}],
    )  # fmt: skip
    given = run["Instances"][0]["NetworkInterfaces"][0]["PrivateIpAddress"]  # moto's shape
    model = lifecycle.running_model(NAME)
    app = model.instances["app"]
    assert model.subnets[app.subnet].cidr is None
    assert (app.private_ip, str(app.ipv6_address)) == (None, given)
    out = netemu("probe", "-s", NAME, "internet", "app", "--tcp", "22")
    assert out.returncode == 2 and "has no IPv4 address" in out.stderr, out.stderr
    out = netemu("exec", "-s", NAME, "app", "--", "ip", "-o", "addr", "show", "dev", "eth0")
    assert f"{given}/128" in out.stdout and " inet " not in out.stdout, out.stdout
    assert netemu("verify", NAME).returncode == 0
