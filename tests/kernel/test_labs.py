"""Troubleshooting labs on a real kernel: each broken scenario fails its checks for the
reason the lab teaches, the reference solution passes, over-broad guesses do not, and the
whole flow works from the command line the way a person drives it."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from netemu import lab_catalog as catalog
from netemu import lab_session, lifecycle
from netemu.driver import state as st
from netemu.probe.expect import Outcome

# What each broken lab must fail, measured: check title -> (code, component, direction,
# rule, leg) of the drop, or None where the check fails because something that must be
# blocked is reachable. Every other check of the lab passes on the broken scenario.
INTENDED: dict[str, dict[str, tuple[str, str, str, str | None, str] | None]] = {
    "01-no-igw-route": {
        "customer -> web tcp/80 reachable": (
            "NO_ROUTE_TO_DESTINATION",
            "route_table:public",
            "egress",
            None,
            "reply",
        ),
        "web -> updates tcp/443 reachable": (
            "NO_ROUTE_TO_DESTINATION",
            "route_table:public",
            "egress",
            None,
            "request",
        ),
    },
    "02-no-public-ip": {
        "reader -> web tcp/80 reachable": (
            "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS",
            "internet_gateway:igw",
            "ingress",
            None,
            "request",
        ),
        "reader -> web tcp/443 reachable": (
            "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS",
            "internet_gateway:igw",
            "ingress",
            None,
            "request",
        ),
        "web -> cdn tcp/443 reachable": (
            "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
            "internet_gateway:igw",
            "egress",
            None,
            "request",
        ),
    },
    "03-nat-in-private": {
        "app -> repo tcp/443 reachable": (
            "NO_ROUTE_TO_DESTINATION",
            "route_table:data",
            "egress",
            None,
            "request",
        ),
        "app -> repo tcp/80 reachable": (
            "NO_ROUTE_TO_DESTINATION",
            "route_table:data",
            "egress",
            None,
            "request",
        ),
    },
    "04-private-route-to-igw": {
        "db -> repo tcp/443 reachable": (
            "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
            "internet_gateway:igw",
            "egress",
            None,
            "request",
        ),
        "db -> repo tcp/80 reachable": (
            "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
            "internet_gateway:igw",
            "egress",
            None,
            "request",
        ),
    },
    "05-acl-deny-shadows-allow": {
        "partner -> web tcp/443 reachable": (
            "SUBNET_ACL_RESTRICTION",
            "network_acl:public",
            "ingress",
            "100",
            "request",
        ),
    },
    "06-acl-no-outbound-ephemeral": {
        f"{src} -> web tcp/{port} reachable": (
            "SUBNET_ACL_RESTRICTION",
            "network_acl:web",
            "egress",
            "*",
            "reply",
        )
        for src, port in (("reader", 80), ("reader", 443), ("office", 22))
    },
    "07-acl-nat-ephemeral": {
        f"batch -> partner tcp/{port} reachable": (
            "SUBNET_ACL_RESTRICTION",
            "network_acl:public",
            "ingress",
            "*",
            "reply",
        )
        for port in (443, 80)
    },
    "15-pmtud-icmp-blocked": {
        # the download's frag-needed, refused by the sender's group (ref 5.6, 7.19)
        "client -> api tcp/8443 reachable": (
            "ENI_SG_RULES_MISMATCH",
            "security_group:api",
            "ingress",
            "sg-ids",
            "reply",
        ),
    },
    "18-s3-through-nat": {
        # reachable, but through the NAT gateway: S3 sees its elastic IP (ref 17.2)
        "etl -> s3 tcp/443 reachable": None,
    },
    "16-peering-one-way": {
        # the request crosses the peering; the reply has no route back to it (ref 1.10) and
        # follows the default route through the NAT gateway to the internet gateway (5.5)
        "reporter -> db tcp/5432 reachable": (
            "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
            "internet_gateway:igw",
            "egress",
            None,
            "reply",
        ),
    },
    "08-sg-wrong-reference": {
        "app -> db tcp/5432 reachable": (
            "ENI_SG_RULES_MISMATCH",
            "security_group:db",
            "ingress",
            "sg-ids",
            "request",
        ),
        "web -> db tcp/5432 blocked": None,
    },
    "13-revoke-open-ssh": {
        "stranger -> bastion tcp/22 blocked": None,
    },
    "14-acl-cuts-replication": {
        "primary -> replica tcp/3306 reachable": (
            "SUBNET_ACL_RESTRICTION",
            "network_acl:replica",
            "ingress",
            "50",
            "request",
        ),
    },
    "09-db-open-to-world": {
        "attacker -> db tcp/3306 blocked": None,
        "web -> db tcp/3306 blocked": None,
    },
    "10-sg-no-egress": {
        "app -> payments tcp/443 reachable": (
            "ENI_SG_RULES_MISMATCH",
            "security_group:app",
            "egress",
            "sg-ids",
            "request",
        ),
        "app -> db tcp/5432 reachable": (
            "ENI_SG_RULES_MISMATCH",
            "security_group:app",
            "egress",
            "sg-ids",
            "request",
        ),
    },
    "11-blackhole-after-nat-removal": {
        "worker -> storage tcp/443 reachable": (
            "BAD_STATE_ROUTE",
            "route_table:private",
            "egress",
            "0.0.0.0/0",
            "request",
        ),
    },
    "12-capstone": {
        "customer -> web tcp/80 reachable": (
            "ENI_SG_RULES_MISMATCH",
            "security_group:web",
            "ingress",
            "sg-ids",
            "request",
        ),
        "app -> payments tcp/443 reachable": (
            "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
            "internet_gateway:igw",
            "egress",
            None,
            "request",
        ),
        "app -> db tcp/5432 reachable": (
            "ENI_SG_RULES_MISMATCH",
            "security_group:db",
            "ingress",
            "sg-ids",
            "request",
        ),
    },
}
LABS = catalog.all_labs()


@pytest.fixture(autouse=True, scope="module")
def _one_run_of_these_tests_at_a_time() -> Iterator[None]:
    """Lab scenarios have fixed names (lab01, ...): two runs of this module on one host
    would bring up the same scenario, so a second run waits for the first."""
    with open(os.path.join(tempfile.gettempdir(), "netemu-test-labs.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def grade(lab: catalog.Lab, path: str) -> list[Outcome]:
    _, outcomes, _ = lab_session.grade(lab, path, lifecycle.KernelDriver())
    return outcomes


def edited(tmp_path: Path, lab: catalog.Lab, *edits: tuple[str, str]) -> str:
    """The lab's broken scenario with textual edits, as a user would make them."""
    text = Path(lab.scenario_path).read_text()
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return str(path)


