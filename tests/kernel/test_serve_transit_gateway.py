"""`netemu serve` with a transit gateway (ref 18.2-18.5, 18.8): two VPCs attached through
the EC2 API reach each other only once the gateway's route table propagates both."""

from __future__ import annotations

from typing import Any

from test_serve import NAME, Served, _probe, netemu, served

__all__ = ["served"]  # the fixture, used by name


def _named(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def test_transit_gateway_made_through_the_api_routes_by_its_table(served: Served) -> None:
    """18.3, 18.5: with default association and propagation disabled, both attachments
    associated with one table that propagates only b: the reply to a finds no route
    (TGW_RTB_CANNOT_ROUTE); enabling a's propagation through the API lets ping through."""
    ec2: Any = served.client()
    tgw = ec2.create_transit_gateway(
        Options={
            "DefaultRouteTableAssociation": "disable",
            "DefaultRouteTablePropagation": "disable",
        },
        TagSpecifications=_named("transit-gateway", "hub"),
    )["TransitGateway"]["TransitGatewayId"]
    atts = {}
    for name, cidr in (("a", "10.70.0.0/16"), ("b", "10.80.0.0/16")):
        vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_named("vpc", name))["Vpc"]["VpcId"]
        sub = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=cidr.replace("0.0/16", "1.0/24"),
            AvailabilityZone="ap-northeast-1a",
            TagSpecifications=_named("subnet", f"{name}1"),
        )["Subnet"]["SubnetId"]
        atts[name] = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw, VpcId=vpc, SubnetIds=[sub]
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
            "RouteTables"
        ][0]["RouteTableId"]
        ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="10.0.0.0/8", TransitGatewayId=tgw)
        group = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "group-name", "Values": ["default"]},
            ]
        )["SecurityGroups"][0]["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
        )
        ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=sub,
            PrivateIpAddress=cidr.replace("0.0/16", "1.10"),
            TagSpecifications=_named("instance", f"i{name}"),
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
    blocked = _probe("ia", "10.80.1.10", "--icmp")
    assert blocked["result"] == "blocked", blocked
    reason: Any = blocked["reason"]
    assert (reason["code"], reason["leg"]) == ("TGW_RTB_CANNOT_ROUTE", "reply"), reason
    ec2.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=rt, TransitGatewayAttachmentId=atts["a"]
    )
    assert _probe("ia", "10.80.1.10", "--icmp")["result"] == "reachable"
    assert netemu("verify", NAME).returncode == 0
