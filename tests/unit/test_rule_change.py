"""`apply` of a security-group rule change renders only the chains those rules fill
(render.rule_change): the result is exactly a full render of the new scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from netemu.model import load_model_text
from netemu.model.types import Model
from netemu.ops.plans import Running, changed_groups, plans
from netemu.render import render, rule_change, subnet_rulesets

BOOK = Path(__file__).resolve().parents[2] / "scenarios" / "book"
WEBDB = (BOOK / "webdb.yaml").read_text()
DUAL = (BOOK / "webdb-dualstack.yaml").read_text()
SSH = "      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}\n"


def _model(text: str) -> Model:
    return load_model_text(text, "rc.yaml")[0]


CHANGES = [
    # A rule added beside another (7.2); the default egress rule removed, which makes the
    # ssh flows tracked (7.13: no all-addresses rule the other way any more).
    (WEBDB, SSH, SSH + "      - {protocol: tcp, port: 443, cidr: 0.0.0.0/0}\n"),
    (WEBDB, SSH, SSH + "    egress: []\n"),
    # A rule removed: the group then admits nothing inbound.
    (WEBDB, SSH, ""),
    (WEBDB, "port: 22, cidr: 0.0.0.0/0}", "port: 2222, cidr: 10.0.0.0/8}"),
    # Dual stack: the IPv6 chains of the group follow (8.8).
    (DUAL, "{protocol: tcp, port: 22, cidr_ipv6: \"::/0\"}", "{protocol: tcp, port: 23, cidr_ipv6: \"::/0\"}"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "old", "new"), CHANGES)
def test_a_rule_change_rendered_chain_by_chain_equals_a_full_render(
    text: str, old: str, new: str
) -> None:
    assert old in text
    a, b = _model(text), _model(text.replace(old, new, 1))
    groups = changed_groups(a, b)
    assert groups and len(groups) == 1
    fresh = rule_change.security_group_rules(a, b, groups, subnet_rulesets(a))
    assert fresh == subnet_rulesets(b)
    # Through apply's plans too, with and without the running plan held in memory.
    whole = render(b)
    for running in (None, Running(a, render(a))):
        _, after, kept = plans(a, b, running)
        assert after.rulesets and all(rs in whole.rulesets for rs in after.rulesets)
        assert kept is None if running is None else kept == whole


def test_a_rule_that_starts_referring_to_a_group_needs_a_full_render() -> None:
    """A reference to a group is a set of its members (7.6): the table's shape changes."""
    a = _model(WEBDB)
    b = _model(WEBDB.replace(SSH, SSH + "      - {protocol: tcp, port: 80, security_group: ssh}\n"))
    groups = changed_groups(a, b)
    assert groups
    assert rule_change.security_group_rules(a, b, groups, subnet_rulesets(a)) is None
    _, after, kept = plans(a, b, Running(a, render(a)))
    assert kept == render(b)
    assert after.rulesets == tuple(subnet_rulesets(b))


def test_a_chain_naming_a_set_the_namespace_lacks_is_not_spliced() -> None:
    """A rule kind with a set of its own elsewhere in the namespace goes to a full render."""
    from netemu.render import nft

    rs = subnet_rulesets(_model(WEBDB))[0]
    block = [nft.add_chain("x"), nft.add_rule("x", nft.match(nft.payload("ip", "saddr"), "@pl"))]
    assert not rule_change._sets_declared({"x": block}, rs.commands)
    declared = (*rs.commands, nft.add_set("pl", "ipv4_addr", [], interval=False))
    assert rule_change._sets_declared({"x": block}, declared)


def test_a_rule_authorized_after_a_group_reference_is_appended_not_refilled() -> None:
    """A group's kernel rules follow the order of its own rules, so the rule authorized last
    (a CIDR rule after a reference to a group, as a default group's rules are) reaches the
    chain as an append (driver.nft_delta), and no rule of the chain is removed meanwhile."""
    from netemu.driver import nft_delta

    ref = "      - {protocol: tcp, port: 3306, security_group: ssh}\n"
    text = WEBDB.replace(SSH, ref + SSH)
    a = _model(text)
    b = _model(text.replace(SSH, SSH + "      - {protocol: tcp, port: 443, cidr: 0.0.0.0/0}\n"))
    changed = 0
    for old, new in zip(subnet_rulesets(a), subnet_rulesets(b), strict=True):
        found = nft_delta.delta(old, new)
        assert found is not None
        assert not any("flush" in cmd for cmd in found[0]), found[0]
        changed += bool(found[0])
    assert changed  # the public subnet's web carries the group
