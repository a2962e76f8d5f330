"""Shared pieces of the `netemu serve` durability and load tests: a serve process this test
started (killed by its PID only), boto3 clients that never retry (a retry would hide which
call a kill cut short), the account they build, and the two views compared after every
restart: what describe-* answers, and what the kernel holds (the running scenario, which
`netemu verify` proves the kernel matches, exported as describe-* JSON)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

NAME = "rl-sd"  # the scenario of these tests (relkit's leak check looks for `rl-...`)
REGION = "ap-northeast-1"
VPC_CIDR = "10.77.0.0/16"
ACL_CIDR = "10.0.0.0/8"
NETEMU = [sys.executable, "-m", "netemu.cli"]
NO_RETRY = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=120)

Ec2 = Any  # a boto3 EC2 client (boto3 has no type stubs here)


def netemu(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NETEMU, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


class Serve:
    """`netemu serve` on 127.0.0.1 with a port of its choosing; its request log goes to a
    file (a pipe nobody reads would fill up and stall it under load)."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.log = state.parent / "serve.log"
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.restarts: list[float] = []  # seconds from start to the ready line

    def start(self) -> None:
        t0 = time.monotonic()
        self._spawn()
        assert self.proc and self.proc.stdout
        line = self.proc.stdout.readline()
        if not line.startswith("serving EC2 API on "):
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"serve did not start: {line}{self.log.read_text()[-3000:]}")
        self.url = line.split(" on ", 1)[1].strip()
        assert self.url.startswith("http://127.0.0.1:")
        self.restarts.append(time.monotonic() - t0)

    def start_killed(self, delay: float) -> bool:
        """Start serve and SIGKILL it `delay` seconds later, ready or not; whether the kill
        came before it was ready (in the middle of its replay or of its kernel work)."""
        self._spawn()
        assert self.proc and self.proc.stdout
        timer = threading.Timer(delay, os.kill, (self.proc.pid, signal.SIGKILL))
        timer.start()
        line = self.proc.stdout.readline()
        timer.join()
        self.proc.wait()
        return not line.startswith("serving EC2 API on ")

    def _spawn(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [
                    *NETEMU, "serve", "--host", "127.0.0.1", "--port", "0", "--name", NAME,
                    "--region", REGION, "--state", str(self.state),
                ],
                stdout=subprocess.PIPE, stderr=log, text=True,
            )  # fmt: skip

    def kill9(self) -> None:
        """SIGKILL to the serve process this object started (by its PID), at once."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()

    def client(self) -> Ec2:
        return boto3.client(
            "ec2",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=NO_RETRY,
        )


def build(ec2: Ec2) -> dict[str, str]:
    """A VPC whose security group, network ACL and route table reach the kernel: one subnet
    with its own route table (via an internet gateway) and one instance in group `web`."""
    vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)
    sg = ec2.create_security_group(GroupName="web", Description="durability", VpcId=vpc)
    acl = ec2.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}]
    )["NetworkAcls"][0]["NetworkAclId"]
    instance = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        SubnetId=subnet, PrivateIpAddress="10.77.1.10", SecurityGroupIds=[sg["GroupId"]],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "w"}]}],
    )["Instances"][0]["InstanceId"]  # fmt: skip
    return {
        "vpc": vpc, "subnet": subnet, "igw": igw, "rtb": rtb, "sg": sg["GroupId"],
        "acl": acl, "instance": instance,
    }  # fmt: skip


# --- the two views ------------------------------------------------------------------------

View = dict[str, frozenset[tuple[Any, ...]]]


def normalize(describe: dict[str, list[dict[str, Any]]], ids: dict[str, str]) -> View:
    """What the tests change, in one comparable shape: the VPC's security groups' rules, its
    network ACLs' entries and its route tables' routes, keyed by their AWS IDs."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    for g in describe["SecurityGroups"]:
        if g.get("VpcId") != ids["vpc"]:
            continue
        rules = out.setdefault(g["GroupId"], set())
        for way, key in (("in", "IpPermissions"), ("out", "IpPermissionsEgress")):
            for p in g.get(key, []):
                ports = (p.get("FromPort", -1), p.get("ToPort", -1))
                if p["IpProtocol"] == "-1":
                    ports = (-1, -1)
                peers = [r["CidrIp"] for r in p.get("IpRanges", [])]
                peers += [r["CidrIpv6"] for r in p.get("Ipv6Ranges", [])]
                peers += [r["GroupId"] for r in p.get("UserIdGroupPairs", [])]
                rules |= {(way, p["IpProtocol"], *ports, peer) for peer in peers}
    for a in describe["NetworkAcls"]:
        if a.get("VpcId") != ids["vpc"]:
            continue
        entries = out.setdefault(a["NetworkAclId"], set())
        for e in a.get("Entries", []):
            if e["RuleNumber"] == 32767 or "CidrBlock" not in e:
                continue  # the `*` rules, and IPv6 ones (none here)
            rng = e.get("PortRange", {})
            ports = (rng.get("From", -1), rng.get("To", -1)) if e["Protocol"] != "-1" else (-1, -1)
            entries.add(
                (e["RuleNumber"], e["Egress"], str(e["Protocol"]), e["RuleAction"],
                 e["CidrBlock"], *ports)
            )  # fmt: skip
        for assoc in a.get("Associations", []):
            entries.add(("associated", assoc["SubnetId"]))
    for t in describe["RouteTables"]:
        if t.get("VpcId") != ids["vpc"]:
            continue
        routes = out.setdefault(t["RouteTableId"], set())
        for r in t.get("Routes", []):
            if "DestinationCidrBlock" not in r:
                continue
            target = r.get("GatewayId") or r.get("NatGatewayId") or r.get("InstanceId")
            routes.add((r["DestinationCidrBlock"], target))
        for assoc in t.get("Associations", []):
            if assoc.get("SubnetId"):
                routes.add(("associated", assoc["SubnetId"]))
    return {k: frozenset(v) for k, v in out.items()}


