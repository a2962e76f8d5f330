"""CreateFlowLogs / DeleteFlowLogs through `netemu serve` start and stop real flow logs
(reference 12.1, 12.3, 12.4; scenario-format.md 6.1)."""

from __future__ import annotations

import json
from typing import Any

from tests.kernel.test_serve import NAME, Served, netemu, served

__all__ = ["served"]  # the fixture, used by name

ROLE = "arn:aws:iam::123456789012:role/ne-flow-logs"


def _records() -> list[dict[str, Any]]:
    out = netemu("flowlogs", "-s", NAME, "--json")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_create_flow_logs_on_the_api_vpc_logs_real_accepted_traffic(served: Served) -> None:
    """12.1: a flow log on a VPC covers every ENI in it, with a 60 s window; 12.3/12.4: an
    SSH connection the security group admits gives ACCEPT records on web's ENI, both ways.
    DeleteFlowLogs stops the collector: the scenario has no flow logs left."""
    from netemu.serve.book import build_webdb

    ec2: Any = served.client()
    ids = build_webdb(ec2)
    made = ec2.create_flow_logs(
        ResourceType="VPC",
        ResourceIds=[ids["main"]],
        TrafficType="ALL",
        LogDestinationType="cloud-watch-logs",
        LogGroupName="ne-flow-logs",
        DeliverLogsPermissionArn=ROLE,
        MaxAggregationInterval=60,
        TagSpecifications=[
            {"ResourceType": "vpc-flow-log", "Tags": [{"Key": "Name", "Value": "everything"}]}
        ],
    )
    assert made["Unsuccessful"] == [] and len(made["FlowLogIds"]) == 1
    described = ec2.describe_flow_logs()["FlowLogs"]
    assert [(f["ResourceId"], f["MaxAggregationInterval"]) for f in described] == [
        (ids["main"], 60)
    ]

    probe = netemu("probe", "-s", NAME, "internet", "web", "--tcp", "22", "--json")
    assert json.loads(probe.stdout)["result"] == "reachable", probe.stderr
    web = ec2.describe_instances(InstanceIds=[ids["web"]])["Reservations"][0]["Instances"][0]
    eni = web["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ssh = {
        (r["srcport"], r["dstport"])
        for r in _records()
        if r["interface-id"] == eni
        and r["action"] == "ACCEPT"
        and 22 in (r["srcport"], r["dstport"])
    }
    assert len(ssh) == 2, ssh  # in and out (12.4: both allow)
    assert {r["flow-log"] for r in _records()} == {"everything"}

    # A second flow log while the collector runs: the changed model restarts it (12.3:
    # the security groups refuse ICMP from the internet, a REJECT record).
    second = ec2.create_flow_logs(
        ResourceType="Subnet",
        ResourceIds=[ids["public"]],
        TrafficType="REJECT",
        LogDestinationType="cloud-watch-logs",
        LogGroupName="ne-flow-logs-rejects",
        DeliverLogsPermissionArn=ROLE,
        MaxAggregationInterval=60,
        TagSpecifications=[
            {"ResourceType": "vpc-flow-log", "Tags": [{"Key": "Name", "Value": "rejects"}]}
        ],
    )
    ping = netemu("probe", "-s", NAME, "internet", "web", "--icmp", "--json")
    assert json.loads(ping.stdout)["result"] == "blocked", ping.stderr
    rejects = [r for r in _records() if r.get("flow-log") == "rejects"]
    assert {(r["action"], r["protocol"], r["interface-id"]) for r in rejects if r["packets"]} == {
        ("REJECT", 1, eni)
    }

    ec2.delete_flow_logs(FlowLogIds=made["FlowLogIds"] + second["FlowLogIds"])
    assert ec2.describe_flow_logs()["FlowLogs"] == []
    gone = netemu("flowlogs", "-s", NAME)
    assert gone.returncode == 2 and "has no flow_logs" in gone.stderr
