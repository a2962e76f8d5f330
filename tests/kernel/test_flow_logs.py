"""VPC Flow Logs from real packets (reference 12): AWS's own examples, reproduced."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from netemu.driver.state import state_dir
from netemu.flowlogs import records
from netemu.testing import Running, running_text
from scenarios import vpc

ACL_NO_ICMP_OUT = (
    "  guard:\n    vpc: main\n    ingress:\n"
    "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
    "    egress:\n"
    "      - {rule: 100, protocol: tcp, ports: 0-65535, cidr: 0.0.0.0/0, action: allow}\n"
    "      - {rule: 110, protocol: udp, ports: 0-65535, cidr: 0.0.0.0/0, action: allow}\n"
)
SSH_ONLY = (
    "  sshonly:\n    vpc: main\n    ingress:\n      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}\n"
)
FLOW_LOGS = "flow_logs:\n  all: {resource: main, traffic_type: ALL, max_aggregation_interval: 1}\n"


def settled(s: Running) -> list[dict[str, Any]]:
    """Every record with traffic once the current window has closed (interval 1 s)."""
    time.sleep(2.2)
    path = Path(state_dir(s.model.name)) / records.RECORDS
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    return [r for r in rows if r["log-status"] == "OK"]


def on(rows: list[dict[str, Any]], s: Running, owner: str, proto: int) -> list[tuple[Any, ...]]:
    eni = (s.model.instances.get(owner) or s.model.nat_gateways[owner]).eni.id
    return sorted(
        (r["action"], r["flow-direction"], r["srcaddr"], r["dstaddr"], r["packets"])
        for r in rows
        if r["interface-id"] == eni and r["protocol"] == proto
    )


def test_sg_allows_acl_blocks_the_reply_gives_accept_then_reject() -> None:
    """12.4: ping in, SG allows ICMP in, the ACL allows it in but not out -> one ACCEPT
    record for the request and one REJECT for the reply (12.3: the record does not say
    which control rejected)."""
    text = vpc(name="fla", acls=ACL_NO_ICMP_OUT, public_extra=", network_acl: guard")
    with running_text(text + FLOW_LOGS) as s:
        assert s.probe("client", "web", icmp=True).result == "blocked"
        rows = settled(s)
    assert on(rows, s, "web", 1) == [
        ("ACCEPT", "ingress", "198.51.100.10", "172.30.0.10", 1),
        ("REJECT", "egress", "172.30.0.10", "198.51.100.10", 1),
    ]


def test_sg_blocks_gives_one_reject() -> None:
    """12.4: the SG denies inbound ICMP -> a single REJECT record; 12.5: dstaddr is the
    ENI's private address although the client sent to the public one."""
    text = vpc(name="flb", groups=SSH_ONLY, web_groups="sshonly")
    with running_text(text + FLOW_LOGS) as s:
        assert s.probe("client", "web", icmp=True).result == "blocked"
        rows = settled(s)
    assert on(rows, s, "web", 1) == [("REJECT", "ingress", "198.51.100.10", "172.30.0.10", 1)]


