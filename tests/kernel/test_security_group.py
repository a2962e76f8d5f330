"""Security groups with real packets (ref section 7)."""

from __future__ import annotations

from netemu.testing import running_text
from scenarios import vpc

SSH_ONLY = """  ssh:
    vpc: main
    ingress:
      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}
  web80:
    vpc: main
    ingress:
      - {protocol: tcp, port: 80, cidr: 0.0.0.0/0}
  noegress:
    vpc: main
    ingress:
      - {protocol: all, cidr: 0.0.0.0/0}
    egress: []
  pingable:
    vpc: main
    ingress:
      - {protocol: icmp, icmp_type: 8, icmp_code: -1, cidr: 0.0.0.0/0}
    egress: []
  fromweb:
    vpc: main
    ingress:
      - {protocol: tcp, port: 3306, security_group: ssh}
"""


def test_union_of_groups_decides() -> None:
    """7.2: rules of every group on the ENI are unioned."""
    with running_text(vpc(groups=SSH_ONLY, web_groups="ssh, web80")) as s:
        assert s.probe("client", "web", tcp=22).result == "reachable"
        assert s.probe("client", "web", tcp=80).result == "reachable"
        r = s.probe("client", "web", tcp=443)
        assert r.result == "blocked"
        assert r.reason and r.reason.code == "ENI_SG_RULES_MISMATCH"
        assert r.reason.component == "security_group:ssh,web80"
        assert r.reason.direction == "ingress"


def test_replies_pass_without_outbound_rules() -> None:
    """7.10: a group with no outbound rule still answers an admitted inbound flow."""
    with running_text(vpc(groups=SSH_ONLY, web_groups="noegress")) as s:
        assert s.probe("client", "web", tcp=22).result == "reachable"
        assert s.probe("client", "web", udp=53).result == "reachable"


def test_no_outbound_rule_blocks_new_outbound_flows() -> None:
    """7.3: with `egress: []` nothing new leaves."""
    with running_text(vpc(groups=SSH_ONLY, web_groups="noegress")) as s:
        r = s.probe("web", "client", tcp=80)
        assert r.result == "blocked"
        assert r.reason and r.reason.code == "ENI_SG_RULES_MISMATCH"
        assert r.reason.direction == "egress"
        assert r.reason.leg == "request"


def test_icmp_echo_admitted_inbound_returns_without_outbound_rule() -> None:
    """7.10, 7.14: ICMP is tracked; the echo reply leaves by state."""
    with running_text(vpc(groups=SSH_ONLY, web_groups="pingable")) as s:
        assert s.probe("client", "web", icmp=True).result == "reachable"
        assert s.probe("client", "web", tcp=22).result == "blocked"


def test_default_group_admits_members_and_refuses_others() -> None:
    """7.4: the default group admits all traffic from its own members only."""
    with running_text(vpc(web_groups="default", db_groups="default", app_groups="open")) as s:
        assert s.probe("web", "db", tcp=5432).result == "reachable"
        r = s.probe("app", "db", tcp=5432)
        assert r.result == "blocked"
        assert r.reason and r.reason.component == "security_group:default"
        assert s.probe("client", "web", tcp=22).result == "blocked"


def test_group_reference_matches_private_address_only() -> None:
    """7.6: a member reaching the group through its public address does not match."""
    text = vpc(
        groups=SSH_ONLY,
        web_groups="ssh",
        db_groups="fromweb",
        db_extra=", public_ip: true",
        private_routes="      - {destination: 0.0.0.0/0, internet_gateway: igw}",
    )
    with running_text(text) as s:
        assert s.probe("web", "db", tcp=3306).result == "reachable"
        public = str(s.model.instances["db"].public_ip)
        r = s.probe("web", public, tcp=3306)
        assert r.result == "blocked"
        assert r.reason and r.reason.code == "ENI_SG_RULES_MISMATCH"
        assert r.reason.packet == {
            "src": str(s.model.instances["web"].public_ip),
            "dst": "172.30.1.10",
        }


