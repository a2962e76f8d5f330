"""`netemu apply` under live TCP connections: AWS's change semantics (ref 7.13-7.17, 8.x, 4.10,
6.16), each against a real connection held open between two namespaces."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from live import Held, HeldSsh, live

from netemu.driver import netns
from netemu.render.topology import endpoint_ns

TEMPLATE = """
name: ap
region: ap-northeast-1
vpcs:
  main: {{cidr: 10.40.0.0/16}}
internet_gateways:
  igw: {{vpc: main}}
subnets:
  public: {{vpc: main, cidr: 10.40.0.0/24, public_ip_on_launch: true, route_table: public{acl}}}
  private: {{vpc: main, cidr: 10.40.1.0/24, route_table: private}}
route_tables:
  public:
    vpc: main
    routes:
      - {{destination: 0.0.0.0/0, {public_target}}}
  private:
    vpc: main
    routes:
      - {{destination: 0.0.0.0/0, {private_target}}}
{nat}
security_groups:
  web:
    vpc: main
    ingress:
{ingress}
{egress}
{acls}
instances:
  web: {{subnet: public, private_ip: 10.40.0.10, security_groups: [web]{web_extra}}}
  worker: {{subnet: private, private_ip: 10.40.1.10, security_groups: [web]{worker_extra}}}
internet:
  hosts:
    client: {{ip: 198.51.100.10}}
    repo: {{ip: 198.51.100.20}}