INTENDED["17-ipv6-no-nat"] = {
    # IPv6 has no NAT: with ::/0 to the internet gateway the app server is on the internet
    "client -> app tcp/22 over IPv6 blocked": None,
}
INTENDED["19-tgw-no-propagation"] = {
    # the request crosses the transit gateway by the `apps` table; the reply comes in on
    # the shared VPC's attachment, whose table has no route to payments (ref 18.3, 18.5)
    "ci -> git tcp/443 reachable": (
        "TGW_RTB_CANNOT_ROUTE",
        "transit_gateway_route_table:services",
        "egress",
        None,
        "reply",
    ),
}


def drop(o: Outcome) -> tuple[str, str, str, str | None, str] | None:
    r = o.result.reason
    if r is None:
        return None
    rule = r.rule
    if r.code == "ENI_SG_RULES_MISMATCH":  # the IDs of the ENI's groups, which vary
        assert rule and all(x.startswith("sg-") for x in rule.split(",")), rule
        rule = "sg-ids"
    return (r.code, r.component, r.direction or "", rule, r.leg)


def test_every_lab_has_its_intended_failure_recorded() -> None:
    assert set(INTENDED) == {lab.name for lab in LABS}


@pytest.mark.parametrize("lab", LABS, ids=[lab.name for lab in LABS])
def test_broken_lab_fails_for_the_reason_it_teaches(lab: catalog.Lab) -> None:
    outcomes = grade(lab, lab.scenario_path)
    failed = {o.title: o for o in outcomes if not o.ok}
    assert set(failed) == set(INTENDED[lab.name]), [o.why for o in failed.values()]
    for title, want in INTENDED[lab.name].items():
        o = failed[title]
        if want is None:  # something that must be blocked got through
            assert o.result.result == "reachable", o.why
        else:
            assert o.result.result == "blocked", o.why
            assert drop(o) == want


@pytest.mark.parametrize("lab", LABS, ids=[lab.name for lab in LABS])
def test_reference_solution_passes_every_check(lab: catalog.Lab) -> None:
    outcomes = grade(lab, lab.solution_path)
    assert [o.why for o in outcomes if not o.ok] == []


