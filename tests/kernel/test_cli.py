"""The command line as users and CI drive it: exit codes, JSON, JUnit (scenario-format.md 4, 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from scenarios import vpc

GOOD_EXPECT = """
expect:
  - {from: client, to: web, tcp: 22, result: reachable}
  - {from: client, to: db, tcp: 22, result: blocked, reason: IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS}
  - {from: web, to: client, tcp: 80, result: reachable, seen_source: public_ip}
"""
BAD_EXPECT = """
expect:
  - {from: client, to: web, tcp: 22, result: reachable}
  - {from: client, to: db, tcp: 22, result: reachable}
"""


def netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(tmp_path: Path, text: str, name: str = "clitest.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    os.chmod(tmp_path, 0o755)
    os.chmod(path, 0o644)
    return str(path)


def test_test_passes_with_exit_0_and_json(tmp_path: Path) -> None:
    path = write(tmp_path, vpc(name="clitest") + GOOD_EXPECT)
    out = netemu("test", path, "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["scenario"], doc["passed"], doc["failed"]) == ("clitest", 3, 0)
    first = doc["results"][0]
    for key in (
        "from",
        "to",
        "protocol",
        "port",
        "src_ip",
        "dst_ip",
        "result",
        "seen_source",
        "reason",
        "hops",
        "elapsed_ms",
        "expected",
        "ok",
    ):
        assert key in first
    blocked = doc["results"][1]["reason"]
    assert set(blocked) >= {"code", "direction", "component", "rule", "leg"}
    assert "clitest" not in netemu("status").stdout


def test_failed_expectation_exits_1_with_junit(tmp_path: Path) -> None:
    path = write(tmp_path, vpc(name="clitest") + BAD_EXPECT)
    junit = tmp_path / "results.xml"
    out = netemu("test", path, "--junit", str(junit))
    assert out.returncode == 1
    assert "FAIL  client -> db tcp/22 reachable" in out.stdout
    assert "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS" in out.stdout
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "client -> web tcp/22 reachable",
        "client -> db tcp/22 reachable",
    ]
    assert all(c.get("classname") and c.get("time") for c in cases)
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message")


def test_invalid_scenario_exits_2_and_touches_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, vpc(name="clitest").replace("172.30.1.0/24", "172.31.1.0/24"))
    before = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    out = netemu("test", path)
    assert out.returncode == 2
    assert f"{path}:" in out.stderr and ": error: " in out.stderr
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout == before


def test_not_root_exits_3(tmp_path: Path) -> None:
    """Without root netemu refuses (exit 3) instead of running with filtering missing."""
    path = write(tmp_path, vpc(name="clitest"))
    from netemu.cli import main  # imported as root: the interpreter may live under /root

    read, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops root, then runs the real command line
        os.close(read)
        sys.stderr = os.fdopen(write_end, "w")  # pytest has replaced the real one
        os.setgid(65534)
        os.setuid(65534)
        code = main(["up", path])
        sys.stderr.flush()
        os._exit(code)
    os.close(write_end)
    err = os.read(read, 4096).decode()
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 3
    assert "root" in err


def test_up_status_probe_exec_down(tmp_path: Path) -> None:
    path = write(tmp_path, vpc(name="clitest"))
    up = netemu("up", path)
    assert up.returncode == 0, up.stderr
    assert "web" in up.stdout and "203.0.113." in up.stdout
    try:
        again = netemu("up", path)
        assert again.returncode == 2 and "already up" in again.stderr
        status = json.loads(netemu("status", "clitest", "--json").stdout)
        assert status["scenarios"][0]["instances"]["web"]["private_ip"] == "172.30.0.10"
        probe = netemu("probe", "-s", "clitest", "client", "web", "--tcp", "22", "--json")
        assert probe.returncode == 0 and json.loads(probe.stdout)["result"] == "reachable"
        blocked = netemu("probe", "-s", "clitest", "client", "db", "--tcp", "22")
        assert (
            blocked.returncode == 1 and "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS" in blocked.stdout
        )
        ex = netemu("exec", "-s", "clitest", "web", "--", "ip", "-4", "-o", "addr", "show", "eth0")
        assert ex.returncode == 0 and "172.30.0.10" in ex.stdout
    finally:
        down = netemu("down", path)
    assert down.returncode == 0
    assert netemu("down", "clitest").returncode == 2  # not up any more


def test_stop_keeps_private_address_and_start_gives_new_public_ip(tmp_path: Path) -> None:
    """9.2, 9.3: the private address stays; an auto public IP is released at stop and a new
    one given at start; an elastic IP stays; a stopped instance answers nothing."""
    text = vpc(name="clitest", db_extra=", elastic_ip: 198.51.100.77")
    path = write(tmp_path, text)
    assert netemu("up", path).returncode == 0
    try:

        def status() -> dict[str, dict[str, str]]:
            doc = json.loads(netemu("status", "clitest", "--json").stdout)
            return doc["scenarios"][0]["instances"]  # type: ignore[no-any-return]

        first = status()["web"]["public_ip"]
        assert netemu("stop", "-s", "clitest", "web").returncode == 0
        stopped = status()["web"]
        assert (stopped["state"], stopped["public_ip"], stopped["private_ip"]) == (
            "stopped",
            None,
            "172.30.0.10",
        )
        probe = json.loads(
            netemu("probe", "-s", "clitest", "app", "web", "--tcp", "22", "--json").stdout
        )
        assert probe["reason"]["code"] == "BAD_STATE"
        gone = netemu("probe", "-s", "clitest", "client", first, "--tcp", "22", "--json")
        assert json.loads(gone.stdout)["result"] == "blocked"
        assert netemu("start", "-s", "clitest", "web").returncode == 0
        started = status()["web"]
        assert started["state"] == "running" and started["private_ip"] == "172.30.0.10"
        assert started["public_ip"] not in (None, first)
        back = json.loads(
            netemu("probe", "-s", "clitest", "client", "web", "--tcp", "22", "--json").stdout
        )
        assert (back["result"], back["dst_ip"]) == ("reachable", started["public_ip"])
        # The instance learns its new public address from the metadata service (10.6).
        imds = "http://169.254.169.254/latest"
        ask = (
            f"t=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' {imds}/api/token);"
            f' curl -s -H "X-aws-ec2-metadata-token: $t" {imds}/meta-data/public-ipv4'
        )
        seen = netemu("exec", "-s", "clitest", "web", "--", "sh", "-c", ask).stdout.strip()
        assert seen == started["public_ip"]
        assert netemu("stop", "-s", "clitest", "db").returncode == 0
        assert netemu("start", "-s", "clitest", "db").returncode == 0
        assert status()["db"]["public_ip"] == "198.51.100.77"
    finally:
        assert netemu("down", "clitest").returncode == 0


def test_a_namespace_name_already_taken_is_refused_before_building(tmp_path: Path) -> None:
    """Scenario `ka` with instance `i-b` and scenario `ka-i` with instance `b` would share
    the namespace ne-ka-i-i-b; the second `up` is refused, the first keeps running."""
    first = "name: ka\nvpcs: {v: {cidr: 10.0.0.0/16}}\nsubnets: {s: {vpc: v, cidr: 10.0.0.0/24}}\ninstances: {i-b: {subnet: s}}\n"
    second = "name: ka-i\nvpcs: {v: {cidr: 10.0.0.0/16}}\nsubnets: {s: {vpc: v, cidr: 10.0.0.0/24}}\ninstances: {b: {subnet: s}}\n"
    assert netemu("up", write(tmp_path, first, "ka.yaml")).returncode == 0
    try:
        out = netemu("up", write(tmp_path, second, "kai.yaml"))
        assert out.returncode == 2
        assert "ne-ka-i-i-b already exists (used by scenario ka)" in out.stderr
        assert "ka-i" not in netemu("status").stdout.split()
        assert netemu("exec", "-s", "ka", "i-b", "--", "true").returncode == 0
    finally:
        netemu("down", "ka")
