"""A second data-path baseline: a chain of bare namespaces as long as netemu's path, so the
data-path ratio can be split into what the hops cost and what netemu's rules cost.

netemu's path from an instance to an internet host crosses six namespaces (instance, subnet,
VPC router, internet gateway, internet, host) and so five veth pairs; `chain(6)` builds six
namespaces joined by five veth pairs with plain IPv4 forwarding and nothing else (no
nftables, no conntrack). `conntrack=True` adds what netemu's path has of connection
tracking: a one-rule stateful ruleset in the two namespaces that track connections on it
(the subnet for security groups, the internet gateway for its 1:1 NAT).

Usage: python -m bench.hops [SECONDS]   (root; prints bare pair, chain, chain+conntrack,
netemu, and their ratios, measured in one run)
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from bench import datapath
from netemu.driver import netns

PREFIX = "ne-bench-chain-"
# The namespaces of netemu's path that track connections: subnet (1) and internet gateway (3).
TRACKING = (1, 3)
STATEFUL = """table inet ne_bench {
  chain transit { type filter hook forward priority 0; policy accept;
    ct state established,related accept
    ct state new accept
  }
}
"""


def _ip(ns: str, *args: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "ip", *args], check=True)


def chain(length: int, seconds: int, conntrack: bool = False) -> tuple[float, float]:
    """TCP Gbit/s and 64-byte UDP packets/s from the first namespace of a chain of `length`
    to its last."""
    names = [f"{PREFIX}{i}" for i in range(length)]
    for ns in names:
        netns.create(ns)
    try:
        for ns in names:
            _ip(ns, "link", "set", "lo", "up")
            subprocess.run(
                ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True
            )
        for i in range(length - 1):  # link i: 10.98.i.1 (left) -- 10.98.i.2 (right)
            left, right = names[i], names[i + 1]
            _ip(left, "link", "add", f"r{i}", "type", "veth", "peer", "name", f"l{i}",
                "netns", right)  # fmt: skip
            _ip(left, "addr", "add", f"10.98.{i}.1/30", "dev", f"r{i}")
            _ip(left, "link", "set", f"r{i}", "up")
            _ip(right, "addr", "add", f"10.98.{i}.2/30", "dev", f"l{i}")
            _ip(right, "link", "set", f"l{i}", "up")
        for i, ns in enumerate(names):
            if i < length - 1:
                _ip(ns, "route", "add", "10.98.0.0/16", "via", f"10.98.{i}.2", "metric", "10")
            if i > 0:
                for j in range(i - 1):  # the links behind this namespace
                    _ip(ns, "route", "add", f"10.98.{j}.0/30", "via", f"10.98.{i - 1}.1")
        if conntrack:
            for i in TRACKING:
                if 0 < i < length - 1:
                    subprocess.run(
                        ["ip", "netns", "exec", names[i], "nft", "-f", "-"],
                        input=STATEFUL, text=True, check=True,
                    )  # fmt: skip
        last = f"10.98.{length - 2}.2"
        return datapath._rates(names[0], names[-1], last, seconds)
    finally:
        for ns in names:
            netns.delete(ns)


def measure(seconds: int) -> dict[str, Any]:
    bare_tcp, bare_udp = datapath.bare(seconds)
    chain_tcp, chain_udp = chain(6, seconds)
    ct_tcp, ct_udp = chain(6, seconds, conntrack=True)
    tcp, udp = datapath._through_netemu("bhops", seconds, None)
    return {
        "bare": (bare_tcp, bare_udp),
        "chain": (chain_tcp, chain_udp),
        "chain_conntrack": (ct_tcp, ct_udp),
        "netemu": (tcp, udp),
    }


def main(seconds: int, rounds: int) -> None:
    import statistics

    runs = [measure(seconds) for _ in range(rounds)]
    med = {k: (statistics.median(r[k][0] for r in runs), statistics.median(r[k][1] for r in runs))
           for k in runs[0]}  # fmt: skip
    bare_tcp, bare_udp = med["bare"]
    for k, label in (
        ("bare", "bare veth pair (1 hop)"),
        ("chain", "chain of 6 namespaces (5 hops)"),
        ("chain_conntrack", "chain + conntrack in 2"),
        ("netemu", "netemu instance -> internet"),
    ):
        tcp, udp = med[k]
        print(
            f"{label:32} TCP {tcp:6.2f} Gbit/s ({tcp / bare_tcp:.2f} of bare)  "
            f"UDP 64 B {udp / 1e3:5.0f} kpps ({udp / bare_udp:.2f} of bare)"
        )
    n_tcp, n_udp = med["netemu"]
    c_tcp, c_udp = med["chain"]
    print(f"netemu vs the 5-hop chain: TCP {n_tcp / c_tcp:.2f}, UDP {n_udp / c_udp:.2f} "
          f"(median of {rounds} rounds of {seconds} s)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
