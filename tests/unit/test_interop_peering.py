"""VPC peering made through boto3 on moto's EC2 server and imported live (ref 11, 1.10-1.16):
the connection, its status, the routes on both sides and a peer-group reference arrive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from netemu.model import load_model
from tests.unit.interop_accounts import REGION, client, moto_endpoint

__all__ = ["moto_endpoint"]  # the fixture, used by name
ROOT = Path(__file__).resolve().parents[2]


def _named(kind: str, name: str) -> list[dict[str, object]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def test_peering_made_on_moto_imports_with_routes_and_peer_groups(
    moto_endpoint: str, tmp_path: Path
) -> None:
    ec2 = client(moto_endpoint)
    a = ec2.create_vpc(CidrBlock="10.70.0.0/16", TagSpecifications=_named("vpc", "a"))["Vpc"]
    b = ec2.create_vpc(CidrBlock="10.80.0.0/16", TagSpecifications=_named("vpc", "b"))["Vpc"]
    pcx = ec2.create_vpc_peering_connection(
        VpcId=a["VpcId"],
        PeerVpcId=b["VpcId"],
        TagSpecifications=_named("vpc-peering-connection", "ab"),
    )["VpcPeeringConnection"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    for vpc, peer in ((a, b), (b, a)):
        rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
            "RouteTables"
        ][0]
        ec2.create_route(
            RouteTableId=rtb["RouteTableId"],
            DestinationCidrBlock=peer["CidrBlock"],
            VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"],
        )
    ga = ec2.create_security_group(GroupName="ga", Description="ga", VpcId=a["VpcId"])
    gb = ec2.create_security_group(GroupName="gb", Description="gb", VpcId=b["VpcId"])
    ec2.authorize_security_group_ingress(
        GroupId=gb["GroupId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "UserIdGroupPairs": [
                    {
                        "GroupId": ga["GroupId"],
                        "VpcId": a["VpcId"],
                        "VpcPeeringConnectionId": pcx["VpcPeeringConnectionId"],
                    }
                ],
            }
        ],
    )
    out = tmp_path / "peered.yaml"
    r = subprocess.run(
        [sys.executable, "-m", "netemu.cli", "import", "--endpoint-url", moto_endpoint,
         "--region", REGION, "-o", str(out), "--name", "mpeer"],
        capture_output=True, text=True, timeout=180, check=False, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    model, _ = load_model(str(out))
    [conn] = model.vpc_peering_connections.values()
    assert conn.id == pcx["VpcPeeringConnectionId"] and conn.active
    assert {model.vpcs[conn.requester].id, model.vpcs[conn.accepter].id} == {
        a["VpcId"],
        b["VpcId"],
    }
    to_peering = [
        str(route.destination)
        for t in model.route_tables.values()
        for route in t.routes
        if route.target_kind == "vpc_peering_connection" and route.target == conn.name
    ]
    assert sorted(to_peering) == ["10.70.0.0/16", "10.80.0.0/16"]
    group_b = model.security_groups[gb["GroupId"]]
    assert [rule.security_group for rule in group_b.ingress] == [ga["GroupId"]]
