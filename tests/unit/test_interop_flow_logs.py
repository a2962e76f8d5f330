"""Flow logs through describe-flow-logs JSON: import, export, round trip (reference 11,
12.1, 12.2; scenario-format.md 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netemu.interop import describe_to_scenario, model_to_describe
from netemu.interop.sources import describe_data
from netemu.interop.write_yaml import dump
from netemu.model import load_model_text
from tests.unit.test_interop_roundtrip import _conforms, _network, _reimport

ROOT = Path(__file__).resolve().parents[2]
FLOW_LOGS = """
flow_logs:
  everything: {resource: main, max_aggregation_interval: 60}
  private-rejects: {resource: private, traffic_type: REJECT}
  web-accepts:
    resource: web
    traffic_type: ACCEPT
    log_format: ${interface-id} ${srcaddr} ${dstaddr} ${pkt-dstaddr} ${tcp-flags} ${action}
  nat: {resource: nat, max_aggregation_interval: 1}
"""
WEBDB = (ROOT / "scenarios/book/webdb.yaml").read_text().split("\nexpect:")[0] + FLOW_LOGS


def _model() -> Any:
    model, problems = load_model_text(WEBDB, "webdb-flow.yaml")
    assert [p for p in problems if p.severity == "error"] == []
    return model


def test_flow_logs_survive_describe_json_and_back() -> None:
    """ref 11, 12.1: resource (VPC, subnet, instance's and NAT gateway's ENI), filter,
    window and format all come back, and the flow logs keep their ids."""
    model = _model()
    again = _reimport(model)
    assert _network(again) == _network(model)
    assert [(f.name, f.id, f.resource_kind, f.resource) for f in again.flow_logs] == [
        (f.name, f.id, f.resource_kind, f.resource) for f in model.flow_logs
    ]
    assert model_to_describe(again) == model_to_describe(model)


def test_exported_flow_logs_follow_botocores_flow_log_shape() -> None:
    botocore = pytest.importorskip("botocore.session")
    service = botocore.get_session().get_service_model("ec2")
    doc = model_to_describe(_model())["describe-flow-logs"]
    shape = service.operation_model("DescribeFlowLogs").output_shape
    assert _conforms(doc, shape, "describe-flow-logs") == []
    web = next(f for f in doc["FlowLogs"] if f["Tags"][0]["Value"] == "web-accepts")
    assert web["ResourceId"].startswith("eni-") and web["TrafficType"] == "ACCEPT"
    assert web["LogFormat"].startswith("${interface-id} ${srcaddr}")


def _account(*flow_logs: dict[str, Any]) -> dict[str, Any]:
    data = describe_data(model_to_describe(_model()))
    return {**data, "FlowLogs": list(flow_logs)}


def _flow_log(resource: str, **extra: Any) -> dict[str, Any]:
    return {"FlowLogId": "fl-0a1b2c3d", "ResourceId": resource, **extra}


def test_an_imported_flow_log_takes_its_resources_name_and_aws_defaults() -> None:
    """ref 12.1: ALL and 600 s unless set; ref 12.2: the version-2 format unless set."""
    data = _account()
    vpc_id = data["Vpcs"][0]["VpcId"]
    scenario, notes = describe_to_scenario(_account(_flow_log(vpc_id)), "webdb")
    assert scenario["flow_logs"] == {"fl-0a1b2c3d": {"id": "fl-0a1b2c3d", "resource": "main"}}
    assert [n for n in notes if n.severity != "added"] == []
    model, problems = load_model_text(dump(scenario), "imported.yaml")
    assert problems == [] and model.flow_logs[0].max_aggregation_interval == 600


def test_what_netemu_cannot_record_is_said_in_notes_not_hidden() -> None:
    """ref 12.2: fields netemu does not record are dropped with a note; a Firehose
    destination is replaced by netemu's files; a transit gateway flow log is left out."""
    data = _account()
    vpc_id = data["Vpcs"][0]["VpcId"]
    odd = _flow_log(
        vpc_id,
        LogFormat="${srcaddr} ${az-id} ${action}",
        LogDestinationType="kinesis-data-firehose",
    )
    tgw = {"FlowLogId": "fl-0a1b2c3e", "ResourceId": "tgw-0a1b2c3d"}
    scenario, notes = describe_to_scenario(_account(odd, tgw), "webdb")
    assert scenario["flow_logs"]["fl-0a1b2c3d"]["log_format"] == "${srcaddr} ${action}"
    said = {str(n) for n in notes}
    assert "fl-0a1b2c3d: log format fields az-id are not recorded by netemu; dropped" in said
    assert any("kinesis-data-firehose destination is not emulated" in s for s in said)
    assert any(s.startswith("fl-0a1b2c3e: its resource tgw-0a1b2c3d") for s in said)
    load_model_text(dump(scenario), "imported.yaml")


