"""A multi-homed instance with real packets: two ENIs in two subnets, secondary private IPs,
security groups and the source/destination check per ENI (ref 9.6-9.9, 9.11, 9.20-9.23)."""

from __future__ import annotations

from pathlib import Path

from netemu.testing import Running, running, running_text

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """
name: nick
vpcs:
  main: {{cidr: 10.41.0.0/16}}
subnets:
  front: {{vpc: main, cidr: 10.41.1.0/24, az: a}}
  back: {{vpc: main, cidr: 10.41.2.0/24, az: a}}
  ops: {{vpc: main, cidr: 10.41.3.0/24, az: b}}
security_groups:
  web:
    vpc: main
    ingress: [{{protocol: tcp, port: 80, cidr: 0.0.0.0/0}}]
  admin:
    vpc: main
    ingress: [{{protocol: tcp, port: 22, cidr: 0.0.0.0/0}}]
  ops: {{vpc: main}}
instances:
  app:
    subnet: front
    private_ip: 10.41.1.10
    secondary_private_ips: [10.41.1.20]
    security_groups: [web]
    services: [http, ssh]
    source_dest_check: {primary_check}
  ops: {{subnet: ops, private_ip: 10.41.3.10, security_groups: [ops]}}
network_interfaces:
  app-back:
    subnet: back
    instance: app
    device_index: 1
    private_ip: 10.41.2.10
    secondary_private_ips: [10.41.2.20]
    security_groups: [admin]
    source_dest_check: {nic_check}
"""


def _text(primary_check: str = "true", nic_check: str = "true") -> str:
    return SCENARIO.format(primary_check=primary_check, nic_check=nic_check)


def _result(s: Running, dst: str, port: int) -> tuple[str, str | None, str | None, str | None]:
    r = s.probe("ops", dst, tcp=port)
    if r.reason is None:
        return r.result, None, None, None
    return r.result, r.reason.code, r.reason.component, r.reason.leg


def test_an_instance_with_two_enis_is_reachable_on_both_and_each_group_guards_its_own_eni() -> None:
    """ref 9.20, 9.6: the instance answers on the primary address of each ENI, each in its own
    subnet; the `web` group of eth0 admits 80 to eth0's address only, the `admin` group of
    eth1 admits 22 to eth1's address only."""
    with running_text(_text()) as s:
        assert _result(s, "10.41.1.10", 80) == ("reachable", None, None, None)
        assert _result(s, "10.41.2.10", 22) == ("reachable", None, None, None)
        sg = "ENI_SG_RULES_MISMATCH"
        assert _result(s, "10.41.1.10", 22) == ("blocked", sg, "security_group:web", "request")
        assert _result(s, "10.41.2.10", 80) == ("blocked", sg, "security_group:admin", "request")
        r = s.probe("ops", "10.41.2.10", tcp=22)
        assert "subnet:back" in r.hops and "subnet:front" not in r.hops, r.hops


def test_a_secondary_private_ip_answers_and_is_filtered_by_its_enis_group() -> None:
    """ref 9.21, 9.8: a secondary private IP of either ENI answers, under the security groups of
    the ENI that holds it."""
    with running_text(_text()) as s:
        assert _result(s, "10.41.1.20", 80) == ("reachable", None, None, None)
        assert _result(s, "10.41.2.20", 22) == ("reachable", None, None, None)
        sg = "ENI_SG_RULES_MISMATCH"
        assert _result(s, "10.41.1.20", 22) == ("blocked", sg, "security_group:web", "request")
        assert _result(s, "10.41.2.20", 80) == ("blocked", sg, "security_group:admin", "request")


def test_the_instance_routes_replies_by_the_eni_they_came_in_on() -> None:
    """ref 9.23: the source rules netemu sets up as Amazon Linux 2023 does are in the kernel:
    table 10001 for eth1, a rule per address of eth1, the secondary IPs as /32s."""
    with running_text(_text()) as s:
        rules = s.exec("app", "ip", "rule").stdout
        assert "from 10.41.2.10 lookup 10001" in rules, rules
        assert "from 10.41.2.20 lookup 10001" in rules, rules
        table = s.exec("app", "ip", "route", "show", "table", "10001").stdout
        assert "default via 10.41.2.1 dev eth1" in table, table
        addrs = s.exec("app", "ip", "-4", "-o", "addr", "show").stdout
        assert "10.41.1.20/32" in addrs and "10.41.2.20/32" in addrs, addrs


