"""`netemu verify`: the live kernel checked against the plan; injected faults are named, and
`up` refuses (and rolls back) a build that does not match its plan (issue 7.4)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator

import pytest
import relkit

from netemu import lifecycle, verify
from netemu.driver import netns
from netemu.driver import observe as ob
from netemu.driver import state as st
from netemu.model import load_model_text
from netemu.render import render
from netemu.render.plan import Plan

NAME = "rl-v"
FOREIGN = f"rlx-foreign-{os.getpid()}"  # a namespace outside every scenario (no ne- prefix)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def in_ns(ns: str, *argv: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, *argv], check=True, capture_output=True)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("kernel tests need root")
    d = tmp_path_factory.mktemp("verify")
    os.chmod(d, 0o755)
    path = relkit.write(str(d), relkit.scenario(NAME), f"{NAME}.yaml")
    model, _ = lifecycle.up(path, lifecycle.KernelDriver())
    try:
        yield model.name
    finally:
        lifecycle.down(model.name, lifecycle.KernelDriver())
        netns.delete(FOREIGN)
        assert relkit.leftovers() == []


def _pid_of(what: str) -> int:
    state = st.load(NAME)
    assert state
    for pid in state.pids:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if what.encode() in f.read():
                return pid
    raise AssertionError(f"no process {what}")


def _foreign_link() -> tuple[Callable[[], None], Callable[[], None]]:
    def make() -> None:
        if not netns.exists(FOREIGN):
            netns.create(FOREIGN)
        ip("-n", f"ne-{NAME}-i-app1", "link", "add", "side0", "type", "veth",
           "peer", "name", "side1", "netns", FOREIGN)  # fmt: skip

    return make, lambda: ip("-n", f"ne-{NAME}-i-app1", "link", "del", "side0")


def _escaped_process() -> tuple[Callable[[], None], Callable[[], None]]:
    """A process started from the scenario's files, but in the host's own namespace."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        started.append(subprocess.Popen(["sh", "-c", "sleep 30", f"/run/netemu/{NAME}/x"]))

    def stop() -> None:
        started[0].kill()
        started[0].wait()

    return start, stop


def _rule_changed_comment_kept() -> tuple[Callable[[], None], Callable[[], None]]:
    """A rule whose match is no longer the plan's, under the plan's own comment."""
    import nftables

    ns = f"ne-{NAME}-s-db"
    kept: list[dict[str, object]] = []

    def nft(cmd: dict[str, object]) -> dict[str, object]:
        with netns.entered(ns):
            n = nftables.Nftables()
            n.set_json_output(True)
            rc, out, err = n.json_cmd({"nftables": [cmd]})
        assert rc == 0, err
        return out  # type: ignore[no-any-return]

    def replace(rule: dict[str, object], expr: object) -> None:
        body = {k: rule[k] for k in ("family", "table", "chain", "handle", "comment")}
        nft({"replace": {"rule": {**body, "expr": expr}}})

    def change() -> None:
        listed = nft({"list": {"ruleset": None}})["nftables"]
        rule = next(
            i["rule"]
            for i in listed  # type: ignore[attr-defined]
            if "rule" in i
            and " rule " in (i["rule"].get("comment") or "")
            and i["rule"]["expr"][-1] == {"accept": None}
        )
        kept.append(rule)
        probe = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                           "right": "192.0.2.99"}}  # fmt: skip
        replace(rule, [probe, {"accept": None}])

    return change, lambda: replace(kept[0], kept[0]["expr"])


def _kill_dns() -> tuple[Callable[[], None], Callable[[], None]]:
    def kill() -> None:
        os.kill(_pid_of("dns/vpc-main.conf"), signal.SIGKILL)

    return kill, lambda: None  # the last fault: the scenario is torn down after it


