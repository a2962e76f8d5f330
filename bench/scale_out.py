"""A small simulation for docs/scale-out.md: how a scenario too large for one machine would
be split across hosts, and what the split costs.

- `placement`: shards a scenario's subnets (with their instances) over K hosts, by VPC or by
  subnet, and counts what crosses hosts: subnet-to-VPC-router cables that become VXLAN
  tunnels, and the share of instance pairs whose packets would cross a host boundary.
- `--measure` (root): builds, inside emulated namespaces only, two "hosts" joined by an
  underlay veth with a kernel VXLAN tunnel over it, and compares ping round trips and
  iperf3 TCP through the tunnel with a plain veth, so the plan's latency figure is measured
  on this kernel, not guessed.

Usage: python -m bench.scale_out [N_INSTANCES] [HOSTS] [--measure]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass

from bench.scenario_gen import scenario
from netemu.model import load_model_text
from netemu.model.types import Model

KERNEL_KB_PER_INSTANCE = 320  # bench/results.json at 1000 instances (docs/benchmarks.md)


@dataclass(frozen=True)
class Placement:
    strategy: str
    hosts: int
    namespaces: list[int]  # per host
    tunnels: int  # cables that cross hosts (subnet <-> VPC router)
    crossing_share: float  # instance pairs whose path crosses a host boundary

    def summary(self) -> dict[str, object]:
        return {
            "strategy": self.strategy,
            "hosts": self.hosts,
            "namespaces_per_host": self.namespaces,
            "kernel_mb_per_host": [
                round(n * KERNEL_KB_PER_INSTANCE / 1024) for n in self.namespaces
            ],
            "vxlan_tunnels": self.tunnels,
            "pairs_crossing_hosts": round(self.crossing_share, 3),
        }


def place(model: Model, hosts: int, strategy: str) -> Placement:
    """Greedy: the largest shard goes to the least loaded host. A shard is a whole VPC
    (router, gateways, subnets, instances) or one subnet with its instances; in the subnet
    strategy each VPC's router and gateways live with its largest subnet."""
    size = Counter(i.subnet for i in model.instances.values())
    if strategy == "vpc":
        shards = {v: [s for s in model.subnets.values() if s.vpc == v] for v in model.vpcs}
    else:
        shards = {s.name: [s] for s in model.subnets.values()}
    load = [0] * hosts
    host_of_subnet: dict[str, int] = {}
    order = sorted(shards, key=lambda k: -sum(size[s.name] + 1 for s in shards[k]))
    for key in order:
        h = load.index(min(load))
        for s in shards[key]:
            host_of_subnet[s.name] = h
            load[h] += size[s.name] + 1
    router_host: dict[str, int] = {}
    for v in model.vpcs:
        biggest = max((s for s in model.subnets.values() if s.vpc == v), key=lambda s: size[s.name])
        router_host[v] = host_of_subnet[biggest.name]
        load[router_host[v]] += 2  # the VPC router and its internet gateway
    tunnels = sum(1 for s in model.subnets.values() if host_of_subnet[s.name] != router_host[s.vpc])
    # A packet between two subnets goes subnet -> router -> subnet: it crosses a host when
    # either subnet is away from the router; inside one subnet it never leaves the host.
    n = len(model.instances)
    crossing = 0
    for a, ca in size.items():
        for b, cb in size.items():
            if a == b:
                continue
            va = model.subnets[a].vpc
            away = {host_of_subnet[a], host_of_subnet[b], router_host[va]}
            if len(away) > 1:
                crossing += ca * cb
    share = crossing / (n * (n - 1)) if n > 1 else 0.0
    return Placement(strategy, hosts, load, tunnels, share)


NS = ("ne-so-a", "ne-so-b", "ne-so-x", "ne-so-y")


def _ip(ns: str | None, *args: str) -> None:
    cmd = ["ip", *(["-n", ns] if ns else []), *args]
    subprocess.run(cmd, check=True, capture_output=True)


def _rtt_ms(src: str, dst: str) -> float:
    out = subprocess.run(
        ["ip", "netns", "exec", src, "ping", "-q", "-c", "200", "-i", "0.002", dst],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"= [\d.]+/([\d.]+)/", out)
    return float(match.group(1)) if match else float("nan")