def test_source_dest_check_is_per_eni() -> None:
    """ref 9.9, 9.11, 9.23: without its source rules, the instance answers for eth1's address
    by its default route, out of eth0: eth0's source/destination check drops the reply (the
    asymmetric routing AWS warns of). With eth0's check off, the same reply passes: the
    check belongs to the ENI the packet leaves by, not to the instance."""
    for check, expected in (("true", "blocked"), ("false", "reachable")):
        with running_text(_text(primary_check=check)) as s:
            for ip in ("10.41.2.10", "10.41.2.20"):
                done = s.exec("app", "ip", "rule", "del", "from", ip, "lookup", "10001")
                assert done.returncode == 0, done.stderr
            result = _result(s, "10.41.2.10", 22)
            if expected == "blocked":
                code = "ENI_SOURCE_DEST_CHECK_RESTRICTION"
                assert result == ("blocked", code, "eni:app", "reply"), result
            else:
                assert result[0] == "reachable", result


def test_a_secondary_enis_own_check_drops_what_leaves_it_with_another_address() -> None:
    """ref 9.9, 9.20: route eth0's address out of eth1 (a source rule), and eth1's check
    drops the answer as not its own address, naming eth1's ENI; with eth1's check off the
    same answer passes."""
    for check, expected in (("true", "blocked"), ("false", "reachable")):
        with running_text(_text(nic_check=check)) as s:
            done = s.exec("app", "ip", "rule", "add", "from", "10.41.1.10", "lookup", "10001",
                          "priority", "9000")  # fmt: skip
            assert done.returncode == 0, done.stderr
            result = _result(s, "10.41.1.10", 80)
            if expected == "blocked":
                code = "ENI_SOURCE_DEST_CHECK_RESTRICTION"
                assert result == ("blocked", code, "eni:app-back", "reply"), result
            else:
                assert result[0] == "reachable", result


def test_shipped_multi_eni_scenario_holds_on_real_packets() -> None:
    """ref 9.20, 9.21, 9.6: every expectation of scenarios/book/multi-eni.yaml holds."""
    with running(str(ROOT / "scenarios" / "book" / "multi-eni.yaml")) as s:
        outcomes = s.expectations()
        assert outcomes and all(o.ok for o in outcomes), [o.title + o.why for o in outcomes]


APPLY_BASE = """
name: nicap
vpcs:
  main: {cidr: 10.42.0.0/16}
subnets:
  front: {vpc: main, cidr: 10.42.1.0/24, az: a}
  back: {vpc: main, cidr: 10.42.2.0/24, az: a}
  ops: {vpc: main, cidr: 10.42.3.0/24, az: a}
security_groups:
  open:
    vpc: main
    ingress: [{protocol: tcp, port: 22, cidr: 0.0.0.0/0}]
instances:
  app: {subnet: front, private_ip: 10.42.1.10, security_groups: [open], services: [ssh]}
  ops: {subnet: ops, private_ip: 10.42.3.10}
"""
APPLY_MORE = APPLY_BASE.replace(
    "services: [ssh]}", "services: [ssh], secondary_private_ips: [10.42.1.20]}"
) + (
    "network_interfaces:\n"
    "  nic: {subnet: back, instance: app, device_index: 1, private_ip: 10.42.2.10,"
    " secondary_private_ips: [10.42.2.20], security_groups: [open]}\n"
)


def test_attach_detach_assign_and_unassign_are_live_changes() -> None:
    """ref 9.20, 9.21: `netemu apply` attaches a secondary ENI and assigns secondary private IPs
    to a running instance, which then answers on them; detached and unassigned, they answer
    no more."""
    from live import live

    with live(APPLY_BASE) as s:
        run = Running(s.model)
        assert run.probe("ops", "10.42.2.10", tcp=22).result == "blocked"
        texts = [c.text for c in s.apply(APPLY_MORE).changes]
        assert "attach network interface nic to instance app at device index 1" in texts, texts
        run = Running(s.model)
        for ip in ("10.42.2.10", "10.42.2.20", "10.42.1.20"):
            assert run.probe("ops", ip, tcp=22).result == "reachable", ip
        texts = [c.text for c in s.apply(APPLY_BASE).changes]
        assert "detach network interface nic from instance app (device index 1)" in texts, texts
        run = Running(s.model)
        for ip in ("10.42.2.10", "10.42.1.20"):
            assert run.probe("ops", ip, tcp=22).result == "blocked", ip
        assert run.probe("ops", "app", tcp=22).result == "reachable"


