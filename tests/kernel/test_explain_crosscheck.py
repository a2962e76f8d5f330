"""The model agrees with the packets: every shipped scenario and lab, random scenarios, and
the disagreements the differential fuzzer found (ref 13: the static answer of `explain`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from netemu import lab_catalog as catalog
from netemu.explain import explain, fuzz
from netemu.explain.crosscheck import check, compare, up
from netemu.explain.index import ModelIndex
from netemu.model import load_model_text
from netemu.model.types import Model
from netemu.probe.engine import ProbeSpec, probe
from netemu.probe.expect import spec_of

ROOT = Path(__file__).resolve().parents[2]
BOOK = sorted((ROOT / "scenarios" / "book").glob("*.yaml"))


def _renamed(text: str, name: str) -> str:
    """The scenario under a name of this test file's own (xk...), so runs never collide."""
    if re.search(r"^name:", text, re.M):
        return re.sub(r"^name:.*$", f"name: {name}", text, count=1, flags=re.M)
    return f"name: {name}\n{text}"


def _disagreements(running: Model, specs: list[ProbeSpec]) -> list[str]:
    return [
        f"{c.spec}: {'; '.join(c.differences)}"
        for c in check(running, specs, strict=True)
        if c.differences
    ]


@pytest.mark.parametrize("path", BOOK, ids=[p.stem for p in BOOK])
def test_book_scenario_expectations_agree_with_packets(path: Path) -> None:
    text = _renamed(path.read_text(), f"xk{BOOK.index(path)}")
    with up(text, f"xk{BOOK.index(path)}") as running:
        specs = [spec_of(e) for e in running.expectations]
        assert _disagreements(running, specs) == []


LABS = catalog.all_labs()


@pytest.mark.parametrize("lab", LABS, ids=[lab.name for lab in LABS])
def test_lab_checks_agree_with_packets_broken_and_solved(lab: catalog.Lab) -> None:
    for path in (lab.scenario_path, lab.solution_path):
        graded, _ = catalog.graded_model(lab, path)
        name = f"xl{lab.name[:2]}"
        with up(_renamed(Path(path).read_text(), name), name) as running:
            specs = [spec_of(e) for e in graded.expectations]
            assert _disagreements(running, specs) == [], path


@pytest.mark.parametrize("seed", [11, 29, 511, 517, 523])
def test_random_scenarios_agree_with_packets(seed: int) -> None:
    """A bounded run of the differential fuzzer (the full one: make crosscheck). Seeds 511,
    517 and 523 are scenarios on which it once found disagreements."""
    d, model = fuzz.generate(seed, name="xf")
    specs = fuzz.probes(model, seed, 40)
    with up(fuzz.to_yaml(d), "xf") as running:
        assert _disagreements(running, specs) == []


# Found by the fuzzer: a reply that a route sends through a NAT gateway which never saw the
# request. Linux conntrack takes neither a TCP SYN-ACK/RST nor an ICMP echo reply as the
# start of a flow, so the gateway forwards them untranslated; the model must agree.
REPLY_VIA_NAT = """
name: xr
vpcs:
  v: {cidr: 10.1.0.0/16}
internet_gateways:
  igw: {vpc: v}
subnets:
  pub: {vpc: v, cidr: 10.1.0.0/24, public_ip_on_launch: true, route_table: pub}
  odd: {vpc: v, cidr: 10.1.1.0/24, public_ip_on_launch: true, route_table: odd}
route_tables:
  pub:
    vpc: v
    routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]
  odd:
    vpc: v
    routes: [{destination: 0.0.0.0/0, nat_gateway: nat}]
nat_gateways:
  nat: {subnet: pub, elastic_ip: auto}
security_groups:
  open:
    vpc: v
    ingress: [{protocol: all, cidr: 0.0.0.0/0}]
instances:
  b: {subnet: odd, security_groups: [open], services: [ssh, "udp:53"]}
internet:
  hosts:
    client: {ip: 198.51.100.10}
"""


@pytest.mark.parametrize(
    "protocol,port",
    [("tcp", 22), ("tcp", 8080), ("udp", 53), ("icmp", None)],
)
def test_reply_through_a_nat_gateway_that_never_saw_the_request(
    protocol: str, port: int | None
) -> None:
    """6.9: the NAT gateway starts no flow from a reply; the verdicts of model and kernel
    agree whatever the protocol (seed 517 of the fuzzer)."""
    spec = ProbeSpec("client", "b", protocol, port, 40000 if port else None)  # type: ignore[arg-type]
    with up(REPLY_VIA_NAT, "xr") as running:
        assert _disagreements(running, [spec]) == []


