"""VPC Flow Logs without the kernel (reference 12): the scenario key, which ENI a packet is
recorded on, how a window's counts become records, and AWS's text and S3 layout."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from netemu.flowlogs import records
from netemu.flowlogs.attribute import Attributor
from netemu.flowlogs.collector import share
from netemu.flowlogs.conntrack import TCP_CLOSE, Flow, Tuple
from netemu.flowlogs.window import Window
from netemu.model import load_model, load_model_text
from netemu.model.types import Model
from netemu.model.validate_flow_logs import V2_FIELDS
from netemu.probe.nflog import Packet
from netemu.render import render
from netemu.render.nft import Drop
from tests.unit.problems import at, one

ROOT = Path(__file__).resolve().parents[2]

BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
subnets:
  a: {vpc: main, cidr: 10.0.0.0/24}
instances:
  web: {subnet: a}
flow_logs:
"""
IP = IPv4Address


def webdb() -> Model:
    # Loaded per test, not at import: importing netemu.model.resolve while tests are being
    # collected would shadow netemu.model.resolve() for modules collected later (lab_catalog).
    return load_model(str(ROOT / "scenarios" / "book" / "webdb.yaml"))[0]


def test_defaults_are_all_traffic_ten_minutes_and_the_version_2_format() -> None:
    """12.1, 12.2: default aggregation 600 s; default format = the v2 fields in order."""
    model, _ = load_model_text(BASE + "  f: {resource: web}\n")
    (fl,) = model.flow_logs
    assert (fl.resource_kind, fl.traffic_type, fl.max_aggregation_interval) == (
        "instance", "ALL", 600,
    )  # fmt: skip
    assert fl.log_format == V2_FIELDS and fl.id.startswith("fl-")


def test_unknown_resource_is_refused_with_its_position() -> None:
    p = one(BASE + "  f: {resource: wbe}\n")
    assert at(p) == "8:17" and "did you mean 'web'" in p.message


def test_traffic_type_must_be_accept_reject_or_all() -> None:
    p = one(BASE + "  f: {resource: main, traffic_type: DENY}\n")
    assert "ACCEPT, REJECT or ALL" in p.message and "12.1" in p.message


def test_log_format_takes_aws_field_syntax_and_refuses_unknown_fields() -> None:
    model, _ = load_model_text(BASE + "  f: {resource: a, log_format: '${srcaddr} ${tcp-flags}'}\n")
    assert model.flow_logs[0].log_format == ("srcaddr", "tcp-flags")
    p = one(BASE + "  f: {resource: a, log_format: '${srcaddr} ${region}'}\n")
    assert "'region' is not one netemu records" in p.message


def test_collector_is_planned_only_with_flow_logs() -> None:
    model, _ = load_model_text(BASE + "  f: {resource: main}\n")
    names = [p.name for p in render(model).processes]
    assert names.count("flow-log collector") == 1
    assert "flow-log collector" not in [p.name for p in render(webdb()).processes]


def test_nat_gateway_traffic_is_recorded_on_its_eni_with_its_own_address() -> None:
    """12.5: instance -> internet through the NAT gateway: on the NAT gateway's ENI the
    record shows its private address, the packet's real one in pkt-dstaddr."""
    at_public = Attributor(webdb(), "public")
    nat = webdb().nat_gateways["nat"].eni
    db, mirror = IP("172.30.1.10"), IP("198.51.100.20")
    (into,) = at_public.sides(db, mirror)
    assert (into.eni, into.direction, into.srcaddr, into.dstaddr, into.pkt_dstaddr) == (
        nat, "ingress", db, nat.private_ip, mirror,
    )  # fmt: skip
    (back,) = at_public.sides(mirror, db)
    assert (back.eni, back.direction, back.srcaddr, back.pkt_srcaddr) == (
        nat, "egress", nat.private_ip, mirror,
    )  # fmt: skip
    (own,) = Attributor(webdb(), "private").sides(db, mirror)
    assert (own.eni.owner, own.direction, own.srcaddr) == ("db", "egress", db)


def test_resolver_imds_and_dhcp_are_not_logged() -> None:
    """12.7: the Amazon DNS server (base+2), IMDS, the router address and DHCP."""
    at_private = Attributor(webdb(), "private")
    db = IP("172.30.1.10")
    assert not at_private.logged(17, db, IP("172.30.0.2"), 40000, 53)
    assert not at_private.logged(6, db, IP("169.254.169.254"), 40000, 80)
    assert not at_private.logged(17, IP("0.0.0.0"), IP("255.255.255.255"), 68, 67)
    assert at_private.logged(6, db, IP("198.51.100.20"), 40000, 80)


def _flow(proto: int, orig: Tuple, reply_packets: int, state: int | None = None) -> Flow:
    reply = Tuple(orig.dst, orig.src, orig.dport, orig.sport)
    return Flow(1, proto, orig, reply, 1, 84, reply_packets, 84 * reply_packets,
                reply_packets > 0, state, False)  # fmt: skip


