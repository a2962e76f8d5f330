"""`netemu apply` without a kernel: the changes in AWS terms, what AWS refuses live, which
flows are untracked (ref 7.13-7.16, 6.17), and the kernel diff of two plans."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from netemu.driver.change import touched
from netemu.errors import ScenarioInvalid
from netemu.model import load_model_text
from netemu.model.types import Model
from netemu.ops.diff import changes
from netemu.ops.forbidden import refuse_forbidden
from netemu.render import render, untracked

BASE = """
name: ud
vpcs:
  main: {cidr: 10.9.0.0/16}
internet_gateways:
  igw: {vpc: main}
subnets:
  public: {vpc: main, cidr: 10.9.0.0/24, public_ip_on_launch: true, route_table: public}
  private: {vpc: main, cidr: 10.9.1.0/24, route_table: private}
route_tables:
  public:
    vpc: main
    routes:
      - {destination: 0.0.0.0/0, internet_gateway: igw}
  private:
    vpc: main
    routes:
      - {destination: 0.0.0.0/0, nat_gateway: nat}
      - {destination: 198.51.100.0/24, blackhole: true}
nat_gateways:
  nat: {subnet: public, elastic_ip: 203.0.113.50}
network_acls:
  db:
    vpc: main
    ingress:
      - {rule: 100, protocol: tcp, port: 3306, cidr: 10.9.0.0/24, action: allow}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
security_groups:
  web:
    vpc: main
    ingress:
      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}
  narrow:
    vpc: main
    ingress:
      - {protocol: tcp, port: 22, cidr: 203.0.113.9/32}
  closed:
    vpc: main
    ingress:
      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}
      - {protocol: icmp, icmp_type: -1, icmp_code: -1, cidr: 0.0.0.0/0}
    egress: []
  wide:
    vpc: main
    ingress:
      - {protocol: all, cidr: 0.0.0.0/0}
instances:
  web: {subnet: public, private_ip: 10.9.0.10, security_groups: [web]}
  db: {subnet: private, private_ip: 10.9.1.10, security_groups: [wide]}
"""


def model(text: str = BASE, path: str = "<test>") -> Model:
    return load_model_text(text, path)[0]


def texts(old: str, new: str) -> list[str]:
    return [c.text for c in changes(model(old), model(new))]


def test_security_group_rules_are_authorized_and_revoked() -> None:
    new = BASE.replace(
        "      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}\n  narrow:",
        "      - {protocol: tcp, port: 443, cidr: 0.0.0.0/0}\n  narrow:",
    )
    assert texts(BASE, new) == [
        "revoke sg-web ingress tcp/22 from 0.0.0.0/0",
        "authorize sg-web ingress tcp/443 from 0.0.0.0/0",
    ]


def test_route_replaced_and_acl_associated_in_aws_words() -> None:
    new = BASE.replace("nat_gateway: nat}", "blackhole: true}").replace(
        "route_table: private}", "route_table: private, network_acl: db}"
    )
    assert texts(BASE, new) == [
        "associate acl db with subnet private",
        "replace route 0.0.0.0/0 in rtb private: nat -> blackhole",
    ]


def test_nat_gateway_deleted_and_instance_changes() -> None:
    new = (
        BASE.replace("nat_gateway: nat}", "blackhole: true}")
        .replace("nat_gateways:\n  nat: {subnet: public, elastic_ip: 203.0.113.50}\n", "")
        .replace(
            "security_groups: [web]}",
            "security_groups: [web, narrow], source_dest_check: false, elastic_ip: 192.0.2.7}",
        )
        .replace("security_groups: [wide]}", "security_groups: [wide], state: stopped}")
        + "  app: {subnet: private, private_ip: 10.9.1.20}\n"
    )
    got = texts(BASE, new)
    assert got[0].startswith("delete nat gateway nat (elastic ip 203.0.113.50 disassociated")
    assert got[1:] == [
        "modify instance web security groups: [web] -> [web, narrow]",
        "modify instance web attribute sourceDestCheck: true -> false",
        "release public ip 203.0.113.1 of instance web",
        "associate elastic ip 192.0.2.7 with instance web",
        "stop instance db",
        "launch instance app in subnet private (10.9.1.20)",
        "replace route 0.0.0.0/0 in rtb private: nat -> blackhole",
    ]


def test_no_change_gives_no_changes_and_an_equal_plan() -> None:
    assert texts(BASE, BASE) == []
    assert render(model()) == render(model())


def test_subnet_cidr_change_is_refused_at_its_line(tmp_path: Path) -> None:
    """2.1: a subnet's CIDR is fixed for its life; the AWS error names the line."""
    path = tmp_path / "s.yaml"
    new = BASE.replace("cidr: 10.9.1.0/24", "cidr: 10.9.1.0/25")
    path.write_text(new)
    with pytest.raises(ScenarioInvalid) as e:
        refuse_forbidden(model(), model(new, str(path)), str(path))
    (p,) = e.value.problems
    assert p.pos is not None and p.pos.line == 9
    assert p.message.startswith("OperationNotPermitted: the CIDR block 10.9.1.0/24")