def test_scenario_export_keeps_flow_logs() -> None:
    from netemu.interop.export_scenario import model_to_scenario

    scenario = model_to_scenario(_model())
    assert list(scenario["flow_logs"]) == ["everything", "private-rejects", "web-accepts", "nat"]
    assert scenario["flow_logs"]["nat"]["resource"] == "nat"


def test_the_collector_is_restarted_by_a_changed_model_not_by_a_moved_file() -> None:
    """12.1: a flow log added to a running scenario is logged: the collector's plan file
    names the model it runs for, so apply restarts it when the network changes."""
    from netemu.flowlogs import records
    from netemu.render import render

    def config(text: str, path: str) -> str:
        model, _ = load_model_text(text, path)
        files = {f.path: f.content for f in render(model).files}
        return files[records.CONFIG]

    one = config(WEBDB, "a/webdb.yaml")
    assert config("\n\n" + WEBDB, "b/webdb.yaml") == one
    more = WEBDB + "  rejects: {resource: public, traffic_type: REJECT}\n"
    assert config(more, "a/webdb.yaml") != one


def test_terraform_export_writes_aws_flow_log_on_each_resource() -> None:
    """12.1: a flow log is on a VPC, subnet or network interface; AWS windows are 60 or
    600 s, so a test's 1 s window is written as 60 with a comment."""
    import re

    from netemu.interop.export_terraform import model_to_terraform
    from tests.unit.test_interop_terraform import _resources

    hcl2 = pytest.importorskip("hcl2")
    text = model_to_terraform(_model())
    kinds = _resources(hcl2.loads(text))
    assert sorted(kinds["aws_flow_log"]) == ["everything", "nat", "private-rejects", "web-accepts"]
    for kind, name in re.findall(r"= \[?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.", text):
        assert name in kinds.get(kind, []), f"{kind}.{name} is referenced but not defined"
    assert "eni_id = aws_nat_gateway.nat.network_interface_id" in text
    assert "# netemu used 1 s" in text
    assert 'log_format = "$${interface-id} $${srcaddr}' in text


def test_the_live_reader_asks_for_flow_logs_and_moto_answers() -> None:
    """ref 11: the live import makes DescribeFlowLogs; a flow log made through the API
    (moto, as behind `netemu serve`) comes back on its VPC with its window."""
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    from netemu.interop.endpoint_read import read_client

    with moto.mock_aws():
        ec2 = boto3.client("ec2", region_name="ap-northeast-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.create_flow_logs(
            ResourceType="VPC",
            ResourceIds=[vpc],
            TrafficType="REJECT",
            LogDestinationType="cloud-watch-logs",
            LogGroupName="ne-flow-logs",
            DeliverLogsPermissionArn="arn:aws:iam::123456789012:role/ne-flow-logs",
            MaxAggregationInterval=60,
        )
        data, notes = read_client(ec2)
    assert notes == []
    scenario, _ = describe_to_scenario(data, "live")
    (spec,) = scenario["flow_logs"].values()
    vpc_name = next(n for n, v in scenario["vpcs"].items() if v["id"] == vpc)  # not the default
    assert spec["resource"] == vpc_name and spec["traffic_type"] == "REJECT"
    assert spec["max_aggregation_interval"] == 60 and "log_format" not in spec