def described(ec2: Ec2, ids: dict[str, str]) -> View:
    """The account as the endpoint describes it."""
    return normalize(
        {
            "SecurityGroups": ec2.describe_security_groups()["SecurityGroups"],
            "NetworkAcls": ec2.describe_network_acls()["NetworkAcls"],
            "RouteTables": ec2.describe_route_tables()["RouteTables"],
        },
        ids,
    )


def in_kernel(ids: dict[str, str]) -> View:
    """The account as the kernel holds it: the running scenario (what `netemu verify` checks
    the kernel against) as describe-* JSON."""
    from netemu import lifecycle
    from netemu.interop.export_describe import model_to_describe

    d = model_to_describe(lifecycle.running_model(NAME))
    return normalize(
        {
            "SecurityGroups": d["describe-security-groups"]["SecurityGroups"],
            "NetworkAcls": d["describe-network-acls"]["NetworkAcls"],
            "RouteTables": d["describe-route-tables"]["RouteTables"],
        },
        ids,
    )


def nft_ports(ids: dict[str, str]) -> str:
    """Every nftables ruleset of the account's namespaces, as text (for spot checks that a
    port reached a real rule)."""
    from netemu.driver import netns

    out = []
    for ns in netns.list_names(f"ne-{NAME}-"):
        run = subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "list", "ruleset"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        out.append(run.stdout)
    return "\n".join(out)


def flush_rules() -> str:
    """Remove every nftables rule of the first namespace of the account that has some (what
    a change cut short between two namespaces can leave); that namespace."""
    from netemu.driver import netns

    for ns in netns.list_names(f"ne-{NAME}-"):
        listed = subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "list", "ruleset"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if "chain" in listed.stdout:
            subprocess.run(["ip", "netns", "exec", ns, "nft", "flush", "ruleset"], check=True)
            return ns
    raise AssertionError("no namespace of the account has nftables rules")


def startups(serve: Serve) -> list[str]:
    """serve's own lines about its restarts: calls replayed, how the kernel was brought back."""
    return [line for line in serve.log.read_text().splitlines() if line.startswith("netemu serve:")]


def verify() -> list[str]:
    """What `netemu verify NAME` reports (its code, in this process: no interpreter start)."""
    from netemu import lifecycle
    from netemu import verify as v
    from netemu.driver import state as st
    from netemu.render import render

    state = st.load(NAME)
    model = lifecycle.running_model(NAME)
    return [str(d) for d in v.verify(model, render(model), state.pids if state else [])]