def test_vpc_cidr_change_is_refused(tmp_path: Path) -> None:
    """1.6: an existing CIDR block cannot be resized."""
    path = tmp_path / "s.yaml"
    new = BASE.replace("cidr: 10.9.0.0/16", "cidr: 10.9.0.0/17")
    path.write_text(new)
    with pytest.raises(ScenarioInvalid) as e:
        refuse_forbidden(model(), model(new, str(path)), str(path))
    assert "primary CIDR block 10.9.0.0/16" in e.value.problems[0].message


def _eni(m: Model, name: str):  # type: ignore[no-untyped-def]
    return m.instances[name].eni


def test_all_addresses_rule_with_outbound_all_is_untracked() -> None:
    """7.13: tcp/22 from 0.0.0.0/0 with the default outbound all rule is untracked."""
    m = model()
    assert untracked.selectors(m, _eni(m, "web"), "ingress") == [(6, (22, 22))]
    assert untracked.selectors(m, _eni(m, "web"), "egress") == []


def test_narrow_rule_or_no_outbound_rule_is_tracked_and_icmp_always() -> None:
    """7.13, 7.14: a /32 source, or no all-ports rule the other way, is tracked; ICMP is
    always tracked."""
    text = BASE.replace("security_groups: [web]}", "security_groups: [narrow]}")
    m = model(text)
    assert untracked.selectors(m, _eni(m, "web"), "ingress") == []
    m = model(BASE.replace("security_groups: [web]}", "security_groups: [closed]}"))
    assert untracked.selectors(m, _eni(m, "web"), "ingress") == []


def test_all_traffic_both_ways_is_untracked_for_tcp_and_udp_only() -> None:
    m = model()
    assert untracked.selectors(m, _eni(m, "db"), "ingress") == [(6, None), (17, None)]
    assert untracked.selectors(m, _eni(m, "db"), "egress") == [(6, None), (17, None)]


def test_destinations_behind_a_nat_gateway_stay_tracked() -> None:
    """6.17: flows through a NAT gateway are tracked on the instance side; a more specific
    route elsewhere (the blackhole) is cut out."""
    nets = untracked.nat_routed(model(), "private")
    assert IPv4Network("198.51.100.0/24") not in nets
    assert IPv4Network("0.0.0.0/1") in nets
    assert untracked.nat_routed(model(), "public") == []


def test_touched_namespaces_of_a_rule_change_are_the_subnets_it_concerns() -> None:
    new = BASE.replace(
        "      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}\n  narrow:",
        "      - {protocol: tcp, port: 443, cidr: 0.0.0.0/0}\n  narrow:",
    )
    assert touched(render(model()), render(model(new))) == {"ne-ud-s-public"}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("port: 22, cidr: 0.0.0.0/0}\n  narrow:", "port: 443, cidr: 0.0.0.0/0}\n  narrow:"),
        (
            "port: 3306, cidr: 10.9.0.0/24, action: allow",
            "port: 3306, cidr: 10.9.0.0/24, action: deny",
        ),
        ("    egress: []\n", ""),
        ("instances:", "  extra:\n    vpc: main\n    ingress: []\ninstances:"),
    ],
)
def test_rule_only_changes_reach_only_the_subnets_rulesets(old: str, new: str) -> None:
    """What apply's fast path relies on: for security-group and ACL changes the plans differ
    only in the subnets' rulesets, which render.subnet gives first, in a plan's order."""
    from netemu.ops.plans import filters_only, plans
    from netemu.render import subnet_rulesets

    a, b = model(), model(BASE.replace(old, new))
    assert filters_only(a, b)
    full_a, full_b = render(a), render(b)
    fresh = tuple(subnet_rulesets(b))
    assert full_b.rulesets[: len(fresh)] == fresh
    assert dataclasses.replace(full_a, rulesets=full_b.rulesets) == full_b
    before, after, _ = plans(a, b, None)
    # The plans hold the subnets' rulesets, or (a rule change of groups alone) only those
    # the change reaches: every other subnet's ruleset is the same before and after.
    old_of = {rs.ns: rs for rs in full_a.rulesets[: len(fresh)]}
    assert [rs.ns for rs in before.rulesets] == [rs.ns for rs in after.rulesets]
    assert all(rs in fresh for rs in after.rulesets)
    assert all(old_of[rs.ns] == rs for rs in before.rulesets)
    left = {rs.ns for rs in after.rulesets}
    assert all(old_of[rs.ns] == rs for rs in fresh if rs.ns not in left)
