"""`netemu serve` end to end: boto3 and the aws CLI build the book's web + DB VPC, real
packets answer netemu probe and Reachability Analyzer's API, and every acknowledged call
survives kill -9 (scenario-format.md 6.1)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from netemu.serve.book import build_webdb

NAME = "sv1"


def netemu(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Served:
    def __init__(self, state: Path, name: str = NAME) -> None:
        self.state = state
        self.name = name
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "netemu.cli",
                "serve",
                "--port",
                "0",
                "--name",
                self.name,
                "--region",
                "ap-northeast-1",
                "--state",
                str(self.state),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout
        line = self.proc.stdout.readline()
        if not line.startswith("serving EC2 API on "):
            self.proc.kill()
            raise AssertionError(f"serve did not start: {line}{self.proc.stderr.read()}")
        self.url = line.split(" on ", 1)[1].strip()

    def kill9(self) -> None:
        assert self.proc
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def client(self) -> object:
        return boto3.client(
            "ec2",
            endpoint_url=self.url,
            region_name="ap-northeast-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@contextlib.contextmanager
def serving(state: Path, name: str = NAME) -> Iterator[Served]:
    """`netemu serve` for scenario `name`, stopped and its scenario taken down after."""
    s = Served(state, name)
    s.start()
    try:
        yield s
    finally:
        s.stop()
        netemu("down", name)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(tmp_path / "state") as s:
        yield s


def _probe(*args: str) -> dict[str, object]:
    out = netemu("probe", "-s", NAME, *args, "--json")
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_book_vpc_built_through_the_api_is_enforced_by_real_packets(served: Served) -> None:
    """The book's VPC made with boto3: the internet reaches web's SSH through its public IP,
    the private db is unreachable from the internet (ref 5.3), web reaches db (default SG
    self-reference, ref 7.7), db reaches the internet through the NAT gateway (ref 6.7)."""
    ids = build_webdb(served.client())
    assert _probe("internet", "web", "--tcp", "22")["result"] == "reachable"
    blocked = _probe("internet", "db", "--tcp", "22")
    assert blocked["result"] == "blocked"
    assert _probe("web", "db", "--tcp", "3306")["result"] == "reachable"
    out = _probe(ids["db"], "internet", "--tcp", "80")  # instances by ID as well as by name
    assert out["result"] == "reachable"
    assert netemu("verify", NAME).returncode == 0


def test_reachability_analyzer_api_is_answered_by_a_probe(served: Served) -> None:
    """CreateNetworkInsightsPath + StartNetworkInsightsAnalysis give NetworkPathFound and, when
    blocked, an Explanation with the Reachability Analyzer code (ref 13.1, 13.2)."""
    ec2 = served.client()
    ids = build_webdb(ec2)
    ok = ec2.create_network_insights_path(  # type: ignore[attr-defined]
        Source=ids["igw"],
        SourceIp="198.51.100.10",
        Destination=ids["web"],
        Protocol="tcp",
        DestinationPort=22,
    )["NetworkInsightsPath"]["NetworkInsightsPathId"]
    no = ec2.create_network_insights_path(  # type: ignore[attr-defined]
        Source=ids["igw"],
        SourceIp="198.51.100.10",
        Destination=ids["db"],
        Protocol="tcp",
        DestinationPort=22,
    )["NetworkInsightsPath"]["NetworkInsightsPathId"]
    a = ec2.start_network_insights_analysis(NetworkInsightsPathId=ok)  # type: ignore[attr-defined]
    b = ec2.start_network_insights_analysis(NetworkInsightsPathId=no)  # type: ignore[attr-defined]
    got = {
        x["NetworkInsightsPathId"]: x
        for x in ec2.describe_network_insights_analyses()["NetworkInsightsAnalyses"]  # type: ignore[attr-defined]
    }
    assert got[ok]["NetworkPathFound"] is True
    assert got[ok]["ForwardPathComponents"]
    assert got[no]["NetworkPathFound"] is False
    assert got[no]["Explanations"][0]["ExplanationCode"]
    assert (
        a["NetworkInsightsAnalysis"]["Status"]
        == b["NetworkInsightsAnalysis"]["Status"]
        == "succeeded"
    )


def test_aws_errors_come_back_as_aws_errors(served: Served) -> None:
    """InvalidSubnet.Range for a subnet outside its VPC (ref 2.1), nothing changed."""
    ec2 = served.client()
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]  # type: ignore[attr-defined]
    with pytest.raises(ClientError) as e:
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.99.0.0/24")  # type: ignore[attr-defined]
    assert e.value.response["Error"]["Code"] == "InvalidSubnet.Range"
    with pytest.raises(ClientError) as e:
        ec2.delete_vpc(VpcId="vpc-00000000")  # type: ignore[attr-defined]
    assert e.value.response["Error"]["Code"].startswith("InvalidVpcID")


def test_nat_gateway_without_internet_gateway_fails(served: Served) -> None:
    """A public NAT gateway in a VPC with no internet gateway ends `failed` (ref 6.2, 6.3)."""
    ec2 = served.client()
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]  # type: ignore[attr-defined]
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.0.0/24")["Subnet"]["SubnetId"]  # type: ignore[attr-defined]
    eip = ec2.allocate_address(Domain="vpc")  # type: ignore[attr-defined]
    assert eip["PublicIp"].startswith(("203.0.113.", "192.0.2."))  # documentation ranges
    nat = ec2.create_nat_gateway(SubnetId=sub, AllocationId=eip["AllocationId"])["NatGateway"]  # type: ignore[attr-defined]
    assert nat["State"] == "pending"
    got = ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]  # type: ignore[attr-defined]
    assert got["State"] == "failed"
    assert "no Internet gateway" in got["FailureMessage"]


def test_acknowledged_calls_survive_kill_9(served: Served) -> None:
    """Every acknowledged call is on disk before its response: after kill -9 and a restart
    the account (IDs included) and the kernel are as they were, and verify passes."""
    ec2 = served.client()
    ids = build_webdb(ec2)
    before = ec2.describe_instances()  # type: ignore[attr-defined]
    served.kill9()
    served.start()
    after = served.client().describe_instances()  # type: ignore[attr-defined]
    ids_of = lambda d: sorted(  # noqa: E731
        i["InstanceId"] for r in d["Reservations"] for i in r["Instances"]
    )
    assert ids_of(after) == ids_of(before)
    assert ids["web"] in ids_of(after)
    assert netemu("verify", NAME).returncode == 0


def test_aws_cli_drives_the_endpoint(served: Served) -> None:
    """The `aws` CLI from PyPI, pointed at the endpoint, creates and lists (ref 11.1)."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
    }
    aws = [sys.executable, "-m", "awscli", "ec2", "--endpoint-url", served.url, "--output", "json"]
    made = subprocess.run(
        [*aws, "create-vpc", "--cidr-block", "10.40.0.0/16"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    vpc = json.loads(made.stdout)["Vpc"]["VpcId"]
    listed = subprocess.run(
        [*aws, "describe-vpcs"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert vpc in listed.stdout
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and NAME not in netemu("status").stdout:
        time.sleep(0.2)
    assert NAME in netemu("status").stdout


def test_key_pair_logs_in_and_user_data_runs_once(served: Served, tmp_path: Path) -> None:
    """RunInstances with KeyName: the key pair's private key logs in over real ssh from the
    internet (ref 9.12); its UserData runs at launch and its output is kept (netemu logs)."""
    ec2 = served.client()
    ids = build_webdb(ec2)
    key = ec2.create_key_pair(KeyName="book key")  # type: ignore[attr-defined]
    pem = tmp_path / "book.pem"
    pem.write_text(key["KeyMaterial"])
    pem.chmod(0o600)
    os.chmod(tmp_path, 0o755)
    script = "#!/bin/sh\necho hello-from-user-data\n"  # boto3 base64-encodes UserData
    run = ec2.run_instances(  # type: ignore[attr-defined]
        ImageId="ami-12c6146b",
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=ids["public"],
        KeyName="book key",
        UserData=script,
        SecurityGroupIds=[ids["ssh"]],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "app"}]}],
    )["Instances"][0]
    public = ec2.describe_instances(InstanceIds=[run["InstanceId"]])[  # type: ignore[attr-defined]
        "Reservations"
    ][0]["Instances"][0]["PublicIpAddress"]
    login = netemu(
        "exec",
        "-s",
        NAME,
        "internet",
        "--",
        "ssh",
        "-i",
        str(pem),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=5",
        f"root@{public}",
        "hostname",
    )
    assert login.returncode == 0, login.stderr
    logs = netemu("logs", "-s", NAME, "app")
    assert "hello-from-user-data" in logs.stdout, logs.stdout + logs.stderr