INST, R, S = f"ne-{NAME}-i", f"ne-{NAME}-r-main", f"ne-{NAME}-s"
FAULTS: list[tuple[str, Callable[[], tuple[Callable[[], None], Callable[[], None]]], list[str]]] = [
    (
        "stray route",
        lambda: (
            lambda: ip("-n", f"{INST}-web1", "route", "add", "10.99.0.0/16", "via", "172.30.0.1"),
            lambda: ip("-n", f"{INST}-web1", "route", "del", "10.99.0.0/16"),
        ),
        [f"{INST}-web1: route: unexpected 10.99.0.0/16 via 172.30.0.1 dev eth0"],
    ),
    (
        "stray default route in the router's main table",
        lambda: (
            lambda: ip(
                "-n", R, "route", "add", "default", "via", "169.254.2.2", "dev", "igw", "onlink"
            ),
            lambda: ip("-n", R, "route", "del", "default"),
        ),
        [f"{R}: route: unexpected 0.0.0.0/0 via 169.254.2.2 dev igw table main"],
    ),
    (
        "side link between two instances",
        lambda: (
            lambda: ip(
                "-n",
                f"{INST}-web1",
                "link",
                "add",
                "side",
                "type",
                "veth",
                "peer",
                "name",
                "side",
                "netns",
                f"{INST}-db1",
            ),
            lambda: ip("-n", f"{INST}-web1", "link", "del", "side"),
        ),
        [
            f"{INST}-web1: link: unexpected side: veth whose peer side is in {INST}-db1",
            f"{INST}-db1: link: unexpected side: veth whose peer side is in {INST}-web1",
        ],
    ),
    (
        "link to a namespace outside the scenario",
        _foreign_link,
        [f"{INST}-app1: link: unexpected side0: veth whose peer side1 is in {FOREIGN}"],
    ),
    (
        "nftables table deleted",
        lambda: (
            lambda: in_ns(f"{S}-db", "nft", "delete", "table", "inet", "netemu"),
            lambda: None,  # restored by reloading below
        ),
        [f"{S}-db: nftables: table inet netemu is missing"],
    ),
    (
        "extra address",
        lambda: (
            lambda: ip("-n", f"{INST}-db1", "addr", "add", "172.30.2.99/24", "dev", "eth0"),
            lambda: ip("-n", f"{INST}-db1", "addr", "del", "172.30.2.99/24", "dev", "eth0"),
        ),
        [f"{INST}-db1: address: unexpected 172.30.2.99/24 on eth0"],
    ),
    (
        "extra policy rule",
        lambda: (
            lambda: ip("-n", R, "rule", "add", "pref", "5", "from", "10.0.0.0/8", "table", "main"),
            lambda: ip("-n", R, "rule", "del", "pref", "5"),
        ),
        [f"{R}: rule: unexpected 5: from all lookup main with from=10.0.0.0/8"],
    ),
    (
        "forwarding switched on in an instance",
        lambda: (
            lambda: in_ns(f"{INST}-web2", "sysctl", "-qw", "net.ipv4.ip_forward=1"),
            lambda: in_ns(f"{INST}-web2", "sysctl", "-qw", "net.ipv4.ip_forward=0"),
        ),
        [f"{INST}-web2: sysctl: net/ipv4/ip_forward is 1, the plan 0"],
    ),
    (
        "namespace the plan does not have",
        lambda: (
            lambda: netns.create(f"ne-{NAME}-i-ghost"),
            lambda: netns.delete(f"ne-{NAME}-i-ghost"),
        ),
        [f"ne-{NAME}-i-ghost: namespace: exists, but the plan has no such namespace"],
    ),
    (
        "process of the scenario in the host's namespace",
        _escaped_process,
        [f"{NAME}: process: pid ", "(sh) runs outside the scenario's namespaces"],
    ),
    (
        "rule match changed, comment kept",
        _rule_changed_comment_kept,
        [f"ne-{NAME}-s-db: nftables: chain ", "does not do what the plan asks: it is "],
    ),
    ("DNS server killed", _kill_dns, [f"{NAME}: process: dns-server vpc:main (pid "]),
]


@pytest.mark.kernel
def test_clean_scenario_verifies_with_exit_0(running: str) -> None:
    ran = relkit.netemu("verify", running)
    assert ran.rc == 0, ran.out
    doc = json.loads(relkit.netemu("verify", running, "--json").out)
    assert doc == {"scenario": running, "ok": True, "differences": []}


@pytest.mark.kernel
@pytest.mark.parametrize("fault", FAULTS, ids=[f[0] for f in FAULTS])
def test_verify_names_an_injected_fault(
    running: str, fault: tuple[str, Callable[[], tuple[Callable[[], None], Callable[[], None]]],
                               list[str]],
) -> None:  # fmt: skip
    _what, make, expected = fault
    inject, undo = make()
    inject()
    try:
        ran = relkit.netemu("verify", running)
        assert ran.rc == 1
        for line in expected:
            assert line in ran.out, ran.out
        assert "difference(s)" in ran.out
    finally:
        undo()
    if fault[0] == "nftables table deleted":
        model = lifecycle.running_model(running)
        from netemu.driver import kernel

        (rs,) = [r for r in render(model).rulesets if r.ns == f"{S}-db"]
        kernel.load_ruleset(rs)
    if fault[0] != "DNS server killed":
        assert relkit.netemu("verify", running).rc == 0


# --- the comparison itself, without a kernel ------------------------------------------

TINY = """
name: tiny
vpcs: {main: {cidr: 10.0.0.0/16}}
subnets: {a: {vpc: main, cidr: 10.0.0.0/24}}
instances: {x: {subnet: a}}
"""


