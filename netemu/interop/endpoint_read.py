"""Live import: the same describe-* data, read through boto3 from an EC2 endpoint.

Read-only: only Describe* calls are made. Works against an AWS account, moto's server or
netemu's own endpoint. Calls an endpoint does not implement become notes, so what was not
checked is said, not hidden.
"""

from __future__ import annotations

from typing import Any

from netemu.errors import UsageError
from netemu.interop import prefix_lists
from netemu.interop import transit_gateway as tgw
from netemu.interop.describe_read import VPC_ATTRIBUTES, Data
from netemu.interop.notes import Note

# (boto3 operation, top-level key, essential): essential calls must succeed.
CALLS = (
    ("describe_vpcs", "Vpcs", True),
    ("describe_subnets", "Subnets", True),
    ("describe_route_tables", "RouteTables", True),
    ("describe_internet_gateways", "InternetGateways", True),
    ("describe_nat_gateways", "NatGateways", True),
    ("describe_security_groups", "SecurityGroups", True),
    ("describe_network_acls", "NetworkAcls", True),
    ("describe_instances", "Reservations", True),
    ("describe_network_interfaces", "NetworkInterfaces", False),
    ("describe_addresses", "Addresses", False),
    ("describe_dhcp_options", "DhcpOptions", False),
    ("describe_vpc_peering_connections", "VpcPeeringConnections", False),
    ("describe_vpc_endpoints", "VpcEndpoints", False),
    ("describe_prefix_lists", "PrefixLists", False),  # AWS-managed lists by name (ref 17.6)
    ("describe_transit_gateways", "TransitGateways", False),
    ("describe_transit_gateway_attachments", "TransitGatewayAttachments", False),
    ("describe_transit_gateway_vpc_attachments", "TransitGatewayVpcAttachments", False),
    ("describe_transit_gateway_route_tables", "TransitGatewayRouteTables", False),
    ("describe_flow_logs", "FlowLogs", False),
    ("describe_egress_only_internet_gateways", "EgressOnlyInternetGateways", False),
)


def read_live(
    endpoint_url: str | None, region: str | None, profile: str | None
) -> tuple[Data, list[Note], str]:
    """(data, notes, region) read from the endpoint; UsageError naming the AWS error code."""
    try:
        import boto3
        import botocore.exceptions as bx
    except ImportError:
        raise UsageError("--endpoint-url needs boto3: pip install boto3") from None
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        region = session.region_name or "us-east-1"
        ec2 = session.client("ec2", endpoint_url=endpoint_url, region_name=region)
    except bx.BotoCoreError as e:
        raise UsageError(f"cannot set up the EC2 client: {e}") from None
    data, notes = read_client(ec2)
    return data, notes, region


def read_client(ec2: Any) -> tuple[Data, list[Note]]:
    """Every describe-* call through an EC2 client (boto3), as `read_live` makes them;
    `netemu serve` reads its own account this way."""
    import botocore.exceptions as bx

    data: Data = {}
    notes: list[Note] = []
    for operation, key, essential in CALLS:
        try:
            data[key] = _all(ec2, operation, key)
        except bx.ClientError as e:
            code = e.response.get("Error", {}).get("Code", "ClientError")
            call = operation.replace("_", "-")
            if essential:
                raise UsageError(f"{call} failed: {code}: {_message(e)}") from None
            notes.append(Note(call, f"the endpoint refused it ({code}); not checked"))
        except bx.NoCredentialsError:
            raise UsageError(
                "no AWS credentials: use --profile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                "(any values work for a local endpoint such as moto)"
            ) from None
        except bx.BotoCoreError as e:
            raise UsageError(f"{operation.replace('_', '-')} failed: {e}") from None
    try:  # the lists, and each customer-managed list's entries (interop.prefix_lists)
        prefix_lists.read_client(ec2, data)
    except bx.ClientError as e:
        code = e.response.get("Error", {}).get("Code", "ClientError")
        notes.append(Note("describe-managed-prefix-lists", f"the endpoint refused it ({code})"))
    for vpc in data.get("Vpcs", []):
        try:
            attr = ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")
        except (bx.ClientError, bx.BotoCoreError):
            continue  # the default applies; dns_hostnames only changes host names
        attr.pop("ResponseMetadata", None)
        data.setdefault(VPC_ATTRIBUTES, []).append(attr)
    for table in data.get("TransitGatewayRouteTables", []):
        _per_table(ec2, str(table["TransitGatewayRouteTableId"]), data, notes)
    return data, notes


def _per_table(ec2: Any, table: str, data: Data, notes: list[Note]) -> None:
    """A transit gateway route table's propagations and static routes (18.5), with the
    table's id, which these outputs do not print (interop.transit_gateway)."""
    import botocore.exceptions as bx

    static = [{"Name": "type", "Values": ["static"]}]
    calls: tuple[tuple[str, dict[str, Any], str, str], ...] = (
        ("get_transit_gateway_route_table_propagations", {}, tgw.PROPAGATIONS, tgw.PROPAGATIONS),
        ("search_transit_gateway_routes", {"Filters": static}, "Routes", tgw.ROUTES),
        ("get_transit_gateway_route_table_associations", {}, tgw.ASSOCIATIONS, tgw.ASSOCIATIONS),
    )
    for operation, extra, key, into in calls:
        try:
            answer = getattr(ec2, operation)(TransitGatewayRouteTableId=table, **extra)
        except (bx.ClientError, bx.BotoCoreError) as e:
            call = operation.replace("_", "-")
            notes.append(Note(f"{call} {table}", f"the endpoint refused it ({e}); not checked"))
            continue
        rows = data.setdefault(into, [])
        rows += [{**i, "TransitGatewayRouteTableId": table} for i in answer.get(key, [])]


def _all(ec2: Any, operation: str, key: str) -> list[dict[str, Any]]:
    if ec2.can_paginate(operation):
        items: list[dict[str, Any]] = []
        for page in ec2.get_paginator(operation).paginate():
            items += page.get(key, [])
        return items
    return list(getattr(ec2, operation)().get(key, []))


def _message(e: Any) -> str:
    return str(e.response.get("Error", {}).get("Message", "")) or str(e)


def read_call(ec2: Any, operation: str, key: str) -> list[dict[str, Any]]:
    """One describe-* call of `CALLS`, every page of it (`netemu serve` re-reads single
    results after a call)."""
    return _all(ec2, operation, key)
