"""The smallest nftables transaction between two rulesets of a namespace (driver.nft_delta):
whole chains refilled, the table replaced only when its shape changes."""

from __future__ import annotations

from netemu.driver import nft_delta
from netemu.render import nft
from netemu.render.plan import Ruleset


def _rule(chain: str, port: int) -> dict[str, object]:
    return nft.add_rule(chain, nft.match(nft.payload("th", "dport"), port), nft.ACCEPT)


def _ruleset(a: list[int], b: list[int], tail: list[int]) -> Ruleset:
    """Chain `a`'s rules are split around chain `b`'s, so a chain's rules can lie partly
    outside the part that differs."""
    cmds = [nft.add_table(), nft.add_chain("a"), *(_rule("a", p) for p in a)]
    cmds += [nft.add_chain("b"), *(_rule("b", p) for p in b)]
    cmds += [_rule("a", p) for p in tail]
    return Ruleset("ne-nd-x", tuple(cmds))


def test_equal_rulesets_need_no_command() -> None:
    assert nft_delta.delta(_ruleset([1], [2], [3]), _ruleset([1], [2], [3])) == ([], [])


def test_a_changed_chain_is_flushed_and_refilled_with_every_rule_it_keeps() -> None:
    found = nft_delta.delta(_ruleset([1, 2], [5], [3]), _ruleset([1, 2], [5], [4]))
    assert found is not None
    cmds, chains = found
    assert chains == ["a"]
    ref = {"family": "inet", "table": nft.NFT_TABLE, "name": "a"}
    assert cmds == [{"flush": {"chain": ref}}, _rule("a", 1), _rule("a", 2), _rule("a", 4)]


def test_a_chain_emptied_is_flushed() -> None:
    found = nft_delta.delta(_ruleset([1], [5, 6], []), _ruleset([1], [], []))
    assert found is not None
    cmds, chains = found
    assert chains == ["b"] and len(cmds) == 1 and "flush" in cmds[0]


def test_a_new_chain_replaces_the_table() -> None:
    old = _ruleset([1], [2], [])
    new = Ruleset(old.ns, (*old.commands, nft.add_chain("c")))
    assert nft_delta.delta(old, new) is None


def test_rules_only_added_after_the_old_ones_are_appended_without_a_flush() -> None:
    """An authorized rule of a new port: nothing is deleted, so no packet ever meets the
    chain without its old rules, and the kernel frees nothing."""
    found = nft_delta.delta(_ruleset([1], [5], []), _ruleset([1], [5], [3, 4]))
    assert found == ([_rule("a", 3), _rule("a", 4)], ["a"])