def test_both_allow_gives_two_accepts_and_dns_is_not_logged() -> None:
    """12.4: both allow -> two ACCEPT records; 12.7: DNS to the Amazon resolver is not
    logged; 12.2: the text line is the version-2 default format."""
    with running_text(vpc(name="flc") + FLOW_LOGS) as s:
        assert s.probe("client", "web", icmp=True).result == "reachable"
        s.exec("web", "dig", "+time=1", "+tries=1", "web.example.internal")
        rows = settled(s)
        shown = subprocess.run(
            [sys.executable, "-m", "netemu.cli", "flowlogs", "--eni", "web"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()  # fmt: skip
    assert on(rows, s, "web", 1) == [
        ("ACCEPT", "egress", "172.30.0.10", "198.51.100.10", 1),
        ("ACCEPT", "ingress", "198.51.100.10", "172.30.0.10", 1),
    ]
    assert not [r for r in rows if 53 in (r["srcport"], r["dstport"])]
    eni = s.model.instances["web"].eni.id
    icmp = [x for x in shown if x.split()[7:8] == ["1"] and "ACCEPT OK" in x]
    assert len(icmp) == 2 and all(x.split()[:3] == ["2", records.account_id("flc"), eni]
                                  for x in icmp)  # fmt: skip
    assert any(x.endswith("NODATA") for x in shown) or len(shown) >= 2


def test_nat_gateway_records_show_its_own_private_address() -> None:
    """12.5: on the NAT gateway's ENI, srcaddr/dstaddr show its private address where the
    packet carries the internet host's; pkt-srcaddr/pkt-dstaddr the real ones; instance-id
    is - for the requester-managed ENI. The four records of AWS's NAT example."""
    text = vpc(
        name="fld",
        private_routes="      - {destination: 0.0.0.0/0, nat_gateway: nat}",
        more_instances="nat_gateways:\n  nat: {subnet: public, elastic_ip: auto}",
    )
    with running_text(text + FLOW_LOGS) as s:
        assert s.probe("db", "repo", tcp=80).result == "reachable"
        rows = settled(s)
    nat = str(s.model.nat_gateways["nat"].eni.private_ip)
    seen = {
        (r["flow-direction"], r["srcaddr"], r["dstaddr"], r["pkt-srcaddr"], r["pkt-dstaddr"])
        for r in rows
        if r["interface-id"] == s.model.nat_gateways["nat"].eni.id and r["action"] == "ACCEPT"
    }
    db, repo = "172.30.1.10", "198.51.100.20"
    assert seen == {
        ("ingress", db, nat, db, repo),
        ("egress", nat, repo, nat, repo),
        ("ingress", repo, nat, repo, nat),
        ("egress", nat, db, repo, db),
    }
    assert {
        r["instance-id"] for r in rows if r["interface-id"] == s.model.nat_gateways["nat"].eni.id
    } == {None}


def test_reject_filter_custom_format_and_s3_files(tmp_path: Path) -> None:
    """12.1: a REJECT-only flow log on one ENI keeps only its rejects; 12.6: custom fields;
    files land in AWS's S3 layout, gzip text with a header line, and copy out."""
    logs = (
        "flow_logs:\n  rej:\n    resource: web\n    traffic_type: REJECT\n"
        "    max_aggregation_interval: 1\n"
        "    log_format: ${interface-id} ${srcaddr} ${pkt-dstaddr} ${tcp-flags} ${action} "
        "${flow-direction} ${instance-id}\n"
    )
    text = vpc(name="fle", groups=SSH_ONLY, web_groups="sshonly")
    with running_text(text + logs) as s:
        assert s.probe("client", "web", tcp=80).result == "blocked"
        assert s.probe("client", "web", tcp=22).result == "reachable"
        rows = settled(s)
        base = Path(state_dir("fle"))
        copied = subprocess.run(
            [sys.executable, "-m", "netemu.cli", "flowlogs", "--copy-to", str(tmp_path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    assert {r["action"] for r in rows} == {"REJECT"}
    (reject,) = [r for r in rows if r["dstport"] == 80]
    assert reject["tcp-flags"] == 2 and reject["flow-direction"] == "ingress"
    files = sorted((tmp_path / "AWSLogs").rglob("*.log.gz"))
    assert files and "copied" in copied.stdout
    account = records.account_id("fle")
    rel = files[0].relative_to(tmp_path)
    assert rel.parts[:4] == ("AWSLogs", account, "vpcflowlogs", "ap-northeast-1")
    assert rel.name.startswith(f"{account}_vpcflowlogs_ap-northeast-1_fl-")
    text_lines = [gzip.decompress(f.read_bytes()).decode().splitlines() for f in files]
    assert all(lines[0] == "interface-id srcaddr pkt-dstaddr tcp-flags action flow-direction "
               "instance-id" for lines in text_lines)  # fmt: skip
    body = [x for lines in text_lines for x in lines[1:] if "REJECT" in x]
    web = s.model.instances["web"]
    assert f"{web.eni.id} 198.51.100.10 172.30.0.10 2 REJECT ingress {web.id}" in body
    assert not os.path.exists(base)  # down removed the state directory


NO_EGRESS = (
    "  noout:\n    vpc: main\n    ingress:\n      - {protocol: all, cidr: 0.0.0.0/0}\n"
    "    egress: []\n"
)


def test_inside_a_subnet_each_eni_logs_its_side_and_a_refused_send_only_the_sender() -> None:
    """12.1: one record per flow per ENI: between two instances of one subnet each ENI
    records both directions; a packet the sender's SG refuses (7.x egress) never reached
    the receiver in the same subnet, so only the sender has a REJECT record."""
    text = vpc(name="flf", groups=NO_EGRESS, app_groups="noout")
    with running_text(text + FLOW_LOGS) as s:
        assert s.probe("web", "app", tcp=22).result == "reachable"
        assert s.probe("app", "web", tcp=80).result == "blocked"
        rows = settled(s)
    web, app = "172.30.0.10", "172.30.0.11"
    tcp = [r for r in rows if r["protocol"] == 6]
    on_web = {(r["action"], r["flow-direction"], r["srcaddr"], r["dstaddr"])
              for r in tcp if r["interface-id"] == s.model.instances["web"].eni.id}  # fmt: skip
    assert on_web == {("ACCEPT", "egress", web, app), ("ACCEPT", "ingress", app, web)}
    on_app = {(r["action"], r["flow-direction"], r["srcaddr"], r["dstport"])
              for r in tcp if r["interface-id"] == s.model.instances["app"].eni.id}  # fmt: skip
    assert on_app == {("ACCEPT", "ingress", web, 22), ("ACCEPT", "egress", app, r22(rows)),
                      ("REJECT", "egress", app, 80)}  # fmt: skip


def r22(rows: list[dict[str, Any]]) -> int:
    """The web client's source port of the tcp/22 probe (the reply's destination port)."""
    return next(r["srcport"] for r in rows if r["dstport"] == 22 and r["protocol"] == 6)


def test_flowlogs_command_closes_a_ten_minute_window_early_and_down_is_prompt() -> None:
    """12.1: the aggregation interval is a maximum: `netemu flowlogs` closes the current
    window so it shows what happened so far; `down` does not wait for the window's end."""
    logs = "flow_logs:\n  slow: {resource: web}\n"  # the default: 600 s
    with running_text(vpc(name="flg") + logs) as s:
        assert s.model.flow_logs[0].max_aggregation_interval == 600
        assert s.probe("client", "web", icmp=True).result == "reachable"
        shown = subprocess.run(
            [sys.executable, "-m", "netemu.cli", "flowlogs", "--json"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.splitlines()  # fmt: skip
        started = time.monotonic()
    assert time.monotonic() - started < 3, "down waited for the window"
    icmp = [json.loads(x) for x in shown if json.loads(x)["protocol"] == 1]
    assert sorted(r["flow-direction"] for r in icmp) == ["egress", "ingress"]