def test_instance_lifecycle_and_attributes_through_the_api(served: Served) -> None:
    """StopInstances stops the instance in the kernel (a probe then meets BAD_STATE, ref
    9.10) and keeps its private address (9.2); StartInstances brings it back;
    ModifyInstanceAttribute turns the source/destination check off (9.9) and changes its
    groups; TerminateInstances removes it."""
    from netemu import lifecycle

    ec2 = served.client()
    ids = build_webdb(ec2)
    ec2.stop_instances(InstanceIds=[ids["db"]])  # type: ignore[attr-defined]
    stopped = _probe("web", "db", "--tcp", "22")
    assert stopped["result"] == "blocked"
    assert stopped["reason"]["code"] == "BAD_STATE"  # type: ignore[index]
    ec2.start_instances(InstanceIds=[ids["db"]])  # type: ignore[attr-defined]
    assert _probe("web", "db", "--tcp", "22")["result"] == "reachable"
    assert str(lifecycle.running_model(NAME).instances["db"].private_ip) == "172.30.1.10"
    ec2.modify_instance_attribute(InstanceId=ids["db"], SourceDestCheck={"Value": False})  # type: ignore[attr-defined]
    assert lifecycle.running_model(NAME).instances["db"].eni.source_dest_check is False
    ec2.modify_instance_attribute(InstanceId=ids["db"], Groups=[ids["ssh"]])  # type: ignore[attr-defined]
    db = lifecycle.running_model(NAME).instances["db"]
    assert db.eni.security_groups == (ids["ssh"],)
    assert _probe("web", "db", "--tcp", "3306")["result"] == "blocked"  # only ssh admitted now
    ec2.terminate_instances(InstanceIds=[ids["db"]])  # type: ignore[attr-defined]
    assert "db" not in lifecycle.running_model(NAME).instances
    assert netemu("verify", NAME).returncode == 0
