"""Network ACLs with real packets (ref section 8)."""

from __future__ import annotations

from netemu.testing import running_text
from scenarios import vpc


def _acl(ingress: str, egress: str, name: str = "guard") -> str:
    return f"  {name}:\n    vpc: main\n    ingress:\n{ingress}\n    egress:\n{egress}\n"


ALL_OUT = "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}"
ALL_IN = ALL_OUT


def test_first_match_wins() -> None:
    """8.2: lowest number first; a deny at 90 shadows an allow at 100, and the swap undoes it."""
    deny_first = (
        "      - {rule: 90, protocol: tcp, port: 22, cidr: 198.51.100.0/24, action: deny}\n"
        "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}"
    )
    with running_text(
        vpc(acls=_acl(deny_first, ALL_OUT), public_extra=", network_acl: guard")
    ) as s:
        r = s.probe("client", "web", tcp=22)
        assert r.result == "blocked"
        assert r.reason and (r.reason.code, r.reason.rule, r.reason.direction) == (
            "SUBNET_ACL_RESTRICTION",
            "90",
            "ingress",
        )
        assert s.probe("client", "web", tcp=80).result == "reachable"
    allow_first = (
        "      - {rule: 90, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
        "      - {rule: 100, protocol: tcp, port: 22, cidr: 198.51.100.0/24, action: deny}"
    )
    with running_text(
        vpc(acls=_acl(allow_first, ALL_OUT), public_extra=", network_acl: guard")
    ) as s:
        assert s.probe("client", "web", tcp=22).result == "reachable"


def test_new_acl_denies_everything() -> None:
    """8.5: a declared ACL with no rules denies all traffic both ways."""
    with running_text(vpc(acls="  guard: {vpc: main}", public_extra=", network_acl: guard")) as s:
        r = s.probe("client", "web", icmp=True)
        assert r.result == "blocked"
        assert r.reason and (r.reason.code, r.reason.rule) == ("SUBNET_ACL_RESTRICTION", "*")
        r = s.probe("web", "client", icmp=True)
        assert r.reason and (r.reason.direction, r.reason.rule) == ("egress", "*")


def test_default_acl_allows_everything() -> None:
    """8.4: the default ACL allows all traffic both ways."""
    with running_text(vpc()) as s:
        assert s.model.network_acls[s.model.subnets["public"].network_acl].is_default
        assert s.probe("client", "web", udp=5000).result == "reachable"
        assert s.probe("web", "client", tcp=8080).result == "reachable"


def test_acl_ignored_inside_subnet_applied_across_subnets() -> None:
    """8.9: ACLs see traffic entering or leaving the subnet, never traffic inside it."""
    with running_text(vpc(acls="  guard: {vpc: main}", public_extra=", network_acl: guard")) as s:
        assert s.probe("web", "app", tcp=22).result == "reachable"
        r = s.probe("db", "web", tcp=22)
        assert r.result == "blocked"
        assert r.reason and r.reason.component == "network_acl:guard"


def test_missing_ephemeral_range_drops_the_reply() -> None:
    """8.1: stateless; the request arrives, the answer dies on the way out."""
    no_ephemeral = "      - {rule: 100, protocol: tcp, port: 22, cidr: 0.0.0.0/0, action: allow}"
    with running_text(
        vpc(acls=_acl(ALL_IN, no_ephemeral), public_extra=", network_acl: guard")
    ) as s:
        r = s.probe("client", "web", tcp=22)
        assert r.result == "blocked"
        assert r.seen_source == "198.51.100.10"  # the request did arrive
        assert r.reason and (r.reason.leg, r.reason.direction, r.reason.rule) == (
            "reply",
            "egress",
            "*",
        )


AWS_EXAMPLE_IN = """      - {rule: 100, protocol: tcp, port: 80, cidr: 0.0.0.0/0, action: allow}
      - {rule: 110, protocol: tcp, port: 443, cidr: 0.0.0.0/0, action: allow}
      - {rule: 120, protocol: tcp, port: 22, cidr: 192.0.2.0/24, action: allow}
      - {rule: 130, protocol: tcp, port: 3389, cidr: 192.0.2.0/24, action: allow}
      - {rule: 140, protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0, action: allow}"""
AWS_EXAMPLE_OUT = """      - {rule: 100, protocol: tcp, port: 80, cidr: 0.0.0.0/0, action: allow}
      - {rule: 110, protocol: tcp, port: 443, cidr: 0.0.0.0/0, action: allow}
      - {rule: 120, protocol: tcp, ports: 1024-65535, cidr: 192.0.2.0/24, action: allow}
      - {rule: 140, protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0, action: allow}"""


def test_aws_documentation_example_acl() -> None:
    """8.13: the AWS guide's custom ACL on a public subnet, probed from outside with chosen
    client ports."""
    text = vpc(acls=_acl(AWS_EXAMPLE_IN, AWS_EXAMPLE_OUT), public_extra=", network_acl: guard")
    with running_text(text) as s:
        assert s.probe("client", "web", tcp=443, source_port=50000).result == "reachable"
        r = s.probe("client", "web", tcp=80, source_port=30000)
        assert r.result == "blocked"
        assert r.reason and (r.reason.leg, r.reason.direction, r.reason.rule) == (
            "reply",
            "egress",
            "*",
        )
        r = s.probe("client", "web", tcp=22)  # client is not in the home range 192.0.2.0/24
        assert r.result == "blocked"
        assert r.reason and (r.reason.leg, r.reason.rule) == ("request", "*")
        r = s.probe("client", "web", tcp=139)
        assert r.result == "blocked" and r.reason and r.reason.rule == "*"
        assert s.probe("web", "client", tcp=443).result == "reachable"
