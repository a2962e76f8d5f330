"""A model's `flow_logs` -> describe-flow-logs JSON, in botocore's FlowLog shape (ref 11, 12.1).

The destination is an S3 bucket: the files netemu writes follow S3's layout (12.1); the
bucket's name is a stand-in, nothing is sent anywhere.
"""

from __future__ import annotations

from typing import Any

from netemu.interop.export_enis import CREATED, tags_json
from netemu.model.types import FlowLog, Model

BUCKET_ARN = "arn:aws:s3:::ne-flow-logs"
Json = dict[str, Any]


def flow_logs_json(model: Model) -> list[Json]:
    return [_flow_log(model, f) for f in model.flow_logs]


def resource_id(model: Model, f: FlowLog) -> str:
    """The id AWS names as the flow log's resource: an instance's or NAT gateway's is its
    network interface's (12.1: a flow log is on a VPC, subnet or network interface)."""
    if f.resource_kind == "vpc":
        return model.vpcs[f.resource].id
    if f.resource_kind == "subnet":
        return model.subnets[f.resource].id
    if f.resource_kind == "instance":
        return model.instances[f.resource].eni.id
    return model.nat_gateways[f.resource].eni.id


def _flow_log(model: Model, f: FlowLog) -> Json:
    return {
        "CreationTime": CREATED,
        "DeliverLogsStatus": "SUCCESS",
        "FlowLogId": f.id,
        "FlowLogStatus": "ACTIVE",
        "ResourceId": resource_id(model, f),
        "TrafficType": f.traffic_type,
        "LogDestinationType": "s3",
        "LogDestination": BUCKET_ARN,
        "LogFormat": " ".join("${" + x + "}" for x in f.log_format),
        "Tags": tags_json(f.name),
        "MaxAggregationInterval": f.max_aggregation_interval,
    }
