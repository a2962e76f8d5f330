"""Data-path rates: netemu's full path (SG, ACL, VPC router, internet gateway) and a security
group of 1,000 CIDR rules, each against a baseline measured in the same run with iperf3."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import tempfile
import time
from ipaddress import IPv4Network
from typing import Any

from netemu import lifecycle
from netemu.driver import netns
from netemu.model import load_model
from netemu.model.types import PROTO_TCP, PROTO_UDP, Model, SecurityGroupRule

PATH_SCENARIO = """
name: {name}
vpcs: {{main: {{cidr: 10.0.0.0/16}}}}
internet_gateways: {{igw: {{vpc: main}}}}
subnets:
  pub: {{vpc: main, cidr: 10.0.0.0/24, public_ip_on_launch: true, route_table: rt, network_acl: acl}}
route_tables:
  rt: {{vpc: main, routes: [{{destination: 0.0.0.0/0, internet_gateway: igw}}]}}
network_acls:
  acl:
    vpc: main
    ingress:
      - {{rule: 100, protocol: tcp, port: 22, cidr: 0.0.0.0/0, action: allow}}
      - {{rule: 110, protocol: all, cidr: 0.0.0.0/0, action: allow}}
    egress:
      - {{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}}
security_groups:
  app:
    vpc: main
    ingress:
      - {{protocol: udp, port: 5201, cidr: 198.51.100.0/24}}
      - {{protocol: tcp, port: 5201, cidr: 198.51.100.0/24}}
instances:
  web: {{subnet: pub, security_groups: [app]}}
internet:
  hosts:
    sink: {{ip: 198.51.100.10}}
"""


def _iperf(
    client_ns: str, server_ns: str, server_ip: str, seconds: int, udp: bool
) -> dict[str, Any]:
    server = subprocess.Popen(
        ["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    args = ["ip", "netns", "exec", client_ns, "iperf3", "-c", server_ip, "-t", str(seconds), "-J"]
    if udp:
        args += ["-u", "-l", "64", "-b", "0"]
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 20, check=True)
    finally:
        server.wait(timeout=10)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _rates(client_ns: str, server_ns: str, server_ip: str, seconds: int) -> tuple[float, float]:
    tcp = _iperf(client_ns, server_ns, server_ip, seconds, udp=False)
    gbps = tcp["end"]["sum_received"]["bits_per_second"] / 1e9
    udp = _iperf(client_ns, server_ns, server_ip, seconds, udp=True)
    s = udp["end"]["sum"]
    pps = (s["packets"] - s["lost_packets"]) / s["seconds"]
    return gbps, pps


def bare(seconds: int) -> tuple[float, float]:
    a, b = "ne-bench-bare-a", "ne-bench-bare-b"
    netns.create(a)
    netns.create(b)
    try:
        for ns, cmds in (
            (
                a,
                [
                    [
                        "ip",
                        "link",
                        "add",
                        "eth0",
                        "type",
                        "veth",
                        "peer",
                        "name",
                        "eth0",
                        "netns",
                        b,
                    ],
                    ["ip", "addr", "add", "10.99.0.1/30", "dev", "eth0"],
                    ["ip", "link", "set", "eth0", "up"],
                    ["ip", "link", "set", "lo", "up"],
                ],
            ),
            (
                b,
                [
                    ["ip", "addr", "add", "10.99.0.2/30", "dev", "eth0"],
                    ["ip", "link", "set", "eth0", "up"],
                    ["ip", "link", "set", "lo", "up"],
                ],
            ),
        ):
            for c in cmds:
                subprocess.run(["ip", "netns", "exec", ns, *c], check=True)
        return _rates(a, b, "10.99.0.2", seconds)
    finally:
        netns.delete(a)
        netns.delete(b)


def _with_rules(model: Model, count: int) -> Model:
    """The model with `count` UDP rules in group `app`: count-1 that never match (other
    sources, twenty different ports) and the one that admits the benchmark's traffic; plus
    the TCP rule iperf3's control connection needs."""
    group = next(g for g in model.security_groups.values() if g.name == "app")
    rules = [
        SecurityGroupRule(
            i,
            PROTO_UDP,
            (6000 + i % 20, 6000 + i % 20),
            None,
            None,
            IPv4Network(f"100.{64 + i // 250}.{i % 250}.0/24"),
            None,
        )
        for i in range(count - 1)
    ]
    rules.append(
        SecurityGroupRule(
            count - 1, PROTO_UDP, (5201, 5201), None, None, IPv4Network("198.51.100.0/24"), None
        )
    )
    # iperf3's control connection, beside the rules under test.
    rules.append(
        SecurityGroupRule(
            count, PROTO_TCP, (5201, 5201), None, None, IPv4Network("198.51.100.0/24"), None
        )
    )
    groups = dict(model.security_groups)
    groups[group.id] = dataclasses.replace(group, ingress=tuple(rules))
    return dataclasses.replace(model, security_groups=groups)


