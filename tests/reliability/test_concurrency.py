"""Concurrency: two scenarios up at once are separate worlds, `down` of one leaves the other
working, and racing `up`s of one scenario give one winner and a clear refusal (issue 7.2)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import nftables
import pytest
import relkit

from netemu import lifecycle
from netemu.driver import netns
from netemu.model.types import Model
from netemu.render.topology import namespaces as plan_namespaces
from netemu.testing import Running

pytestmark = pytest.mark.kernel

RACE_ROUNDS = 10 if os.environ.get("NETEMU_RELIABILITY") == "full" else 3
GHOST = "  ghost: {subnet: public, private_ip: 172.30.0.50, security_groups: [web]}"


def _names(model: Model) -> list[str]:
    return [ns.name for ns in plan_namespaces(model)]


def _drops(ns: str, comment_part: str) -> int:
    """Packets counted by the rules of `ns` whose comment contains `comment_part`."""
    with netns.entered(ns):
        nft = nftables.Nftables()
        nft.set_json_output(True)
        rc, out, _ = nft.json_cmd({"nftables": [{"list": {"ruleset": None}}]})
    assert rc == 0
    total = 0
    for item in out["nftables"]:
        rule = item.get("rule")
        if rule and comment_part in (rule.get("comment") or ""):
            for expr in rule["expr"]:
                if "counter" in expr:
                    total += int(expr["counter"]["packets"])
    return total


def test_two_scenarios_with_the_same_addresses_are_separate_worlds(
    workdir: str, nothing_left: None
) -> None:
    driver = lifecycle.KernelDriver()
    path_a = relkit.write(workdir, relkit.scenario("rl-a"), "rl-a.yaml")
    path_b = relkit.write(workdir, relkit.scenario("rl-b", extra=GHOST), "rl-b.yaml")
    a, _ = lifecycle.up(path_a, driver)
    try:
        b, _ = lifecycle.up(path_b, driver)
        try:
            _separate_worlds(a, b)
        finally:
            if "rl-b" in lifecycle.st.running():
                lifecycle.down("rl-b", driver)
    finally:
        if "rl-a" in lifecycle.st.running():
            lifecycle.down("rl-a", driver)


def _separate_worlds(a: Model, b: Model) -> None:
    driver = lifecycle.KernelDriver()
    ns_a, ns_b = _names(a), _names(b)
    assert not set(ns_a) & set(ns_b)
    inodes = {n: os.stat(netns.path(n)).st_ino for n in ns_a + ns_b}
    assert len(set(inodes.values())) == len(inodes), "two names share one namespace"
    assert relkit.netemu("verify", "rl-a").rc == 0
    assert relkit.netemu("verify", "rl-b").rc == 0
    ra, rb = Running(a), Running(b)
    for r in (ra, rb):  # the same addresses, public ones too, work in each world
        assert r.probe("client", "web1", tcp=22).result == "reachable"
        assert r.probe("web1", "db1", tcp=22).result == "reachable"
    assert rb.probe("web1", "ghost", icmp=True).result == "reachable"

    # A sends to an address only B holds, and to addresses both hold, from every one of its
    # namespaces; B's namespaces see none of it, while A's see their own traffic.
    marker = f"rl-cross-{os.getpid()}-{time.monotonic_ns()}".encode()
    before_b = _drops("ne-rl-b-s-public", "no ENI holds")
    before_a = _drops("ne-rl-a-s-public", "no ENI holds")
    targets = ["172.30.0.50", "172.30.0.10", str(a.instances["web1"].public_ip), "198.51.100.10"]
    with relkit.Capture(list(ns_a)) as cap_a, relkit.Capture(list(ns_b)) as cap_b:
        for ns in ns_a:
            for target in targets:
                relkit.send_marked(ns, target, marker)
        assert ra.probe("web1", "172.30.0.50", icmp=True).result == "blocked"
        time.sleep(0.3)
        seen_a = [f for f in cap_a.drain() if marker in f[2]]
        seen_b = [f for f in cap_b.drain() if marker in f[2]]
    assert seen_a, "the capture saw nothing in A: the test itself is broken"
    assert seen_b == [], f"packets of A reached B: {[(ns, dev) for ns, dev, _ in seen_b]}"
    # Each world has its own tables: A's drop counter moved, B's did not.
    assert _drops("ne-rl-a-s-public", "no ENI holds") > before_a
    assert _drops("ne-rl-b-s-public", "no ENI holds") == before_b

    lifecycle.down("rl-a", driver)
    assert netns.list_names("ne-rl-a-") == []
    assert sorted(netns.list_names("ne-rl-b-")) == sorted(ns_b)
    assert relkit.netemu("verify", "rl-b").rc == 0
    assert rb.probe("client", "web1", tcp=22).result == "reachable"
    assert rb.probe("web1", "ghost", icmp=True).result == "reachable"


def _race(paths: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Start one `netemu up` per path at the same moment."""
    procs = [
        subprocess.Popen(
            [*relkit.NETEMU, "up", p], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for p in paths
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def _one_winner(results: list[subprocess.CompletedProcess[str]]) -> int:
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 2], [(r.returncode, r.stderr[-300:]) for r in results]
    loser = next(r for r in results if r.returncode == 2)
    assert "already up" in loser.stderr and "netemu down rl-race" in loser.stderr
    return next(i for i, r in enumerate(results) if r.returncode == 0)


def test_racing_ups_of_one_file_give_one_winner_and_a_clear_refusal(
    workdir: str, nothing_left: None
) -> None:
    path = relkit.write(workdir, relkit.scenario("rl-race"), "rl-race.yaml")
    for _ in range(RACE_ROUNDS):
        _one_winner(_race([path, path]))
        try:
            checked = relkit.netemu("verify", "rl-race", "--json")
            assert checked.rc == 0, checked.out  # never a half-built mix
            assert json.loads(checked.out)["ok"] is True
        finally:
            assert relkit.netemu("down", "rl-race").rc == 0


def test_racing_ups_of_two_files_with_one_name_build_exactly_the_winner(
    workdir: str, nothing_left: None
) -> None:
    plain = relkit.write(workdir, relkit.scenario("rl-race"), "plain.yaml")
    ghost = relkit.write(workdir, relkit.scenario("rl-race", extra=GHOST), "ghost.yaml")
    for _ in range(RACE_ROUNDS):
        winner = _one_winner(_race([plain, ghost]))
        try:
            status: dict[str, Any] = json.loads(relkit.netemu("status", "rl-race", "--json").out)
            assert status["scenarios"][0]["source"] == [plain, ghost][winner]
            assert ("ghost" in status["scenarios"][0]["instances"]) == (winner == 1)
            assert netns.exists("ne-rl-race-i-ghost") == (winner == 1)
            assert relkit.netemu("verify", "rl-race").rc == 0
        finally:
            assert relkit.netemu("down", "rl-race").rc == 0