def test_dropped_reply_of_a_tracked_flow_is_a_reject_not_an_accept() -> None:
    """12.4: conntrack counts the reply the ACL then drops; the record is REJECT only."""
    w = Window(webdb())
    web, client = IP("172.30.0.10"), IP("198.51.100.10")
    at_public = Attributor(webdb(), "public")
    w.add_flow(at_public, _flow(1, Tuple(client, web, 7, 8 << 8), 1), new=True)
    acl = Drop("SUBNET_ACL_RESTRICTION", "network_acl:x", "egress", "*").prefix()
    w.add_drop(at_public, acl, Packet(1, web, client, 1), 84)
    got = sorted((r["action"], r["flow-direction"], r["packets"]) for r in w.records("1", 0, 60))
    assert got == [("ACCEPT", "ingress", 1), ("REJECT", "egress", 1)]


def test_tcp_flags_follow_aws_values() -> None:
    """12.6: SYN 2, SYN-ACK 18, FIN 1, RST 4; a dropped SYN shows 2."""
    w = Window(webdb())
    web, client = IP("172.30.0.10"), IP("198.51.100.10")
    at_public = Attributor(webdb(), "public")
    w.add_flow(at_public, _flow(6, Tuple(client, web, 40000, 22), 1, TCP_CLOSE), new=True)
    sg = Drop("ENI_SG_RULES_MISMATCH", "security_group:web", "ingress").prefix()
    w.add_drop(at_public, sg, Packet(6, client, web, 9, 40001, 80, tcp_flags=0x02), 60)
    flags = {(r["dstport"], r["action"]): r["tcp-flags"] for r in w.records("1", 0, 60)}
    assert flags == {(22, "ACCEPT"): 2 | 4, (40000, "ACCEPT"): 18, (80, "REJECT"): 2}


def test_share_filters_by_eni_and_traffic_type_and_adds_nodata() -> None:
    """12.1 filter, 12.3 NODATA for an ENI with no traffic in the window."""
    model, _ = load_model_text(
        BASE.replace("web: {subnet: a}", "web: {subnet: a}\n  db: {subnet: a}")
        + "  r: {resource: a, traffic_type: REJECT}\n"
    )
    web, db = model.instances["web"].eni.id, model.instances["db"].eni.id
    window = [{"interface-id": web, "action": "ACCEPT"}, {"interface-id": web, "action": "REJECT"}]
    kept = share(model, model.flow_logs[0], window, "123456789012", 0, 60)
    assert [(r["interface-id"], r["action"], r.get("log-status")) for r in kept if r["action"]] == [
        (web, "REJECT", None)
    ]
    (nodata,) = [r for r in kept if r.get("log-status") == "NODATA"]
    assert records.line(nodata) == f"2 123456789012 {db} - - - - - - - 0 60 - NODATA"


def test_s3_key_follows_aws_layout() -> None:
    model, _ = load_model_text(BASE + "  f: {resource: main}\n")
    fl = model.flow_logs[0]
    key = records.s3_key("123456789012", "us-east-1", fl, 1796045366)
    assert key.startswith("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/30/")
    assert key.endswith(".log.gz") and f"123456789012_vpcflowlogs_us-east-1_{fl.id}_" in key
    assert len(records.account_id("webdb")) == 12


def test_eni_filter_takes_an_id_or_its_owner_and_refuses_others() -> None:
    import pytest

    from netemu.errors import UsageError
    from netemu.flowlogs import show

    m = webdb()
    assert show.eni_ids(m, "nat") == {m.nat_gateways["nat"].eni.id}
    assert show.eni_ids(m, m.instances["web"].eni.id) == {m.instances["web"].eni.id}
    with pytest.raises(UsageError, match="owners: web, db, nat"):
        show.eni_ids(m, "dbb")


def test_records_and_s3_files_are_read_back_and_copied_out(tmp_path: Path) -> None:
    import gzip

    from netemu.flowlogs import show

    model, _ = load_model_text(BASE + "  f: {resource: main}\n")
    fl = model.flow_logs[0]
    nd = records.nodata(fl, "123456789012", "eni-1", 0, 60)
    (tmp_path / records.DIR).mkdir()
    records.append_jsonl(str(tmp_path / records.RECORDS), [nd, nd])
    key = records.s3_key("123456789012", "us-east-1", fl, 60)
    records.write_s3(str(tmp_path / records.DIR), key, fl.log_format, [nd])
    assert [r["log-status"] for r in show.read(str(tmp_path))] == ["NODATA", "NODATA"]
    out = tmp_path / "out"
    assert show.copy_out(str(tmp_path), str(out)) == 1
    lines = gzip.decompress((out / key).read_bytes()).decode().splitlines()
    assert lines == [" ".join(V2_FIELDS), "2 123456789012 eni-1 - - - - - - - 0 60 - NODATA"]


def test_follow_waits_for_whole_lines(tmp_path: Path) -> None:
    """--follow: a line the collector is still writing is not read in halves."""
    import threading
    import time

    from netemu.flowlogs import show

    (tmp_path / records.DIR).mkdir()
    path = tmp_path / records.RECORDS
    path.write_text('{"a": ')

    def finish() -> None:
        time.sleep(0.3)
        with open(path, "a") as f:
            f.write("1}\n")

    threading.Thread(target=finish).start()
    assert next(show.read(str(tmp_path), follow=True)) == {"a": 1}