# A flow log on the whole VPC, windows closed every second: the collector's worst case.
FLOW_LOGS = "flow_logs:\n  all: {resource: main, traffic_type: ALL, max_aggregation_interval: 1}\n"


def _through_netemu(
    name: str, seconds: int, rules: int | None, flow_logs: bool = False
) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, f"{name}.yaml")
        with open(path, "w") as f:
            f.write(PATH_SCENARIO.format(name=name) + (FLOW_LOGS if flow_logs else ""))
        model, _ = load_model(path)
        if rules is not None:
            model = _with_rules(model, rules)
        driver = lifecycle.KernelDriver()
        lifecycle.up_model(model, path, driver)
        try:
            web = model.instances["web"]
            web_ns = f"ne-{name}-i-web"
            host_ns = f"ne-{name}-h-sink"
            if rules is None:  # instance -> internet host: the whole outbound path
                return _rates(web_ns, host_ns, "198.51.100.10", seconds)
            # internet host -> instance: UDP into the group under test
            udp = _iperf(host_ns, web_ns, str(web.public_ip), seconds, udp=True)["end"]["sum"]
            return 0.0, (udp["packets"] - udp["lost_packets"]) / udp["seconds"]
        finally:
            lifecycle.down(name, driver)


def measure(seconds: int) -> dict[str, Any]:
    bare_tcp, bare_udp = bare(seconds)
    tcp, udp = _through_netemu("bpath", seconds, None)
    _, one = _through_netemu("bsg1", seconds, 1)
    _, thousand = _through_netemu("bsg1000", seconds, 1000)
    flow = flow_log_cost(seconds)
    return {
        "flowlog": flow,
        "bare_tcp_gbps": bare_tcp,
        "bare_udp_pps": bare_udp,
        "netemu_tcp_gbps": tcp,
        "netemu_udp_pps": udp,
        "sg1_udp_pps": one,
        "sg1000_udp_pps": thousand,
    }


def flow_log_cost(seconds: int, rounds: int = 2) -> dict[str, float]:
    """The data path with and without flow logs, alternating so both see the same machine;
    the best of each (noise on a shared machine only ever slows a run down)."""
    plain, logged = [], []
    for _ in range(rounds):
        plain.append(_through_netemu("bplain", seconds, None))
        logged.append(_through_netemu("bflow", seconds, None, flow_logs=True))
    tcp0, udp0 = max(p[0] for p in plain), max(p[1] for p in plain)
    tcp1, udp1 = max(p[0] for p in logged), max(p[1] for p in logged)
    return {"tcp_ratio": tcp1 / tcp0, "udp_ratio": udp1 / udp0, "tcp_gbps": tcp1,
            "udp_pps": udp1, "plain_tcp_gbps": tcp0, "plain_udp_pps": udp0}  # fmt: skip


if __name__ == "__main__":  # python -m bench.datapath: the flow-log cost alone (root)
    import sys

    cost = flow_log_cost(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    print(
        f"flow logs: TCP {cost['tcp_gbps']:.2f} of {cost['plain_tcp_gbps']:.2f} Gbit/s "
        f"= {cost['tcp_ratio']:.3f}; UDP 64 B {cost['udp_pps'] / 1e3:.0f} of "
        f"{cost['plain_udp_pps'] / 1e3:.0f} kpps = {cost['udp_ratio']:.3f} (target >= 0.90)"
    )
