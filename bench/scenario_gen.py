"""Generated scenarios for benchmarks: N instances over 10 subnets, each instance in a
security group and each subnet behind a network ACL."""

from __future__ import annotations


def scenario(n: int, name: str = "bench", subnets: int = 10, expectations: int = 0) -> str:
    lines = [
        f"name: {name}",
        "vpcs:",
        "  main: {cidr: 10.0.0.0/16}",
        "internet_gateways:",
        "  igw: {vpc: main}",
        "route_tables:",
        "  rt: {vpc: main, main: true, routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]}",
        "security_groups:",
        "  app:",
        "    vpc: main",
        "    ingress:",
        "      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}",
        "      - {protocol: tcp, port: 80, cidr: 10.0.0.0/16}",
        "network_acls:",
        "  edge:",
        "    vpc: main",
        "    ingress:",
        "      - {rule: 100, protocol: tcp, port: 22, cidr: 0.0.0.0/0, action: allow}",
        "      - {rule: 110, protocol: tcp, ports: 1024-65535, cidr: 0.0.0.0/0, action: allow}",
        "      - {rule: 120, protocol: all, cidr: 10.0.0.0/16, action: allow}",
        "    egress:",
        "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}",
        "subnets:",
    ]
    for s in range(subnets):
        lines.append(f"  s{s}: {{vpc: main, cidr: 10.0.{s * 4}.0/22, network_acl: edge}}")
    lines += ["internet:", "  hosts:", "    client: {ip: 198.51.100.10}", "instances:"]
    for i in range(n):
        lines.append(f"  i{i}: {{subnet: s{i % subnets}, security_groups: [app]}}")
    if expectations:
        lines.append("expect:")
        # Half reachable (tcp/80 is open inside the VPC), half blocked by the receiver's
        # group (tcp/443), between instances of the same and of different subnets; never
        # from an instance to itself (that packet never leaves it).
        for k in range(expectations):
            src, dst = f"i{k % n}", f"i{(k + 1 + (k // n) % max(n - 1, 1)) % n}"
            if k % 2:
                lines.append(f"  - {{from: {src}, to: {dst}, tcp: 443, result: blocked}}")
            else:
                lines.append(f"  - {{from: {src}, to: {dst}, tcp: 80, result: reachable}}")
    return "\n".join(lines) + "\n"
