"""The read-back of a refilled chain straight from nf_tables (driver.nft_read) sees what
libnftables lists, and what changed behind netemu's back: a verify after a live change
rests on it."""

from __future__ import annotations

import nftables
from live import live
from test_apply import CLIENT_5000, scenario

from netemu.driver import netns, nft_read, rtnl
from netemu.render import render
from netemu.render.names import NFT_TABLE
from netemu.verify import verify_rulesets


def _listed(chain: str) -> tuple[str | None, ...]:
    nft = nftables.Nftables()
    nft.set_json_output(True)
    ref = {"family": "inet", "table": NFT_TABLE, "name": chain}
    rc, out, err = nft.json_cmd({"nftables": [{"list": {"chain": ref}}]})
    assert rc == 0, err
    return tuple(i["rule"].get("comment") for i in out["nftables"] if "rule" in i)


def test_the_netlink_read_of_every_chain_equals_the_libnftables_listing() -> None:
    with live(scenario(ingress=CLIENT_5000)) as s:
        rs = render(s.model).rulesets[0]
        made = [c["add"]["chain"] for c in rs.commands if "chain" in c.get("add", {})]
        chains = sorted({c["name"] for c in made
                         if c["table"] == NFT_TABLE and c.get("family", "inet") == "inet"})  # fmt: skip
        assert chains
        with netns.entered(rs.ns), rtnl.Socket(rtnl.NETLINK_NETFILTER) as sock:
            for chain in chains:
                assert nft_read.chain_comments(sock, NFT_TABLE, chain) == _listed(chain)
            assert nft_read.chain_comments(sock, NFT_TABLE, "ne-no-such-chain") is None
            assert nft_read.chain_comments(sock, "ne-no-such-table", chains[0]) is None


def test_a_rule_deleted_behind_netemus_back_is_a_difference_in_the_read_back() -> None:
    with live(scenario(ingress=CLIENT_5000)) as s:
        plan = render(s.model)
        rs = next(r for r in plan.rulesets
                  if any(c.get("add", {}).get("rule", {}).get("comment") for c in r.commands))  # fmt: skip
        rule = next(c["add"]["rule"] for c in rs.commands if c.get("add", {}).get("rule"))
        chain = rule["chain"]
        assert verify_rulesets(plan, {rs.ns}, {rs.ns: [chain]}) == []
        with netns.entered(rs.ns):
            nft = nftables.Nftables()
            rc, _out, err = nft.cmd(f"flush chain inet {NFT_TABLE} {chain}")
            assert rc == 0, err
        found = verify_rulesets(plan, {rs.ns}, {rs.ns: [chain]})
        assert [d.what for d in found] == ["nftables"] and chain in str(found[0])


def test_the_tables_read_over_netlink_are_those_nft_lists() -> None:
    """`verify` asks netlink whether a namespace holds any table before it lists a ruleset:
    the answer equals libnftables' in a namespace with tables and one without."""
    with live(scenario(ingress=CLIENT_5000)) as s:
        plan = render(s.model)
        with_tables = plan.rulesets[0].ns
        without = next(ns.name for ns in plan.namespaces
                       if ns.name not in {r.ns for r in plan.rulesets})  # fmt: skip
        for ns, expect_any in ((with_tables, True), (without, False)):
            with netns.entered(ns), rtnl.Socket(rtnl.NETLINK_NETFILTER) as sock:
                nft = nftables.Nftables()  # its socket, too, in the namespace
                nft.set_json_output(True)
                rc, out, err = nft.json_cmd({"nftables": [{"list": {"tables": None}}]})
                assert rc == 0, err
                listed = [(i["table"]["family"], i["table"]["name"])
                          for i in out["nftables"] if "table" in i]  # fmt: skip
                assert sorted(nft_read.tables(sock)) == sorted(listed)
            assert bool(listed) is expect_any