# Found by the fuzzer: AWS keeps security-group state per ENI, netemu's kernel per subnet.
# A reply that a route sends into another ENI of the same subnet passes there by state in
# the kernel, where AWS would judge it anew (and the source/destination check drop it).
REPLY_INTO_ANOTHER_ENI = """
name: xe
vpcs:
  v: {cidr: 10.1.0.0/16}
internet_gateways:
  igw: {vpc: v}
subnets:
  s: {vpc: v, cidr: 10.1.0.0/24, public_ip_on_launch: true, route_table: r}
route_tables:
  r:
    vpc: v
    routes:
    - {destination: 0.0.0.0/0, internet_gateway: igw}
    - {destination: 192.0.2.0/24, instance: x}
security_groups:
  open:
    vpc: v
    ingress: [{protocol: all, cidr: 0.0.0.0/0}]
instances:
  x: {subnet: s, security_groups: [open]}
  b: {subnet: s, security_groups: [open], services: ["tcp:8080", "udp:53"]}
internet:
  hosts:
    far: {ip: 192.0.2.30}
"""


def test_security_group_state_per_subnet_is_a_documented_difference() -> None:
    """7.10, 9.9 and aws-decisions.md: the model says what AWS does (x's ENI drops the
    reply, source/destination check) and knows what netemu's kernel does instead."""
    specs = [
        ProbeSpec("far", "b", "tcp", 8080, 40000),  # SYN-ACK: passes by state, x drops it
        ProbeSpec("far", "b", "tcp", 8081, 40001),  # RST: a second reset is not a reply
        ProbeSpec("far", "b", "udp", 53, 40002),
        ProbeSpec("far", "b", "icmp"),
    ]
    model, _ = load_model_text(REPLY_INTO_ANOTHER_ENI)
    for spec in specs:
        aws = explain(model, spec)
        assert aws.reason and aws.reason.code == "ENI_SOURCE_DEST_CHECK_RESTRICTION"
    with up(REPLY_INTO_ANOTHER_ENI, "xe") as running:
        ix = ModelIndex(running)
        kernel = probe(running, specs)
        for spec, k in zip(specs, kernel, strict=True):
            assert compare(k, explain(running, spec, ix, as_kernel=True), strict=True) == []
        assert [k.reason.code if k.reason else None for k in kernel] == [
            None,
            "ENI_SOURCE_DEST_CHECK_RESTRICTION",
            None,
            None,
        ]
        assert explain(running, specs[0], ix).kernel_differs


def test_default_source_port_answers_like_a_probe() -> None:
    """No source port: a probe picks one from 32768-60999; where no ACL splits that range
    the model's answer holds for every port (8.12)."""
    d, model = fuzz.generate(3, name="xs")
    specs = [replace(s, source_port=None) for s in fuzz.probes(model, 3, 30)]
    with up(fuzz.to_yaml(d), "xs") as running:
        ix = ModelIndex(running)
        for spec, k in zip(specs, probe(running, specs), strict=True):
            s = explain(running, spec, ix, as_kernel=True)
            if not any("depends on the source port" in n for n in s.notes):
                assert compare(k, s) == [], spec


def _netemu(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cross_check_command_shows_both_answers(tmp_path: Path) -> None:
    path = tmp_path / "xkc.yaml"
    path.write_text(_renamed((ROOT / "scenarios/book/webdb.yaml").read_text(), "xkc"))
    out = _netemu("test", str(path), "--cross-check", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert (doc["failed"], doc["disagreements"]) == (0, 0)
    first = doc["results"][0]
    assert first["agree"] and first["model"]["modelled"] is True
    assert "modelled" not in first["kernel"]


def test_reach_packets_confirms_every_cell(tmp_path: Path) -> None:
    path = tmp_path / "xkr.yaml"
    path.write_text(_renamed((ROOT / "scenarios/book/webdb.yaml").read_text(), "xkr"))
    out = _netemu(
        "reach",
        str(path),
        "--from",
        "web",
        "--from",
        "internet",
        "--tcp",
        "22",
        "--icmp",
        "--packets",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "packets: 12 cells probed, 0 disagree with the model" in out.stdout


def test_running_and_modelled_scenarios_judge_expectations_alike() -> None:
    """The pytest plugin's two faces: packets as root, the model without (same outcomes)."""
    from netemu.explain.testing import Modelled
    from netemu.testing import running_text

    text = _renamed((ROOT / "scenarios/book/webdb.yaml").read_text(), "xkp")
    with running_text(text) as r:
        kernel = [(o.title, o.ok) for o in r.expectations()]
    modelled = [(o.title, o.ok) for o in Modelled(load_model_text(text)[0]).expectations()]
    assert kernel == modelled and all(ok for _, ok in kernel)
