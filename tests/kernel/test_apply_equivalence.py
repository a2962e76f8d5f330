"""Property: for random pairs of scenarios A and B, `up A; apply B` leaves the kernel exactly
as `up B` does: `verify` passes, and a full dump of every namespace (nft ruleset, routes,
policy rules, addresses, links) is the same. NETEMU_APPLY_PAIRS sets how many pairs
(default 3, so `make test` stays short); NETEMU_APPLY_SEED picks them."""

from __future__ import annotations

import os
import random
import re
import subprocess
import tempfile
from functools import partial

import pytest

from netemu import lifecycle, verify
from netemu.driver import netns
from netemu.driver import state as st
from netemu.ops import apply
from netemu.render import names, render

PAIRS = int(os.environ.get("NETEMU_APPLY_PAIRS", "3"))
SEED = int(os.environ.get("NETEMU_APPLY_SEED", "12"))

TEMPLATE = """
name: eq
region: ap-northeast-1
vpcs:
  main: {{cidr: 10.60.0.0/16, dns_hostnames: {dns}}}
internet_gateways:
  igw: {{vpc: main}}
subnets:
  public: {{vpc: main, cidr: 10.60.0.0/24, public_ip_on_launch: true, route_table: public{acl}}}
  private: {{vpc: main, cidr: 10.60.1.0/24, route_table: private}}
route_tables:
  public:
    vpc: main
    routes:
      - {{destination: 0.0.0.0/0, internet_gateway: igw}}
  private:
    vpc: main
    routes:
{private_routes}
{nat}
network_acls:
  guard:
    vpc: main
    ingress:
      - {{rule: 100, protocol: tcp, port: 22, cidr: 0.0.0.0/0, action: {acl_action}}}
      - {{rule: 200, protocol: all, cidr: 0.0.0.0/0, action: allow}}
    egress:
      - {{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}}
security_groups:
  web:
    vpc: main
    ingress:
{web_ingress}
{web_egress}
  db:
    vpc: main
    ingress:
      - {{protocol: tcp, port: 3306, security_group: web}}
instances:
  web: {{subnet: public, private_ip: 10.60.0.10, security_groups: [{web_groups}], source_dest_check: {sdc}, state: {web_state}{eip}}}
  db: {{subnet: private, private_ip: 10.60.1.10, security_groups: [db], services: [ssh]}}
{app}
internet:
  hosts:
    client: {{ip: 198.51.100.10}}
"""
INGRESS = [
    "      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}",
    "      - {protocol: tcp, port: 443, cidr: 0.0.0.0/0}",
    "      - {protocol: tcp, port: 80, cidr: 198.51.100.0/24}",
    "      - {protocol: icmp, icmp_type: 8, icmp_code: -1, cidr: 0.0.0.0/0}",
]
NAT = "nat_gateways:\n  nat: {subnet: public, elastic_ip: 203.0.113.50}"


def random_scenario(rng: random.Random) -> str:
    ingress = [r for r in INGRESS if rng.random() < 0.5] or ["      []"]
    private = rng.choice(["nat", "blackhole", "none"])
    return TEMPLATE.format(
        dns=rng.choice(["true", "false"]),
        acl=rng.choice(["", ", network_acl: guard"]),
        acl_action=rng.choice(["allow", "deny"]),
        private_routes={
            "nat": "      - {destination: 0.0.0.0/0, nat_gateway: nat}",
            "blackhole": "      - {destination: 0.0.0.0/0, blackhole: true}",
            "none": "      []",
        }[private],
        nat=NAT if private == "nat" else "",
        web_ingress="\n".join(ingress),
        web_egress=rng.choice(["", "    egress: []"]),
        web_groups=rng.choice(["web", "web, db"]),
        sdc=rng.choice(["true", "false"]),
        web_state=rng.choice(["running", "running", "stopped"]),
        eip=rng.choice(["", ", elastic_ip: 192.0.2.44"]),
        app=rng.choice(
            [
                "",
                "  app: {subnet: private, private_ip: 10.60.1.20, services: [http]}",
                "  app: {subnet: public, private_ip: 10.60.0.20, security_groups: [web]}",
            ]
        ),
    )


def _run(ns: str, *argv: str) -> str:
    out = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=partial(netns.enter_for_good, ns),
    ).stdout
    out = re.sub(r"counter packets \d+ bytes \d+", "counter", out)
    out = re.sub(r"^\d+: ", "", out, flags=re.M)  # interface indexes differ, names do not
    out = re.sub(r"@if\d+", "@peer", out)
    out = re.sub(r"link-netns \S+|link-netnsid \d+", "", out)
    # Cables other than ENIs (eth0 of an instance or NAT gateway) get a random MAC from
    # the kernel at every `up`.
    eni = re.search(r"-[in]-", ns.removeprefix(names.scenario_prefix("eq")[:-1]))
    out = re.sub(r"^(?!eth0)(.*link/ether )\S+" if eni else r"(link/ether )\S+", r"\1(random)",
                 out, flags=re.M)  # fmt: skip
    return "\n".join(sorted(line.strip() for line in out.splitlines() if line.strip()))


def dump(scenario: str) -> dict[str, dict[str, str]]:
    out = {}
    for ns in netns.list_names(names.scenario_prefix(scenario)):
        out[ns] = {
            "nft": _run(ns, "nft", "list", "ruleset"),
            "routes": _run(ns, "ip", "-4", "route", "show", "table", "all"),
            "rules": _run(ns, "ip", "-4", "rule"),
            "addresses": _run(ns, "ip", "-o", "-4", "addr"),
            "links": _run(ns, "ip", "-o", "link"),
        }
    return out


def _verified(name: str) -> None:
    model = lifecycle.running_model(name)
    state = st.load(name)
    assert state is not None
    assert verify.verify(model, render(model), state.pids) == []


def pairs() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    return [(random_scenario(rng), random_scenario(rng)) for _ in range(PAIRS)]


@pytest.mark.parametrize(("a", "b"), pairs(), ids=[f"pair{i}" for i in range(PAIRS)])
def test_up_a_then_apply_b_equals_up_b(a: str, b: str) -> None:
    driver = lifecycle.KernelDriver()
    with tempfile.TemporaryDirectory(prefix="netemu-eq-") as d:
        path = os.path.join(d, "scenario.yaml")
        with open(path, "w") as f:
            f.write(a)
        lifecycle.up(path, driver)
        try:
            with open(path, "w") as f:
                f.write(b)
            apply.apply_file(path, False, driver)
            _verified("eq")
            applied = dump("eq")
        finally:
            lifecycle.down("eq", driver)
        lifecycle.up(path, driver)
        try:
            _verified("eq")
            direct = dump("eq")
        finally:
            lifecycle.down("eq", driver)
    assert applied.keys() == direct.keys()
    for ns in direct:
        assert applied[ns] == direct[ns], ns
