"""The EC2 endpoint's request rules without a kernel: moto answers, the journal keeps every
acknowledged call, a refused call changes nothing, and Reachability Analyzer's calls come
back in AWS's shapes (the kernel side is in tests/kernel/test_serve.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netemu.model import load_model
from netemu.model.types import Model
from netemu.probe.engine import ProbeResult, ProbeSpec
from netemu.probe.reason import Reason
from netemu.serve import aws
from netemu.serve.account import Account
from netemu.serve.app import Endpoint
from netemu.serve.insights import Insights
from netemu.serve.journal import Journal

ROOT = Path(__file__).resolve().parents[2]
V = "Version=2016-11-15"


def _vpc_ids(xml: str) -> list[str]:
    return re.findall(r"<vpcId>(vpc-[0-9a-f]+)</vpcId>", xml)


@pytest.fixture
def account() -> Account:
    a = Account("us-east-1")
    yield a
    a.close()


class Stub:
    """Kernel work that does nothing, or refuses with `error`."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.forgotten = 0

    def __call__(self, action: str | None = None) -> None:
        if self.error:
            raise self.error

    def forget(self) -> None:
        self.forgotten += 1


def endpoint(account: Account, tmp_path: Path, reconcile: Stub | None = None, own=None) -> Endpoint:  # type: ignore[no-untyped-def]
    return Endpoint(account, Journal(str(tmp_path / "journal.jsonl")), reconcile or Stub(), own)


def test_region_starts_with_its_default_vpc(account: Account, tmp_path: Path) -> None:
    """A region has a default VPC from the start (ref 3.1)."""
    ep = endpoint(account, tmp_path)
    status, _, body = ep.handle(f"Action=DescribeVpcs&{V}")
    assert status == 200
    assert "<isDefault>true</isDefault>" in body
    assert "172.31.0.0/16" in body


def test_acknowledged_call_is_journalled_and_reads_are_not(
    account: Account, tmp_path: Path
) -> None:
    ep = endpoint(account, tmp_path)
    ep.handle(f"Action=DescribeVpcs&{V}")
    status, _, _ = ep.handle(f"Action=CreateVpc&CidrBlock=10.0.0.0/16&{V}")
    assert status == 200
    assert [e.seq for e in Journal(str(tmp_path / "journal.jsonl")).entries] == [1]


def test_replay_gives_every_object_its_acknowledged_id(account: Account, tmp_path: Path) -> None:
    """After a crash the account is rebuilt from the journal; IDs a client holds stay valid."""
    ep = endpoint(account, tmp_path)
    created = _vpc_ids(ep.handle(f"Action=CreateVpc&CidrBlock=10.0.0.0/16&{V}")[2])
    ep.handle(f"Action=DescribeVpcs&{V}")  # reads between writes must not disturb the IDs
    created += _vpc_ids(ep.handle(f"Action=CreateVpc&CidrBlock=10.1.0.0/16&{V}")[2])
    before = sorted(_vpc_ids(ep.handle(f"Action=DescribeVpcs&{V}")[2]))
    account.replay(Journal(str(tmp_path / "journal.jsonl")).entries)
    after = sorted(_vpc_ids(ep.handle(f"Action=DescribeVpcs&{V}")[2]))
    assert after == before
    assert set(created) <= set(after)


def test_moto_refusal_is_the_aws_error_and_nothing_is_journalled(
    account: Account, tmp_path: Path
) -> None:
    ep = endpoint(account, tmp_path)
    vpc = _vpc_ids(ep.handle(f"Action=CreateVpc&CidrBlock=10.0.0.0/16&{V}")[2])[0]
    status, _, body = ep.handle(f"Action=CreateSubnet&VpcId={vpc}&CidrBlock=10.9.0.0/24&{V}")
    assert status == 400
    assert "<Code>InvalidSubnet.Range</Code>" in body
    assert len(ep.journal.entries) == 1


def test_refused_by_netemu_rolls_the_account_back(account: Account, tmp_path: Path) -> None:
    """A call the kernel side refuses is not acknowledged: the account is as before."""

    refuse = Stub(aws.AwsError("InvalidParameterValue", "netemu cannot build this"))
    ep = endpoint(account, tmp_path, refuse)
    before = sorted(_vpc_ids(ep.handle(f"Action=DescribeVpcs&{V}")[2]))
    status, _, body = ep.handle(f"Action=CreateVpc&CidrBlock=10.0.0.0/16&{V}")
    assert status == 400
    assert "<Code>InvalidParameterValue</Code>" in body
    assert sorted(_vpc_ids(ep.handle(f"Action=DescribeVpcs&{V}")[2])) == before
    assert ep.journal.entries == []
    assert refuse.forgotten == 1