def test_a_stopped_instance_answers_on_none_of_its_enis() -> None:
    """ref 9.2, 9.10, 9.20: a stopped instance keeps every ENI and address but answers on none;
    the model says the same (netemu explain)."""
    from netemu.explain.static import explain
    from netemu.testing import spec

    text = _text().replace("services: [http, ssh]", "services: [http, ssh]\n    state: stopped")
    with running_text(text) as s:
        for ip, port in (("10.41.1.10", 80), ("10.41.2.10", 22), ("10.41.2.20", 22)):
            result = _result(s, ip, port)
            assert result[:2] == ("blocked", "BAD_STATE"), (ip, result)
            static = explain(s.model, spec("ops", ip, tcp=port))
            assert static.reason is not None and static.reason.code == "BAD_STATE", ip


def test_flow_logs_record_traffic_of_a_secondary_eni_under_its_own_id() -> None:
    """ref 12.1, 9.20: an instance's flow log covers all its ENIs; traffic to eth1's secondary
    IP is recorded under eth1's ENI id with that address, accepted; traffic its group
    refuses is rejected there."""
    import json
    import time

    from netemu.driver.state import state_dir
    from netemu.flowlogs import records

    logs = "flow_logs:\n  app: {resource: app, traffic_type: ALL, max_aggregation_interval: 1}\n"
    with running_text(_text() + logs) as s:
        assert _result(s, "10.41.2.20", 22)[0] == "reachable"
        assert _result(s, "10.41.2.20", 80)[0] == "blocked"
        time.sleep(2.2)
        path = Path(state_dir(s.model.name)) / records.RECORDS
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        nic = s.model.network_interfaces["app-back"].id
        seen = {
            (r["action"], r["flow-direction"], r["dstaddr"], r["dstport"])
            for r in rows
            if r["log-status"] == "OK" and r["interface-id"] == nic and r["protocol"] == 6
        }
        assert ("ACCEPT", "ingress", "10.41.2.20", 22) in seen, seen
        assert ("REJECT", "ingress", "10.41.2.20", 80) in seen, seen
        primary = s.model.instances["app"].eni.id
        assert not [
            r for r in rows if r["interface-id"] == primary and r["dstaddr"] == "10.41.2.20"
        ]


SAME_SUBNET = """
name: nisame
vpcs:
  main: {cidr: 10.43.0.0/16}
subnets:
  front: {vpc: main, cidr: 10.43.1.0/24, az: a}
  ops: {vpc: main, cidr: 10.43.3.0/24, az: a}
security_groups:
  web:
    vpc: main
    ingress: [{protocol: tcp, port: 80, cidr: 0.0.0.0/0}]
  admin:
    vpc: main
    ingress: [{protocol: tcp, port: 22, cidr: 0.0.0.0/0}]
instances:
  app: {subnet: front, private_ip: 10.43.1.10, security_groups: [web], services: [http, ssh]}
  ops: {subnet: ops, private_ip: 10.43.3.10}
  peer: {subnet: front, private_ip: 10.43.1.30}
network_interfaces:
  nic: {subnet: front, instance: app, device_index: 1, private_ip: 10.43.1.11, security_groups: [admin]}
expect:
  - {from: ops, to: 10.43.1.11, tcp: 22, result: reachable}
  - {from: ops, to: 10.43.1.11, tcp: 80, result: blocked, reason: ENI_SG_RULES_MISMATCH}
  - {from: peer, to: 10.43.1.11, tcp: 22, result: reachable}
  - {from: peer, to: 10.43.1.10, tcp: 80, result: reachable}
  - {from: peer, to: 10.43.1.10, tcp: 22, result: blocked, reason: ENI_SG_RULES_MISMATCH}
"""


def test_two_enis_in_one_subnet_each_answer_under_their_own_groups() -> None:
    """ref 9.11, 9.20: a second ENI may share the instance's subnet; each address answers
    under its own ENI's groups, from inside the subnet and from outside it."""
    with running_text(SAME_SUBNET) as s:
        outcomes = s.expectations()
        assert len(outcomes) == 5 and all(o.ok for o in outcomes), [
            o.title + o.why for o in outcomes
        ]
