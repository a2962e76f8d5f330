"""Transit gateways through describe-* JSON and a live EC2 endpoint (ref 11, 18.2-18.5):
the gateway, its VPC attachments, route tables with associations, propagations and static
routes, and VPC routes to the gateway arrive; per-table outputs are matched by file name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from netemu.model import load_model
from tests.unit.interop_accounts import REGION, client, moto_endpoint

__all__ = ["moto_endpoint"]  # the fixture, used by name
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "scenarios" / "book" / "transit-gateway.yaml"


def _netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
    )


def _tables(path: Path) -> dict[str, Any]:
    model, _ = load_model(str(path))
    return {
        t.name: (t.id, t.associations, t.propagations, t.static_routes)
        for t in model.transit_gateway_route_tables.values()
    }


def test_describe_folder_round_trip_keeps_associations_propagations_and_routes(
    tmp_path: Path,
) -> None:
    """11, 18.3-18.5: `netemu export --format describe` then `netemu import` of the folder."""
    out, again = tmp_path / "snap", tmp_path / "again.yaml"
    assert _netemu("export", str(SHIPPED), "--format", "describe", "-o", str(out)).returncode == 0
    routes = sorted(p.name for p in out.glob("search-transit-gateway-routes.tgw-rtb-*.json"))
    assert len(routes) == 3
    doc = json.loads((out / "describe-transit-gateways.json").read_text())
    options = doc["TransitGateways"][0]["Options"]
    assert options["DefaultRouteTableAssociation"] == "enable"
    r = _netemu("import", str(out), "-o", str(again), "--name", "tgw")
    assert r.returncode == 0, r.stderr
    assert "not emulated" not in r.stderr
    assert _tables(again) == _tables(SHIPPED)


def test_a_per_table_output_needs_the_table_id_in_its_file_name(tmp_path: Path) -> None:
    """search-transit-gateway-routes prints no table id: a file not named after the table
    is refused (exit 2), naming what to do."""
    bad = tmp_path / "routes.json"
    bad.write_text(json.dumps({"Routes": [], "AdditionalRoutesAvailable": False}))
    r = _netemu("import", str(bad), "-o", str(tmp_path / "x.yaml"))
    assert r.returncode == 2
    assert "search-transit-gateway-routes.tgw-rtb-" in r.stderr


def _named(kind: str, name: str) -> list[dict[str, object]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def test_transit_gateway_made_on_moto_imports_live(moto_endpoint: str, tmp_path: Path) -> None:
    """18.2-18.5, 18.8: made through boto3 on moto, read back through the EC2 API (the
    associations through get-transit-gateway-route-table-associations, which moto keeps)."""
    ec2 = client(moto_endpoint)
    tgw = ec2.create_transit_gateway(
        Description="hub",
        Options={
            "DefaultRouteTableAssociation": "disable",
            "DefaultRouteTablePropagation": "disable",
        },
        TagSpecifications=_named("transit-gateway", "hub"),
    )["TransitGateway"]["TransitGatewayId"]
    atts = {}
    for name, cidr in (("a", "10.70.0.0/16"), ("b", "10.80.0.0/16")):
        vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_named("vpc", name))["Vpc"]
        sub = ec2.create_subnet(
            VpcId=vpc["VpcId"],
            CidrBlock=cidr.replace("0.0/16", "1.0/24"),
            AvailabilityZone=f"{REGION}a",
            TagSpecifications=_named("subnet", f"{name}1"),
        )["Subnet"]
        att = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw,
            VpcId=vpc["VpcId"],
            SubnetIds=[sub["SubnetId"]],
            TagSpecifications=_named("transit-gateway-attachment", f"att-{name}"),
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        atts[name] = att
        rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
            "RouteTables"
        ][0]
        ec2.create_route(
            RouteTableId=rtb["RouteTableId"],
            DestinationCidrBlock="10.0.0.0/8",
            TransitGatewayId=tgw,
        )
    rt = ec2.create_transit_gateway_route_table(
        TransitGatewayId=tgw, TagSpecifications=_named("transit-gateway-route-table", "rt")
    )["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]
    for att in atts.values():
        ec2.associate_transit_gateway_route_table(
            TransitGatewayRouteTableId=rt, TransitGatewayAttachmentId=att
        )
    ec2.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=rt, TransitGatewayAttachmentId=atts["b"]
    )
    ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=rt, DestinationCidrBlock="10.70.0.0/16",
        TransitGatewayAttachmentId=atts["a"],
    )  # fmt: skip
    ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=rt, DestinationCidrBlock="10.9.0.0/16", Blackhole=True
    )
    out = tmp_path / "tgw.yaml"
    r = _netemu("import", "--endpoint-url", moto_endpoint, "--region", REGION, "-o", str(out),
                "--name", "mtgw")  # fmt: skip
    assert r.returncode == 0, r.stderr
    model, _ = load_model(str(out))
    [gw] = model.transit_gateways.values()
    assert gw.id == tgw and not gw.default_route_table_association
    table = model.transit_gateway_route_tables["rt"]
    ids = {n: a.id for n, a in model.transit_gateway_attachments.items()}
    assert {ids[n] for n in table.associations} == set(atts.values())
    assert [ids[n] for n in table.propagations] == [atts["b"]]
    # moto 5.2 prints a static route's attachments as []: that route is left out, said
    static = {str(x.destination): x.attachment for x in table.static_routes}
    assert static == {"10.9.0.0/16": None}
    assert "route 10.70.0.0/16: its attachment is not part of the import" in r.stdout + r.stderr
    to_tgw = [
        r.target
        for t in model.route_tables.values()
        for r in t.routes
        if r.target_kind == "transit_gateway"
    ]
    assert to_tgw == ["hub", "hub"]


def test_terraform_export_writes_the_gateway_its_tables_and_the_vpc_routes(tmp_path: Path) -> None:
    """18.3-18.5, 18.8: the AWS provider's resources; the default table is the gateway's."""
    out = tmp_path / "tgw.tf"
    assert _netemu("export", str(SHIPPED), "--format", "terraform", "-o", str(out)).returncode == 0
    text = out.read_text()
    assert 'resource "aws_ec2_transit_gateway" "tgw"' in text
    assert 'resource "aws_ec2_transit_gateway_route_table_propagation" "spokes_lab-att"' in text
    assert "transit_gateway_id = aws_ec2_transit_gateway.tgw.id" in text
    assert (
        "transit_gateway_route_table_id = aws_ec2_transit_gateway.tgw.association_default_route_table_id"
        in text
    )
    assert 'resource "aws_ec2_transit_gateway_route_table" "default"' not in text