def test_nat_gateway_reply_to_a_low_port_dies_in_front_of_the_nat_gateway() -> None:
    """Lab 07 (ref 6.8, 6.13): the NAT gateway picks a random port in 1024-65535 for each
    download; a download fails exactly when its port is below the ACL's 32768, and the
    dropped reply is addressed to the NAT gateway's private IP."""
    lab = catalog.find("07")
    outcomes = grade(lab, lab.scenario_path)
    model, _ = catalog.graded_model(lab, lab.scenario_path)
    nat_ip = str(model.nat_gateways["nat"].eni.private_ip)
    downloads = [o for o in outcomes if o.expectation.destination == "partner"]
    assert downloads and any(o.ok for o in downloads) and any(not o.ok for o in downloads)
    for o in downloads:
        assert o.result.seen_port is not None
        assert o.ok == (o.result.seen_port >= 32768), o.why
        if not o.ok:
            assert o.result.reason and o.result.reason.packet
            assert o.result.reason.packet["dst"] == nat_ip


def test_capstone_hides_the_acl_fault_behind_the_security_group(tmp_path: Path) -> None:
    lab = catalog.find("12")
    path = edited(
        tmp_path,
        lab,
        (
            "      - {protocol: tcp, port: 5432, security_group: web}",
            "      - {protocol: tcp, port: 5432, security_group: app}",
        ),
    )
    outcomes = {o.title: o for o in grade(lab, path)}
    o = outcomes["app -> db tcp/5432 reachable"]
    assert drop(o) == ("SUBNET_ACL_RESTRICTION", "network_acl:data", "egress", "*", "reply")


# Fixes that make the symptom go away by opening too much; the checks must catch them.
GUESSES = {
    "01-no-igw-route": [
        (
            "      - {protocol: tcp, port: 80, cidr: 0.0.0.0/0}\n",
            "      - {protocol: all, cidr: 0.0.0.0/0}\n",
        ),
        ("      - {destination: 198.51.100.0/24", "      - {destination: 0.0.0.0/0"),
    ],
    "02-no-public-ip": [
        ("    route_table: public\n", "    route_table: public\n    public_ip_on_launch: true\n")
    ],
    "04-private-route-to-igw": [
        ("    security_groups: [db]\n", "    security_groups: [db]\n    public_ip: true\n"),
    ],
    "05-acl-deny-shadows-allow": [
        ("      - {rule: 100, protocol: all, cidr: 192.0.2.0/24, action: deny}\n", ""),
    ],
    "06-acl-no-outbound-ephemeral": [
        (
            "      - {rule: 110, protocol: tcp, port: 443, cidr: 0.0.0.0/0, action: allow}\n\n",
            "      - {rule: 110, protocol: all, cidr: 0.0.0.0/0, action: allow}\n\n",
        ),
    ],
    "08-sg-wrong-reference": [
        ("port: 5432, security_group: web}", "port: 5432, cidr: 10.80.0.0/16}")
    ],
    "09-db-open-to-world": [("port: 3306, cidr: 0.0.0.0/0}", "port: 3306, cidr: 10.90.0.0/16}")],
    "15-pmtud-icmp-blocked": [  # all of ICMP instead of type 3 code 4
        (
            "      - {protocol: tcp, port: 8443, cidr: 0.0.0.0/0}\n",
            "      - {protocol: tcp, port: 8443, cidr: 0.0.0.0/0}\n"
            "      - {protocol: icmp, cidr: 0.0.0.0/0}\n",
        )
    ],
    # everything of the shop's private subnet to the peering: its NAT route is gone (1.10)
    "16-peering-one-way": [
        (
            "      - {destination: 0.0.0.0/0, nat_gateway: nat}\n  reports:",
            "      - {destination: 0.0.0.0/0, vpc_peering_connection: shop-analytics}\n  reports:",
        )
    ],
    # S3's addresses to the internet gateway: the instance has no public IP (ref 5.3)
    "18-s3-through-nat": [
        (
            "      - {destination: 0.0.0.0/0, nat_gateway: nat}\n\nsecurity",
            "      - {destination: 0.0.0.0/0, nat_gateway: nat}\n"
            "      - {destination: 198.51.100.128/27, internet_gateway: igw}\n\nsecurity",
        )
    ],
    # deleting the deny lets MySQL in from the internet
    "14-acl-cuts-replication": [
        ("      - {rule: 50, protocol: tcp, port: 3306, cidr: 0.0.0.0/0, action: deny}\n", "")
    ],
    "10-sg-no-egress": [
        ("    egress: []", "    egress:\n      - {protocol: all, cidr: 0.0.0.0/0}")
    ],
    "11-blackhole-after-nat-removal": [
        (
            "{destination: 0.0.0.0/0, blackhole: true}",
            "{destination: 0.0.0.0/0, internet_gateway: igw}",
        ),
        ("    security_groups: [worker]\n", "    security_groups: [worker]\n    public_ip: true\n"),
    ],
}


