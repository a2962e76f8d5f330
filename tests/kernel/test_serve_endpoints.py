"""CreateVpcEndpoint / DeleteVpcEndpoints through `netemu serve` make and remove a real
gateway endpoint (reference 17.1, 17.2): moto keeps the account, the importer's mapping
turns it into the scenario, and real packets take the endpoint's route."""

from __future__ import annotations

import json
from typing import Any

from tests.kernel.test_serve import NAME, Served, netemu, served

__all__ = ["served"]  # the fixture, used by name


def _s3(source: str) -> dict[str, Any]:
    out = netemu("probe", "-s", NAME, source, "s3", "--tcp", "443", "--json")
    assert out.returncode in (0, 1), out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_create_vpc_endpoint_on_the_api_moves_s3_traffic_off_the_nat_gateway(
    served: Served,
) -> None:
    """17.2: a gateway endpoint for S3 on the private route table: db reaches S3 with its
    private address; deleted, S3 is gone from the account's routes (db has NAT, the
    service host leaves with the last endpoint)."""
    from netemu.serve.book import build_webdb

    ec2: Any = served.client()
    ids = build_webdb(ec2)
    made = ec2.create_vpc_endpoint(
        VpcId=ids["main"],
        ServiceName="com.amazonaws.ap-northeast-1.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[ids["private-rt"]],
        TagSpecifications=[
            {"ResourceType": "vpc-endpoint", "Tags": [{"Key": "Name", "Value": "s3"}]}
        ],
    )
    vpce = made["VpcEndpoint"]["VpcEndpointId"]
    r = _s3("db")
    assert (r["result"], r["seen_source"]) == ("reachable", "172.30.1.10"), r
    ec2.delete_vpc_endpoints(VpcEndpointIds=[vpce])
    status = netemu("status", NAME, "--json")
    assert status.returncode == 0 and '"s3"' not in status.stdout, status.stdout
