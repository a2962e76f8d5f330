"""Security group and network ACL rules (reference sections 7 and 8)."""

from __future__ import annotations

import pytest

from netemu.errors import Problem
from netemu.model import load_model_text
from netemu.model.types import PROTO_ALL, PROTO_ICMP, PROTO_TCP, PROTO_UDP, SecurityGroupRule
from tests.unit.problems import at as _at
from tests.unit.problems import errors as _errors

SG_BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
  other: {cidr: 10.1.0.0/16}
security_groups:
  peer: {vpc: main}
  far: {vpc: other}
  g:
    vpc: main
    ingress:
""".lstrip("\n")  # the first rule is on line 10


def _sg_rule(*rules: str) -> list[Problem]:
    return _errors(SG_BASE + "".join(f"      - {r}\n" for r in rules))


def _sg_model_rule(rule: str) -> SecurityGroupRule:
    model, _ = load_model_text(SG_BASE + f"      - {rule}\n")
    group = next(g for g in model.security_groups.values() if g.name == "g")
    return group.ingress[0]


# -- security groups ----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["tcp", "udp", "6", "17"])
def test_sg_tcp_or_udp_rule_without_ports_is_rejected(protocol: str) -> None:
    """tcp and udp rules name their port range (ref 7.5)."""
    [p] = _sg_rule(f"{{protocol: {protocol}, cidr: 0.0.0.0/0}}")
    assert _at(p) == "10:9"
    assert "needs 'port' or 'ports'" in p.message and "ref 7.5" in p.message


def test_sg_port_outside_0_to_65535_is_rejected() -> None:
    """Ports are 0..65535 (ref 7.5)."""
    [p] = _sg_rule("{protocol: tcp, port: 65536, cidr: 0.0.0.0/0}")
    assert _at(p) == "10:31"
    assert "port 65536 is outside 0..65535" in p.message


def test_sg_port_range_that_ends_before_it_starts_is_rejected() -> None:
    """A port range runs FromPort..ToPort (ref 7.5)."""
    [p] = _sg_rule("{protocol: tcp, ports: 90-80, cidr: 0.0.0.0/0}")
    assert _at(p) == "10:32"
    assert "ports 90-80 start after they end" in p.message


def test_sg_ports_with_protocol_all_are_ignored_with_a_warning() -> None:
    """Protocol -1 means all ports regardless of the given range (ref 7.5): AWS accepts
    the rule, so netemu warns and ignores the ports."""
    model, warnings = load_model_text(
        SG_BASE + "      - {protocol: all, port: 22, cidr: 0.0.0.0/0}\n"
    )
    assert [(w.severity, _at(w)) for w in warnings] == [("warning", "10:25")]
    assert "protocol all covers every port; 'port' is ignored" in warnings[0].message
    group = next(g for g in model.security_groups.values() if g.name == "g")
    assert (group.ingress[0].protocol, group.ingress[0].ports) == (PROTO_ALL, None)


@pytest.mark.parametrize(
    "peer", ["", ", cidr: 0.0.0.0/0, security_group: peer"], ids=["none", "both"]
)
def test_sg_rule_needs_exactly_one_of_cidr_or_group(peer: str) -> None:
    """One source/destination per rule: a CIDR or a group (ref 7.5)."""
    errors = _sg_rule(f"{{protocol: all{peer}}}")
    assert [_at(p) for p in errors] == ["10:9"]
    assert "exactly one of 'cidr' or 'security_group'" in errors[0].message


def test_sg_reference_to_a_group_of_another_vpc_is_rejected() -> None:
    """Group references stay inside the VPC (no peering here, ref 7.6)."""
    [p] = _sg_rule("{protocol: all, security_group: far}")
    assert _at(p) == "10:41"
    assert "references group 'far' of VPC 'other', not of 'main'" in p.message


def test_sg_reference_to_unknown_group_gets_a_hint() -> None:
    """A rule references an existing group of the VPC (ref 7.6)."""
    [p] = _sg_rule("{protocol: all, security_group: pear}")
    assert _at(p) == "10:41"
    assert "unknown security group 'pear'; did you mean 'peer'?" in p.message


def test_sg_rule_resolves_group_names_to_ids() -> None:
    """A rule referencing a group holds that group's sg- id (ref 7.6); `default` is the
    VPC's default group."""
    model, _ = load_model_text(SG_BASE + "      - {protocol: all, security_group: default}\n")
    rule = next(g for g in model.security_groups.values() if g.name == "g").ingress[0]
    default = model.group("main", "default")
    assert default is not None and rule.security_group == default.id


def test_sg_name_starting_with_sg_dash_is_rejected() -> None:
    """Group names may not start with sg- (ref 7.8)."""
    errors = _errors("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        security_groups:
          sg-web: {vpc: main}
    """)
    assert [_at(p) for p in errors] == ["4:3"]
    assert "ref 7.8" in errors[0].message


def test_declaring_a_group_named_default_is_rejected() -> None:
    """Every VPC has its own `default` group; its rules are edited in place (ref 7.4)."""
    errors = _errors("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        security_groups:
          default: {vpc: main}
    """)
    assert [_at(p) for p in errors] == ["4:3"]
    assert "default_security_group" in errors[0].message