def _seen_as_planned(plan: Plan) -> dict[str, ob.NamespaceSeen]:
    """What the kernel would show if it held exactly `plan` (and DHCP did its part)."""
    model, _ = load_model_text(TINY)
    want = verify.wanted(model, plan)
    seen = {}
    for i, (name, w) in enumerate(want.items()):
        ns = ob.NamespaceSeen(name, 1000 + i)
        ns.links = {1: ob.LinkSeen(1, "lo", None, True, None, None, None)}
        for j, (ifname, (peer_ns, peer_if, mac)) in enumerate(sorted(w.links.items()), 2):
            ns.links[j] = ob.LinkSeen(j, ifname, "veth", True, mac, 2, 0, peer_ns, peer_if)
        ns.addresses = [ob.AddressSeen(*a) for a in w.addresses]
        ns.routes = [ob.RouteSeen(*r, proto=4) for r in w.routes]
        for a in w.addresses:
            ns.routes += [ob.RouteSeen(*r, proto=2) for r in verify._kernel_routes(*a)]
        ns.rules = [ob.RuleSeen(*r) for r in w.rules]
        ns.sysctls = dict(w.sysctls)
        if w.chains is not None:
            ns.nft.tables = [("inet", "netemu")]
            ns.nft.chains = {
                c: ob.ChainSeen(c, cw.hook, cw.prio, cw.type, cw.policy, tuple(cw.comments))
                for c, cw in w.chains.items()
            }
            ns.nft.sets = {k: v or 0 for k, v in w.sets.items()}
        seen[name] = ns
    return seen


def _compare(seen: dict[str, ob.NamespaceSeen]) -> list[str]:
    model, _ = load_model_text(TINY)
    want = verify.wanted(model, render(model))
    return [str(d) for d in verify.compare("tiny", want, seen, set(seen), host_inode=1)]


def test_a_kernel_holding_exactly_the_plan_has_no_difference() -> None:
    model, _ = load_model_text(TINY)
    assert _compare(_seen_as_planned(render(model))) == []


def test_a_veth_to_the_host_is_named() -> None:
    model, _ = load_model_text(TINY)
    seen = _seen_as_planned(render(model))
    seen["ne-tiny-i-x"].links[9] = ob.LinkSeen(
        9, "leak", "veth", True, None, 7, 1, ob.HOST, "vethX"
    )
    assert _compare(seen) == [
        "ne-tiny-i-x: link: unexpected leak: veth whose peer vethX is in the host's own namespace"
    ]


def test_a_real_interface_moved_into_a_namespace_is_named() -> None:
    model, _ = load_model_text(TINY)
    seen = _seen_as_planned(render(model))
    seen["ne-tiny-s-a"].links[9] = ob.LinkSeen(9, "enp3s0", None, True, "aa:bb:cc:dd:ee:ff", None, None)  # fmt: skip
    (only,) = _compare(seen)
    assert only.startswith("ne-tiny-s-a: link: unexpected enp3s0: a device without a link kind")


def test_a_namespace_that_is_the_hosts_own_is_named() -> None:
    model, _ = load_model_text(TINY)
    seen = _seen_as_planned(render(model))
    seen["ne-tiny-inet"].inode = 1
    assert _compare(seen) == ["ne-tiny-inet: namespace: is the host's own network namespace"]


def test_kernel_routes_and_fallback_tunnels_are_allowed_but_a_stray_default_is_not() -> None:
    model, _ = load_model_text(TINY)
    seen = _seen_as_planned(render(model))
    seen["ne-tiny-i-x"].links[9] = ob.LinkSeen(9, "tunl0", "ipip", False, None, None, None)
    assert _compare(seen) == []
    seen["ne-tiny-s-a"].routes.append(ob.RouteSeen(254, "0.0.0.0/0", "unicast", "10.0.0.9", "e0", 0, 3))  # fmt: skip
    assert _compare(seen) == [
        "ne-tiny-s-a: route: unexpected 0.0.0.0/0 via 10.0.0.9 dev e0 table main"
    ]


def test_a_missing_rule_and_a_flushed_chain_are_named() -> None:
    model, _ = load_model_text(TINY)
    seen = _seen_as_planned(render(model))
    subnet = seen["ne-tiny-s-a"].nft
    chain = next(c for c in subnet.chains.values() if c.comments)
    subnet.chains[chain.name] = ob.ChainSeen(chain.name, chain.hook, chain.prio, chain.type, chain.policy, ())  # fmt: skip
    (only,) = _compare(seen)
    assert only.startswith(f"ne-tiny-s-a: nftables: chain {chain.name} holds 0 rule(s), the plan")
