"""Export then import gives back the scenario: every shipped scenario, through describe-* JSON
(reference section 11) and the `netemu export` / `netemu import` commands."""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netemu.interop import describe_to_scenario, model_to_describe
from netemu.interop.export_scenario import model_to_scenario
from netemu.interop.sources import describe_data
from netemu.interop.write_yaml import dump
from netemu.model import load_model, load_model_text
from netemu.model.types import Model

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    glob.glob(str(ROOT / "scenarios/book/*.yaml"))
    + glob.glob(str(ROOT / "scenarios/labs/*/scenario.yaml"))
    + glob.glob(str(ROOT / "scenarios/labs/*/solution.yaml"))
)


def _strip(value: Any) -> Any:
    """A model with what a file position or the file itself decides taken out: positions,
    the source path, the `implicit` flag of a main route table (an imported main table is
    declared), rule order inside a security group (AWS groups rules by protocol and port;
    SG rules have no order, ref 7.x)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            if f.name in ("pos", "source", "implicit", "index"):
                continue
            out[f.name] = _strip(getattr(value, f.name))
        if type(value).__name__ == "SecurityGroup":
            out["ingress"] = sorted(map(repr, out["ingress"]))
            out["egress"] = sorted(map(repr, out["egress"]))
        return out
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_strip(v) for v in value]
    return value


def _network(model: Model) -> Any:
    """What AWS holds: not the internet hosts nor the expectations (netemu's own)."""
    own = ("expectations", "command_checks", "internet_hosts")
    return {k: v for k, v in _strip(model).items() if k not in own}


def _reimport(model: Model) -> Model:
    hosts = [(h.name, str(h.ip)) for h in model.internet_hosts.values() if not h.aws_service]
    data = describe_data(model_to_describe(model))
    scenario, notes = describe_to_scenario(data, model.name, None, hosts)
    assert [n for n in notes if n.severity != "added"] == []
    return load_model_text(dump(scenario), "reimported.yaml")[0]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: os.path.relpath(p, ROOT))
def test_import_of_the_describe_export_gives_back_the_same_model(path: str) -> None:
    """ref 11: every object, id, address and rule survives describe-* JSON and back."""
    model, _ = load_model(path)
    again = _reimport(model)
    assert _network(again) == _network(model)
    assert model_to_describe(again) == model_to_describe(model)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: os.path.relpath(p, ROOT))
def test_scenario_export_keeps_hosts_and_expectations(path: str) -> None:
    model, _ = load_model(path)
    again, _ = load_model_text(dump(model_to_scenario(model)), "exported.yaml")
    assert _strip(again) == _strip(model)


def test_shipped_scenarios_are_all_covered() -> None:
    assert len(SHIPPED) >= 28


def _netemu(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd or ROOT,
    )


def test_export_describe_writes_one_file_per_call_as_the_cli_prints_it(tmp_path: Path) -> None:
    """ref 11: `aws ec2 describe-<what> --output json` prints one object, 4-space indented."""
    out = tmp_path / "snap"
    r = _netemu("export", "scenarios/book/webdb.yaml", "--format", "describe", "-o", str(out))
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert "describe-vpcs.json" in names and "describe-instances.json" in names
    text = (out / "describe-vpcs.json").read_text()
    assert text.startswith('{\n    "Vpcs": [\n        {\n')
    vpc = json.loads(text)["Vpcs"][0]
    assert vpc["CidrBlock"] == "172.30.0.0/16" and vpc["Tags"] == [{"Key": "Name", "Value": "main"}]
    igw = json.loads((out / "describe-internet-gateways.json").read_text())
    assert igw["InternetGateways"][0]["Attachments"][0]["State"] == "available"  # ref 5.7


def test_command_line_round_trip_of_webdb(tmp_path: Path) -> None:
    out, again = tmp_path / "snap", tmp_path / "again.yaml"
    assert (
        _netemu(
            "export", "scenarios/book/webdb.yaml", "--format", "describe", "-o", str(out)
        ).returncode
        == 0
    )
    r = _netemu(
        "import",
        str(out),
        "-o",
        str(again),
        "--name",
        "webdb",
        "--expect-from",
        "scenarios/book/webdb.yaml",
    )
    assert r.returncode == 0, r.stderr
    original, _ = load_model(str(ROOT / "scenarios/book/webdb.yaml"))
    imported, _ = load_model(str(again))
    assert _strip(imported) == _strip(original)


def _members(shape: Any) -> dict[str, Any]:
    return dict(shape.members) if hasattr(shape, "members") else {}


