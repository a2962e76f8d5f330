"""What each of netemu's rule groups costs on the data path: the instance -> internet path of
bench/datapath.py, measured as built, then again after each group of chains is emptied in
turn (cumulatively), down to what is left when no filter rule remains: the VPC router's
routing by subnet, the internet gateway's 1:1 NAT and connection tracking.

The last row is the most any tuning of netemu's rules could reach on this topology; if it is
below a target, rules are not what stands between the path and that target (issue 21).

Usage: python -m bench.rule_costs [SECONDS] [ROUNDS]   (root; inside a private network
namespace, like every bench)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

from bench import datapath
from netemu import lifecycle
from netemu.errors import NetemuError

NAME = "brules"
SUBNET, ROUTER, IGW, INTERNET = (f"ne-{NAME}-{k}" for k in ("s-pub", "r-main", "g-igw", "inet"))
FORWARDING = (SUBNET, ROUTER, IGW, INTERNET)

# Emptied cumulatively, in this order: (label, [(namespace, nft command), ...]).
STEPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("- probe hop logs (render/probe)",
     [(ns, "flush chain inet netemu probe_hops") for ns in FORWARDING]),
    ("- TTL restore of non-hops (render/hops)",
     [(ns, "flush chain inet netemu no_hop") for ns in FORWARDING[:3]]),
    ("- internet's route check", [(INTERNET, "flush chain inet netemu internet")]),
    ("- internet gateway's address checks", [(IGW, "flush chain inet netemu ingress"),
                                              (IGW, "flush chain inet netemu egress")]),
    ("- network ACL", [(SUBNET, "flush chain inet netemu nacl_outbound"),
                       (SUBNET, "flush chain inet netemu nacl_inbound")]),
    ("- subnet's address checks and ENI port", [(SUBNET, "flush chain inet netemu unheld"),
                                                (SUBNET, "flush chain inet netemu router_icmp"),
                                                (SUBNET, "delete table netdev netemu")]),
    ("- security groups", [(SUBNET, "flush chain inet netemu sg_egress"),
                           (SUBNET, "flush chain inet netemu sg_ingress")]),
]  # fmt: skip


def _nft(ns: str, command: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "nft", command], check=True)


def _median_rates(seconds: int, rounds: int) -> tuple[float, float]:
    runs = [datapath._rates(f"ne-{NAME}-i-web", f"ne-{NAME}-h-sink", "198.51.100.10", seconds)
            for _ in range(rounds)]  # fmt: skip
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main(seconds: int, rounds: int) -> None:
    bare = [datapath.bare(seconds) for _ in range(rounds)]
    bare_tcp = statistics.median(b[0] for b in bare)
    bare_udp = statistics.median(b[1] for b in bare)
    print(f"{'bare veth pair':44} TCP {bare_tcp:6.2f} Gbit/s        "
          f"UDP 64 B {bare_udp / 1e3:4.0f} kpps")  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, f"{NAME}.yaml")
        with open(path, "w") as f:
            f.write(datapath.PATH_SCENARIO.format(name=NAME))
        driver = lifecycle.KernelDriver()
        lifecycle.up(path, driver)
        try:
            for label, commands in [("netemu as built", []), *STEPS]:
                for ns, command in commands:
                    _nft(ns, command)
                tcp, udp = _median_rates(seconds, rounds)
                print(f"{label:44} TCP {tcp:6.2f} Gbit/s ({tcp / bare_tcp:.2f})  "
                      f"UDP 64 B {udp / 1e3:4.0f} kpps ({udp / bare_udp:.2f})",
                      flush=True)  # fmt: skip
        finally:
            lifecycle.down(NAME, driver)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.rule_costs", description=__doc__)
    parser.add_argument("seconds", nargs="?", type=int, default=3, help="per run (3)")
    parser.add_argument("rounds", nargs="?", type=int, default=3, help="runs per row (3)")
    args = parser.parse_args()
    try:
        main(args.seconds, args.rounds)
    except (NetemuError, subprocess.CalledProcessError) as e:  # not root, no iperf3, ...
        sys.exit(f"bench.rule_costs: {e}")