def _tcp_gbit(src: str, dst_ns: str, dst: str) -> float:
    server = subprocess.Popen(
        ["ip", "netns", "exec", dst_ns, "iperf3", "-s", "-1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    try:
        out = subprocess.run(
            ["ip", "netns", "exec", src, "iperf3", "-c", dst, "-t", "2", "-J"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return float(json.loads(out)["end"]["sum_received"]["bits_per_second"]) / 1e9
    finally:
        server.wait(timeout=10)


def measure() -> dict[str, float]:
    """Host a and host b joined by an underlay veth (the 'network between machines'); x
    and y are two namespaces on either side, joined through a VXLAN tunnel a<->b, against
    x and y joined by one veth. Everything is an emulated namespace named ne-so-*."""
    try:
        for ns in NS:
            _ip(None, "netns", "add", ns)
        _ip(
            "ne-so-a",
            "link",
            "add",
            "under",
            "type",
            "veth",
            "peer",
            "name",
            "under",
            "netns",
            "ne-so-b",
        )
        _ip("ne-so-a", "addr", "add", "192.168.255.1/30", "dev", "under")
        _ip("ne-so-b", "addr", "add", "192.168.255.2/30", "dev", "under")
        for ns, local, remote in (
            ("ne-so-a", "192.168.255.1", "192.168.255.2"),
            ("ne-so-b", "192.168.255.2", "192.168.255.1"),
        ):
            _ip(ns, "link", "set", "under", "up")
            _ip(
                ns,
                "link",
                "add",
                "vx",
                "type",
                "vxlan",
                "id",
                "42",
                "local",
                local,
                "remote",
                remote,
                "dstport",
                "4789",
            )
            _ip(ns, "link", "set", "vx", "up")
        # x -- a (vx) ~~~ (vx) b -- y, routed at a and b
        for host, end, net in (
            ("ne-so-a", "ne-so-x", "10.77.1"),
            ("ne-so-b", "ne-so-y", "10.77.2"),
        ):
            _ip(host, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", end)
            _ip(host, "addr", "add", f"{net}.1/24", "dev", "lan")
            _ip(end, "addr", "add", f"{net}.10/24", "dev", "eth0")
            _ip(host, "link", "set", "lan", "up")
            _ip(end, "link", "set", "eth0", "up")
            _ip(end, "route", "add", "default", "via", f"{net}.1")
            subprocess.run(
                ["ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True
            )
        _ip("ne-so-a", "addr", "add", "10.77.0.1/30", "dev", "vx")
        _ip("ne-so-b", "addr", "add", "10.77.0.2/30", "dev", "vx")
        _ip("ne-so-a", "route", "add", "10.77.2.0/24", "via", "10.77.0.2")
        _ip("ne-so-b", "route", "add", "10.77.1.0/24", "via", "10.77.0.1")
        tunnel_rtt = _rtt_ms("ne-so-x", "10.77.2.10")
        tunnel_tcp = _tcp_gbit("ne-so-x", "ne-so-y", "10.77.2.10")
        # The same two hops without the tunnel: x -- a == b -- y over the underlay veth.
        _ip("ne-so-a", "route", "replace", "10.77.2.0/24", "via", "192.168.255.2")
        _ip("ne-so-b", "route", "replace", "10.77.1.0/24", "via", "192.168.255.1")
        plain_rtt = _rtt_ms("ne-so-x", "10.77.2.10")
        plain_tcp = _tcp_gbit("ne-so-x", "ne-so-y", "10.77.2.10")
        return {
            "rtt_ms_plain": plain_rtt,
            "rtt_ms_vxlan": tunnel_rtt,
            "tcp_gbit_plain": round(plain_tcp, 2),
            "tcp_gbit_vxlan": round(tunnel_tcp, 2),
        }
    finally:
        for ns in NS:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    n = int(args[0]) if args else 10_000
    hosts = int(args[1]) if len(args) > 1 else 4
    subnets = max(10, n // 100)
    model, _ = load_model_text(scenario(n, "so", subnets=min(subnets, 64)))
    for strategy in ("vpc", "subnet"):
        print(json.dumps(place(model, hosts, strategy).summary()))
    if "--measure" in argv:
        print(json.dumps(measure()))


if __name__ == "__main__":
    main(sys.argv[1:])