def _conforms(value: Any, shape: Any, where: str) -> list[str]:
    """Where `value` departs from a botocore output shape (unknown keys, wrong types)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        problems = []
        members = _members(shape)
        for key, item in value.items():
            if key not in members:
                problems.append(f"{where}.{key}: not a member of {shape.name}")
            else:
                problems += _conforms(item, members[key], f"{where}.{key}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, v in enumerate(value) for p in _conforms(v, shape.member, f"{where}[{i}]")]
    expected = {"string": str, "boolean": bool, "integer": int, "long": int, "timestamp": str}
    want = expected.get(kind)
    if want is not None and not isinstance(value, want):
        return [f"{where}: {value!r} is not a {kind}"]
    return []


def test_exported_json_follows_the_ec2_service_model() -> None:
    """ref 11 cites botocore's ec2 service model: every key the export writes is a member
    of the operation's output shape, with that member's type."""
    botocore = pytest.importorskip("botocore.session")
    service = botocore.get_session().get_service_model("ec2")
    operations = {
        "describe-vpcs": "DescribeVpcs",
        "describe-subnets": "DescribeSubnets",
        "describe-route-tables": "DescribeRouteTables",
        "describe-internet-gateways": "DescribeInternetGateways",
        "describe-nat-gateways": "DescribeNatGateways",
        "describe-security-groups": "DescribeSecurityGroups",
        "describe-security-group-rules": "DescribeSecurityGroupRules",
        "describe-network-acls": "DescribeNetworkAcls",
        "describe-instances": "DescribeInstances",
        "describe-network-interfaces": "DescribeNetworkInterfaces",
        "describe-addresses": "DescribeAddresses",
        "describe-dhcp-options": "DescribeDhcpOptions",
        "describe-flow-logs": "DescribeFlowLogs",
        "describe-vpc-peering-connections": "DescribeVpcPeeringConnections",
        "describe-egress-only-internet-gateways": "DescribeEgressOnlyInternetGateways",
        "describe-managed-prefix-lists": "DescribeManagedPrefixLists",
        "get-managed-prefix-list-entries": "GetManagedPrefixListEntries",  # one per list
        "describe-transit-gateways": "DescribeTransitGateways",
        "describe-transit-gateway-vpc-attachments": "DescribeTransitGatewayVpcAttachments",
        "describe-transit-gateway-attachments": "DescribeTransitGatewayAttachments",
        "describe-transit-gateway-route-tables": "DescribeTransitGatewayRouteTables",
        # per route table, named `<call>.<tgw-rtb-id>` (interop.transit_gateway)
        "get-transit-gateway-route-table-propagations": "GetTransitGatewayRouteTablePropagations",
        "search-transit-gateway-routes": "SearchTransitGatewayRoutes",
        "describe-vpc-endpoints": "DescribeVpcEndpoints",
        "describe-prefix-lists": "DescribePrefixLists",
    }
    for path in SHIPPED:
        calls = model_to_describe(load_model(path)[0])
        for call, doc in calls.items():
            name = operations.get(call.split(".")[0], "DescribeVpcAttribute")
            shape = service.operation_model(name).output_shape
            assert _conforms(doc, shape, call) == [], path


def test_export_scenario_and_terraform_through_the_command(tmp_path: Path) -> None:
    out = tmp_path / "again.yaml"
    r = _netemu("export", "scenarios/book/webdb.yaml", "--format", "scenario", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_text().startswith(
        "# Exported by `netemu export` from scenarios/book/webdb.yaml."
    )
    original, _ = load_model(str(ROOT / "scenarios/book/webdb.yaml"))
    assert _strip(load_model(str(out))[0]) == _strip(original)
    bad = _netemu("export", "scenarios/book/webdb.yaml", "--format", "describe", "-o", str(out))
    assert bad.returncode == 2 and "cannot make folder" in bad.stderr  # a file is in the way


def test_describe_to_model_gives_the_model_in_one_call() -> None:
    """The entry point an EC2 endpoint uses: describe-* data straight to a Model."""
    from netemu.interop import describe_to_model

    original, _ = load_model(str(ROOT / "scenarios/book/webdb.yaml"))
    hosts = [(h.name, str(h.ip)) for h in original.internet_hosts.values()]
    model, notes = describe_to_model(
        describe_data(model_to_describe(original)), "webdb", None, hosts
    )
    assert _network(model) == _network(original)
    assert [n.severity for n in notes] == ["added", "added"]