def test_sg_with_61_inbound_rules_exceeds_the_quota() -> None:
    """60 inbound and 60 outbound rules per group (ref 7.9)."""
    rules = [f"{{protocol: tcp, port: {i}, cidr: 0.0.0.0/0}}" for i in range(61)]
    [p] = _sg_rule(*rules)
    assert _at(p) == "70:9"
    assert "has 61 rules" in p.message and "ref 7.9" in p.message


def test_sg_unknown_protocol_is_rejected() -> None:
    """Protocols are tcp, udp, icmp, -1 or a number (ref 7.5)."""
    [p] = _sg_rule("{protocol: tpc, port: 22, cidr: 0.0.0.0/0}")
    assert _at(p) == "10:20"
    assert "protocol 'tpc' is not valid" in p.message


def test_sg_icmp_type_with_tcp_is_rejected() -> None:
    """ICMP type and code only describe ICMP rules (ref 7.5)."""
    [p] = _sg_rule("{protocol: tcp, port: 22, icmp_type: 8, cidr: 0.0.0.0/0}")
    assert _at(p) == "10:35"
    assert "'icmp_type' only applies to protocol icmp" in p.message


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("{protocol: tcp, port: 22, cidr: 0.0.0.0/0}", (PROTO_TCP, (22, 22), None, None)),
        (
            "{protocol: udp, ports: 1024-65535, cidr: 0.0.0.0/0}",
            (PROTO_UDP, (1024, 65535), None, None),
        ),
        ("{protocol: tcp, ports: [80, 90], cidr: 0.0.0.0/0}", (PROTO_TCP, (80, 90), None, None)),
        ("{protocol: tcp, ports: 443, cidr: 0.0.0.0/0}", (PROTO_TCP, (443, 443), None, None)),
        ("{protocol: icmp, cidr: 0.0.0.0/0}", (PROTO_ICMP, None, -1, -1)),
        ("{protocol: icmp, icmp_type: 3, icmp_code: 4, cidr: 0.0.0.0/0}", (PROTO_ICMP, None, 3, 4)),
        ("{protocol: all, cidr: 0.0.0.0/0}", (PROTO_ALL, None, None, None)),
        ("{protocol: -1, cidr: 0.0.0.0/0}", (PROTO_ALL, None, None, None)),
        ('{protocol: "-1", cidr: 0.0.0.0/0}', (PROTO_ALL, None, None, None)),
        ("{protocol: 6, port: 22, cidr: 0.0.0.0/0}", (PROTO_TCP, (22, 22), None, None)),
        ("{protocol: 50, cidr: 0.0.0.0/0}", (50, None, None, None)),
    ],
)
def test_sg_rule_protocols_and_port_forms(rule: str, expected: tuple[object, ...]) -> None:
    """tcp=6, udp=17, icmp=1, all/-1 = all; ports as N, "A-B" or [A, B]; ICMP -1 = any
    (ref 7.5)."""
    r = _sg_model_rule(rule)
    assert (r.protocol, r.ports, r.icmp_type, r.icmp_code) == expected


def test_sg_ports_on_another_protocol_number_are_ignored_with_a_warning() -> None:
    """A protocol other than tcp/udp/icmp means all its traffic, whatever ports (ref 7.5)."""
    model, warnings = load_model_text(
        SG_BASE + "      - {protocol: 50, port: 22, cidr: 0.0.0.0/0}\n"
    )
    assert [_at(w) for w in warnings] == ["10:24"]
    group = next(g for g in model.security_groups.values() if g.name == "g")
    assert group.ingress[0].ports is None


def test_sg_rule_keeps_its_description() -> None:
    """Rules carry an optional description (ref 7.5)."""
    r = _sg_model_rule("{protocol: all, cidr: 10.0.0.0/8, description: office}")
    assert r.description == "office"


INSTANCE_BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
  other: {cidr: 10.1.0.0/16}
subnets:
  pub: {vpc: main, cidr: 10.0.0.0/24}
security_groups:
  g1: {vpc: main}
  g2: {vpc: main}
  g3: {vpc: main}
  g4: {vpc: main}
  g5: {vpc: main}
  far: {vpc: other}