"""
NAT = "nat_gateways:\n  nat: {subnet: public, elastic_ip: 203.0.113.50}"
OPEN_5000 = "      - {protocol: tcp, port: 5000, cidr: 0.0.0.0/0}"
CLIENT_5000 = "      - {protocol: tcp, port: 5000, cidr: 198.51.100.10/32}"
OTHER_5000 = "      - {protocol: tcp, port: 5000, cidr: 198.51.100.99/32}"
PORT = 5000


def scenario(**parts: str) -> str:
    values = {
        "acl": "",
        "public_target": "internet_gateway: igw",
        "private_target": "nat_gateway: nat",
        "nat": NAT,
        "ingress": OPEN_5000,
        "egress": "",
        "acls": "",
        "web_extra": "",
        "worker_extra": "",
        **parts,
    }
    return TEMPLATE.format(**values)


def test_tracked_flow_survives_removal_of_its_rule() -> None:
    """7.15: a flow admitted by a rule that is not for all addresses is tracked; removing the
    rule leaves it alive, while a new connection is refused."""
    with live(scenario(ingress=CLIENT_5000)) as s, Held(s.model, "client", "web", PORT) as c:
        assert c.alive()
        changes = s.apply(scenario(ingress="      []"))
        assert [x.text for x in changes.changes] == [
            "revoke sg-web ingress tcp/5000 from 198.51.100.10/32"
        ]
        assert c.alive()
        assert s_probe(s, "client", "web") == "blocked"


def test_untracked_flow_is_cut_when_its_rule_goes() -> None:
    """7.13, 7.15: tcp/5000 from 0.0.0.0/0 with outbound all to 0.0.0.0/0 is untracked;
    removing the inbound rule cuts the open connection at its next packet."""
    with live(scenario()) as s, Held(s.model, "client", "web", PORT) as c:
        assert c.alive()
        s.apply(scenario(ingress="      []"))
        assert not c.alive()


def test_untracked_flow_is_cut_even_when_its_group_keeps_other_open_rules() -> None:
    """7.13, 7.15: the group still admits tcp/22 from everywhere after tcp/5000 is revoked;
    the untracked 5000 flow is cut all the same (a rule that does not admit a packet must
    not change the flow's tracking)."""
    ssh = "      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}"
    with (
        live(scenario(ingress=ssh + "\n" + OPEN_5000)) as s,
        Held(s.model, "client", "web", PORT) as c,
    ):
        assert c.alive()
        s.apply(scenario(ingress=ssh))
        assert not c.alive()


def test_narrowing_to_a_32_keeps_the_session() -> None:
    """7.15: a session admitted by a /32 rule survives when the rule is narrowed to another
    address (it is tracked); an untracked session narrowed to its own /32 stays too, its
    next packet being admitted (and tracked) by the narrower rule."""
    with live(scenario(ingress=CLIENT_5000)) as s, Held(s.model, "client", "web", PORT) as c:
        s.apply(scenario(ingress=OTHER_5000))
        assert c.alive()
    with live(scenario()) as s, Held(s.model, "client", "web", PORT) as c:
        s.apply(scenario(ingress=CLIENT_5000))
        assert c.alive()


def test_removing_the_outbound_all_rule_makes_flows_tracked() -> None:
    """7.15: removing the all-traffic outbound rule turns the flows into tracked ones: the
    session then survives the removal of the inbound rule too."""
    no_egress = "    egress: []"
    with live(scenario()) as s, Held(s.model, "client", "web", PORT) as c:
        s.apply(scenario(egress=no_egress))
        assert c.alive()
        s.apply(scenario(ingress="      []", egress=no_egress))
        assert c.alive()


def test_icmp_is_tracked_even_by_all_addresses_rules() -> None:
    """7.14: ICMP is always tracked: an echo exchange (one ICMP id) admitted by an ICMP rule
    for 0.0.0.0/0, with outbound all, goes on after that rule is removed."""
    icmp = "      - {protocol: icmp, icmp_type: -1, icmp_code: -1, cidr: 0.0.0.0/0}"
    with live(scenario(ingress=icmp)) as s:
        ns = endpoint_ns(s.model, "client")
        ping = subprocess.Popen(
            ["ping", "-n", "-c", "15", "-i", "0.2", str(s.model.instances["web"].public_ip)],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: netns.enter_for_good(ns),
        )
        time.sleep(1.0)
        s.apply(scenario(ingress="      []"))
        out, _ = ping.communicate(timeout=20)
        assert " 15 received" in out, out
        assert s_probe_result_icmp(s, "client", "web").result == "blocked"


def test_acl_deny_cuts_an_established_flow_at_once() -> None:
    """8.15, 7.15: a network ACL is stateless; a deny added for the flow's traffic drops its
    very next packet, although the security group would still admit it by state."""
    acls = """network_acls:
  guard:
    vpc: main
    ingress:
      - {rule: 50, protocol: tcp, port: 5000, cidr: 0.0.0.0/0, action: deny}
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}"""
    with live(scenario(ingress=CLIENT_5000)) as s, Held(s.model, "client", "web", PORT) as c:
        changes = s.apply(scenario(ingress=CLIENT_5000, acl=", network_acl: guard", acls=acls))
        assert "associate acl guard with subnet public" in [x.text for x in changes.changes]
        assert not c.alive()


def test_route_to_blackhole_drops_the_next_packet() -> None:
    """4.10: replacing the public route by a blackhole drops the session's next packet,
    and a probe names BAD_STATE_ROUTE."""
    with live(scenario(ingress=CLIENT_5000)) as s, Held(s.model, "client", "web", PORT) as c:
        changes = s.apply(scenario(ingress=CLIENT_5000, public_target="blackhole: true"))
        assert "replace route 0.0.0.0/0 in rtb public: igw -> blackhole" in [
            x.text for x in changes.changes
        ]
        assert not c.alive()
        r = s_probe_result(s, "client", "web")
        assert r.reason is not None and r.reason.code == "BAD_STATE_ROUTE"
        assert r.reason.leg == "reply"


def test_deleting_the_nat_gateway_blackholes_its_routes_and_ends_its_mappings() -> None:
    """6.16: the NAT gateway goes, its route is left blackhole (BAD_STATE_ROUTE), and its
    connections end: its namespace, and with it its whole conntrack table, is gone."""
    with live(scenario()) as s, Held(s.model, "worker", "repo", PORT) as c:
        assert c.alive()
        nat_ns = "ne-ap-n-nat"
        mappings = subprocess.run(
            ["conntrack", "-L"],
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=lambda: netns.enter_for_good(nat_ns),
        )
        assert "dport=5000" in mappings.stdout
        changes = s.apply(scenario(private_target="blackhole: true", nat=""))
        assert [x.action for x in changes.changes][:1] == ["delete"]
        assert not netns.exists(nat_ns)
        assert not c.alive()
        r = s_probe_result(s, "worker", "repo")
        assert r.reason is not None and r.reason.code == "BAD_STATE_ROUTE"


def test_elastic_ip_moved_away_ends_the_flows_that_used_it() -> None:
    """9.4, 5.3: once the elastic IP is associated with another instance, a connection to it
    no longer reaches the old one (the gateway forgets the old mapping at once)."""
    eip = ", elastic_ip: 192.0.2.44"
    with (
        live(scenario(web_extra=eip)) as s,
        Held(s.model, "client", "web", PORT) as c,
    ):
        assert c.alive()
        changes = s.apply(scenario(worker_extra=eip))
        assert "disassociate elastic ip 192.0.2.44 from instance web" in [
            x.text for x in changes.changes
        ]
        assert not c.alive()


def s_probe_result(s: object, source: str, destination: str, port: int = PORT):  # type: ignore[no-untyped-def]
    from netemu.testing import Running

    return Running(s.model).probe(source, destination, tcp=port)  # type: ignore[attr-defined]


def s_probe_result_icmp(s: object, source: str, destination: str):  # type: ignore[no-untyped-def]
    from netemu.testing import Running

    return Running(s.model).probe(source, destination, icmp=True)  # type: ignore[attr-defined]


def s_probe(s: object, source: str, destination: str) -> str:
    return str(s_probe_result(s, source, destination).result)


LABS = Path(__file__).resolve().parents[2] / "scenarios" / "labs"


def test_lab13_narrowing_keeps_the_ssh_session_revoking_kills_it() -> None:
    """7.13, 7.15 (lab 13): a real SSH session admitted by tcp/22 from 0.0.0.0/0 survives
    the rule being narrowed to the office's /32 in one apply, and dies at once when the
    rule is deleted instead."""
    lab = LABS / "13-revoke-open-ssh"
    broken, fixed = (lab / "scenario.yaml").read_text(), (lab / "solution.yaml").read_text()
    with live(broken) as s, HeldSsh(s.model, "office", "bastion") as ssh:
        s.apply(fixed)
        assert ssh.alive()
        assert s_probe_result(s, "stranger", "bastion", 22).result == "blocked"
    with live(broken) as s, HeldSsh(s.model, "office", "bastion") as ssh:
        s.apply(broken.replace("      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}", "      []"))
        assert not ssh.alive()


def test_lab14_acl_deny_cuts_the_replication_stream_at_once() -> None:
    """8.15 (lab 14): the replication connection to the replica's MySQL is cut by the
    network ACL's deny at its next packet, and flows again once the allow comes first."""
    lab = LABS / "14-acl-cuts-replication"
    broken, fixed = (lab / "scenario.yaml").read_text(), (lab / "solution.yaml").read_text()
    with live(fixed) as s, Held(s.model, "primary", "replica", 3306, echo=False) as c:
        assert c.alive()
        s.apply(broken)
        assert not c.alive()
        s.apply(fixed)
        assert c.alive(timeout=5)  # TCP retransmits the byte the deny dropped


def test_lab_check_applies_in_place_so_an_open_ssh_session_survives(tmp_path: Path) -> None:
    """`lab check` applies the learner's file (7.15): a real SSH session lives through a
    check that adds an unrelated rule, and dies when the check removes the rule that
    carries it untracked (7.13)."""
    from netemu import lab_catalog, lab_session, lifecycle

    driver = lifecycle.KernelDriver()
    lab = lab_catalog.find("13")
    session, model = lab_session.start(lab, tmp_path / "lab", False, driver)
    try:
        with HeldSsh(model, "office", "bastion") as ssh:
            open_ssh = "      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}\n"
            text = session.path.read_text()
            session.path.write_text(
                text.replace(
                    open_ssh, open_ssh + "      - {protocol: tcp, port: 443, cidr: 0.0.0.0/0}\n"
                )
            )
            lab_session.check(session, driver)
            assert ssh.alive()
            session.path.write_text(text.replace(open_ssh, "      []\n"))
            lab_session.check(session, driver)
            assert not ssh.alive()
    finally:
        lab_session.stop(session, driver)