# The must-stay-blocked (or must-go-through-NAT) check that catches each guess.
CAUGHT_BY = {
    "01-no-igw-route": "customer -> web tcp/22 blocked",
    "02-no-public-ip": "reader -> build tcp/22 blocked",
    "04-private-route-to-igw": "client -> db tcp/3306 blocked",
    "05-acl-deny-shadows-allow": "scanner -> web tcp/443 blocked",
    "06-acl-no-outbound-ephemeral": "web -> mirror tcp/25 blocked",
    "08-sg-wrong-reference": "web -> db tcp/5432 blocked",
    "09-db-open-to-world": "web -> db tcp/3306 blocked",
    "14-acl-cuts-replication": "scanner -> replica tcp/3306 blocked",
    "10-sg-no-egress": "app -> payments tcp/80 blocked",
    "11-blackhole-after-nat-removal": "worker -> storage tcp/443 reachable",
    "15-pmtud-icmp-blocked": "client -> api icmp blocked",
    "16-peering-one-way": "db -> updates tcp/443 reachable",
    "18-s3-through-nat": "etl -> s3 tcp/443 reachable",
}
# every attachment propagated into every table: the spokes reach each other (18.1)
GUESSES["19-tgw-no-propagation"] = [
    ("    propagations: [shared-att]", "    propagations: [shared-att, orders-att, payments-att]"),
    ("    propagations: [orders-att]", "    propagations: [orders-att, payments-att]"),
]
CAUGHT_BY["19-tgw-no-propagation"] = "ci -> api tcp/443 blocked"


@pytest.mark.parametrize("name", sorted(GUESSES))
def test_opening_everything_does_not_pass(name: str, tmp_path: Path) -> None:
    lab = catalog.find(name)
    outcomes = grade(lab, edited(tmp_path, lab, *GUESSES[name]))
    assert CAUGHT_BY[name] in {o.title for o in outcomes if not o.ok}


def netemu(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", "lab", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_lab_flow_from_the_command_line(tmp_path: Path) -> None:
    lab = catalog.find("01")
    copy = tmp_path / "netemu-lab-01-no-igw-route" / "scenario.yaml"
    try:
        listed = netemu(tmp_path, "list")
        assert listed.returncode == 0 and "01-no-igw-route" in listed.stdout

        out = netemu(tmp_path, "start", "01")
        assert out.returncode == 0, out.stderr
        assert "The website nobody can see" in out.stdout and "Goal" in out.stdout
        assert copy.read_text() == Path(lab.scenario_path).read_text()
        assert "lab01" in st.running()

        out = netemu(tmp_path, "check")
        assert out.returncode == 1, out.stderr
        assert "FAIL  customer -> web tcp/80 reachable" in out.stdout
        assert "NO_ROUTE_TO_DESTINATION" in out.stdout and "route_table:public" in out.stdout

        assert "Hint 1 of 3" in netemu(tmp_path, "hint").stdout
        assert "Hint 2 of 3" in netemu(tmp_path, "hint").stdout
        assert "last hint" in netemu(tmp_path, "hint", "3").stdout

        broken = copy.read_text()
        copy.write_text(broken.replace("cidr: 10.10.0.0/24", "cidr: 10.11.0.0/24"))
        out = netemu(tmp_path, "check")
        assert out.returncode == 2
        assert f"{copy}:" in out.stderr and "error:" in out.stderr

        copy.write_text(Path(lab.solution_path).read_text())  # the user's fix
        junit = tmp_path / "grade.xml"
        out = netemu(tmp_path, "check", "--json", "--junit", str(junit))
        assert out.returncode == 0, out.stdout + out.stderr
        doc = json.loads(out.stdout)
        assert (doc["lab"], doc["failed"], doc["solved"], doc["hints_shown"]) == (
            "01-no-igw-route",
            0,
            True,
            3,
        )
        assert ET.parse(junit).getroot().get("failures") == "0"

        out = netemu(tmp_path, "solution")
        assert out.returncode == 0
        assert "+      - {destination: 0.0.0.0/0, internet_gateway: igw}" in out.stdout
        assert "Explanation" in out.stdout

        out = netemu(tmp_path, "stop")
        assert out.returncode == 0 and "is down" in out.stdout
        assert "lab01" not in st.running()
        assert copy.read_text() == Path(lab.solution_path).read_text()
    finally:  # only our own copy: another run's lab01 is not ours to take down
        state = st.load("lab01")
        if state and Path(state.source).resolve() == copy.resolve():
            lifecycle.down("lab01", lifecycle.KernelDriver())