def test_unexpected_failure_is_an_aws_internal_error_not_a_traceback(
    account: Account, tmp_path: Path
) -> None:
    status, _, body = endpoint(account, tmp_path, Stub(RuntimeError("boom"))).handle(
        f"Action=CreateVpc&CidrBlock=10.0.0.0/16&{V}"
    )
    assert status == 500
    assert "<Code>InternalError</Code>" in body
    assert "Traceback" not in body


def test_request_without_action_is_refused(account: Account, tmp_path: Path) -> None:
    status, _, body = endpoint(account, tmp_path).handle(V)
    assert status == 400
    assert "<Code>MissingAction</Code>" in body


def _webdb() -> Model:
    model, _ = load_model(str(ROOT / "scenarios/book/webdb.yaml"))
    return model


def _blocked(model: Model, spec: ProbeSpec) -> ProbeResult:
    reason = Reason(
        "SUBNET_ACL_RESTRICTION", "ingress", "network_acl:main-default", "*", "request", "test"
    )
    hops = ["internet_host:internet", "internet", "internet_gateway:igw"]
    return ProbeResult(spec, "198.51.100.10", "203.0.113.1", "blocked", None, None, reason, hops, 1)


def test_insights_analysis_reports_the_probe_in_aws_shapes(
    account: Account, tmp_path: Path
) -> None:
    """StartNetworkInsightsAnalysis answers with NetworkPathFound and an Explanation naming
    the blocking ACL by its ID (ref 13)."""
    model = _webdb()
    seen: list[ProbeSpec] = []

    def prober(m: Model, spec: ProbeSpec) -> ProbeResult:
        seen.append(spec)
        return _blocked(m, spec)

    insights = Insights(str(tmp_path / "insights.json"), "us-east-1", lambda: model, prober)
    ep = endpoint(account, tmp_path, own=insights.handlers())
    igw = model.internet_gateways["igw"].id
    web = model.instances["web"].id
    status, _, body = ep.handle(
        f"Action=CreateNetworkInsightsPath&Source={igw}&SourceIp=198.51.100.10"
        f"&Destination={web}&Protocol=tcp&DestinationPort=22&{V}"
    )
    assert status == 200, body
    path_id = re.findall(r"<networkInsightsPathId>(nip-[0-9a-f]+)<", body)[0]
    status, _, body = ep.handle(
        f"Action=StartNetworkInsightsAnalysis&NetworkInsightsPathId={path_id}&{V}"
    )
    assert status == 200, body
    assert seen == [ProbeSpec("internet", "web", "tcp", 22)]
    assert "<networkPathFound>false</networkPathFound>" in body
    assert "<explanationCode>SUBNET_ACL_RESTRICTION</explanationCode>" in body
    assert model.network_acls["main-default"].id in body
    # Kept across a restart of the endpoint.
    again = Insights(str(tmp_path / "insights.json"), "us-east-1", lambda: model, prober)
    assert path_id in again.paths and len(again.analyses) == 1


def test_insights_unknown_path_is_not_found(account: Account, tmp_path: Path) -> None:
    insights = Insights(str(tmp_path / "i.json"), "us-east-1", _webdb, _blocked)
    status, _, body = endpoint(account, tmp_path, own=insights.handlers()).handle(
        f"Action=StartNetworkInsightsAnalysis&NetworkInsightsPathId=nip-0&{V}"
    )
    assert status == 400
    assert "InvalidNetworkInsightsPathId.NotFound" in body


def test_ids_are_the_same_in_a_fresh_process(account: Account) -> None:
    """A restarted endpoint is a new process: moto's one-time initialisation must not shift
    the identifiers a replay hands out."""
    import subprocess
    import sys

    code = (
        "import re; from netemu.serve.account import Account; "
        "a = Account('ap-northeast-1'); "
        "print(re.findall('<vpcId>(vpc-[0-9a-f]+)<', "
        "a.call('Action=CreateVpc&CidrBlock=10.0.0.0/16&Version=2016-11-15', 1)[2])[0])"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    here = Account("ap-northeast-1")
    try:
        again = _vpc_ids(here.call(f"Action=CreateVpc&CidrBlock=10.0.0.0/16&{V}", 1)[2])[0]
    finally:
        here.close()
    assert fresh == again