instances:
""".lstrip("\n")  # the instance is on line 14


def test_instance_with_six_security_groups_exceeds_the_quota() -> None:
    """At most 5 security groups per ENI (ref 7.1)."""
    errors = _errors(
        INSTANCE_BASE + "  web: {subnet: pub, security_groups: [g1, g2, g3, g4, g5, default]}\n"
    )
    assert [_at(p) for p in errors] == ["14:39"]
    assert "lists 6 security groups" in errors[0].message and "ref 7.1" in errors[0].message


def test_instance_listing_a_group_twice_is_rejected() -> None:
    """An ENI carries a set of groups (ref 7.1)."""
    errors = _errors(INSTANCE_BASE + "  web: {subnet: pub, security_groups: [g1, g1]}\n")
    assert [_at(p) for p in errors] == ["14:44"]
    assert "lists security group 'g1' twice" in errors[0].message


def test_instance_group_of_another_vpc_is_rejected() -> None:
    """An SG belongs to one VPC; an ENI uses groups of its own VPC (ref 7.1)."""
    errors = _errors(INSTANCE_BASE + "  web: {subnet: pub, security_groups: [far]}\n")
    assert [_at(p) for p in errors] == ["14:40"]
    assert "group 'far' of VPC 'other'" in errors[0].message


# -- network ACLs -------------------------------------------------------------------------

ACL_BASE = """
vpcs:
  main: {cidr: 10.0.0.0/16}
network_acls:
  acl:
    vpc: main
    ingress:
""".lstrip("\n")  # the first rule is on line 7


def _acl_rule(*rules: str) -> list[Problem]:
    return _errors(ACL_BASE + "".join(f"      - {r}\n" for r in rules))


@pytest.mark.parametrize("number", [0, 32767])
def test_acl_rule_number_outside_1_to_32766_is_rejected(number: int) -> None:
    """Rule numbers are 1..32766; 32767 and up are reserved (ref 8.2)."""
    [p] = _acl_rule(f"{{rule: {number}, protocol: all, cidr: 0.0.0.0/0, action: allow}}")
    assert _at(p) == "7:16"
    assert "outside 1..32766" in p.message and "ref 8.2" in p.message


def test_acl_duplicate_rule_number_is_rejected() -> None:
    """A rule number is unique within its direction (ref 8.7)."""
    [p] = _acl_rule(
        "{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}",
        "{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: deny}",
    )
    assert _at(p) == "8:16"
    assert "rule number 100 is already used by rule 1" in p.message and "ref 8.7" in p.message


def test_acl_same_number_in_both_directions_is_allowed() -> None:
    """Numbers are unique per direction only (ref 8.7)."""
    model, _ = load_model_text(
        ACL_BASE
        + "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
        + "    egress:\n"
        + "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
    )
    assert model.network_acls["acl"].egress[0].number == 100


def test_acl_tcp_rule_without_ports_is_rejected() -> None:
    """A port range is required for protocols 6 and 17 (ref 8.8)."""
    [p] = _acl_rule("{rule: 100, protocol: tcp, cidr: 0.0.0.0/0, action: allow}")
    assert _at(p) == "7:9"
    assert "needs 'port' or 'ports'" in p.message and "ref 8.8" in p.message


def test_acl_rule_without_cidr_or_action_is_reported_at_the_rule() -> None:
    """Every entry has a CIDR and an allow/deny action (ref 8.8)."""
    errors = _acl_rule("{rule: 100, protocol: all}")
    assert [_at(p) for p in errors] == ["7:9", "7:9"]
    assert "needs the key 'cidr'" in errors[0].message
    assert "needs the key 'action'" in errors[1].message


def test_acl_action_other_than_allow_or_deny_is_rejected() -> None:
    """Each rule allows or denies (ref 8.2)."""
    [p] = _acl_rule("{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: permit}")
    assert _at(p) == "7:61"
    assert "must be allow or deny" in p.message


def test_acl_with_20_rules_in_a_direction_exceeds_the_quota() -> None:
    """20 rules per direction including the `*` rule, so 19 usable (ref 8.11)."""
    rules = [f"{{rule: {i + 1}, protocol: all, cidr: 0.0.0.0/0, action: allow}}" for i in range(20)]
    [p] = _acl_rule(*rules)
    assert _at(p) == "26:9"
    assert "has 20 rules" in p.message and "ref 8.11" in p.message


def test_acl_rules_are_sorted_by_number() -> None:
    """Rules are evaluated lowest number first (ref 8.2)."""
    model, _ = load_model_text(
        ACL_BASE
        + "      - {rule: 200, protocol: all, cidr: 0.0.0.0/0, action: allow}\n"
        + "      - {rule: 100, protocol: tcp, port: 22, cidr: 10.0.0.0/8, action: deny}\n"
    )
    assert [r.number for r in model.network_acls["acl"].ingress] == [100, 200]


def test_declared_acl_without_rules_denies_everything() -> None:
    """A new custom ACL holds only the `*` deny entries (ref 8.5)."""
    model, _ = load_model_text(ACL_BASE.replace("    ingress:\n", ""))
    acl = model.network_acls["acl"]
    assert (acl.ingress, acl.egress, acl.is_default) == ((), (), False)


def test_acl_named_like_a_default_acl_is_rejected() -> None:
    """Every VPC has a default ACL (ref 8.4); netemu names it `<vpc>-default`."""
    errors = _errors("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        network_acls:
          main-default: {vpc: main}
    """)
    assert [_at(p) for p in errors] == ["4:3"]
    assert "taken by the default network ACL of VPC 'main'" in errors[0].message