def test_both_sides_checked_inside_one_subnet() -> None:
    """7.2, 7.3: between two instances of one subnet, sender egress and receiver ingress both count."""
    with running_text(vpc(groups=SSH_ONLY, web_groups="noegress", app_groups="ssh")) as s:
        r = s.probe("web", "app", tcp=22)
        assert r.result == "blocked" and r.reason
        assert (r.reason.component, r.reason.direction) == ("security_group:noegress", "egress")
        r = s.probe("app", "web", tcp=22)  # app may send; web admits all
        assert r.result == "reachable"
        r = s.probe("web", "app", icmp=True)
        assert r.result == "blocked"
        r = s.probe("app", "web", tcp=3306)
        assert r.result == "reachable"
    with running_text(vpc(groups=SSH_ONLY, web_groups="open", app_groups="ssh")) as s:
        r = s.probe("web", "app", tcp=80)  # web's egress allows; app's ingress does not
        assert r.result == "blocked" and r.reason
        assert (r.reason.component, r.reason.direction) == ("security_group:ssh", "ingress")


UDP_TO_CLOSED_PORT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.connect(("198.51.100.10", 9))
s.send(b"x")
try:
    s.recv(10)
except ConnectionRefusedError:
    print("icmp error arrived")
except TimeoutError:
    print("nothing arrived")
"""

UNREACHABLE_ALLOWED = """  outonly:
    vpc: main
    ingress: []
  outpmtu:
    vpc: main
    ingress:
      - {protocol: icmp, icmp_type: 3, icmp_code: -1, cidr: 0.0.0.0/0}
"""


def test_icmp_errors_of_a_flow_are_not_admitted_by_state() -> None:
    """7.19, 14.4: an ICMP error about an admitted flow is 'related', not a reply; without
    an inbound ICMP rule the group drops it (the PMTUD advice of AWS)."""
    with running_text(vpc(groups=UNREACHABLE_ALLOWED, web_groups="outonly")) as s:
        out = s.exec("web", "python3", "-c", UDP_TO_CLOSED_PORT).stdout
        assert out.strip() == "nothing arrived"
    with running_text(vpc(groups=UNREACHABLE_ALLOWED, web_groups="outpmtu")) as s:
        out = s.exec("web", "python3", "-c", UDP_TO_CLOSED_PORT).stdout
        assert out.strip() == "icmp error arrived"


def _subnet_rules(s: object, subnet: str) -> str:
    import subprocess

    from netemu.render.names import subnet_ns

    model = s.model  # type: ignore[attr-defined]
    ns = subnet_ns(model.name, subnet)
    return subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "list", "ruleset"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_rules_carry_aws_names() -> None:
    """Every rule netemu writes names its AWS object and rule."""
    with running_text(vpc(groups=SSH_ONLY, web_groups="ssh, web80")) as s:
        rules = _subnet_rules(s, "public")
        assert 'comment "security_group:ssh ingress rule 0"' in rules
        assert 'comment "security_group:ssh,web80 ingress no rule matches (instance web)"' in rules


def test_thousand_cidr_rules_become_one_set_lookup() -> None:
    """Large groups stay fast: same-port CIDR rules share one nftables rule and set."""
    cidrs = "\n".join(
        f"      - {{protocol: udp, port: 9000, cidr: 10.{i // 250}.{i % 250}.0/24}}"
        for i in range(59)
    )
    groups = f"  many:\n    vpc: main\n    ingress:\n{cidrs}\n"
    with running_text(vpc(groups=groups, web_groups="many")) as s:
        rules = _subnet_rules(s, "public")
        chain = rules.split("chain sg_")[1]
        # one rule, written twice: the first for a flow's first-direction packets, which it
        # also marks tracked (render.untracked)
        assert chain.count("accept") == 2
        assert chain.count("ct direction original") == 1
