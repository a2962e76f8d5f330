"""`verify` compares what rules do, not only their names: a rule whose match changed under
the plan's comment is named (issue 11); the comparison itself needs no root."""

from __future__ import annotations

import pytest

from netemu import verify
from netemu.driver import observe as ob
from netemu.render.names import NFT_TABLE

ACCEPT_22 = [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                        "right": 22}}, {"accept": None}]  # fmt: skip
ACCEPT_23 = [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                        "right": 23}}, {"accept": None}]  # fmt: skip
COUNTED = [{"counter": {"packets": 7, "bytes": 420}}, {"drop": None}]
COUNTED_LATER = [{"counter": {"packets": 9000, "bytes": 1}}, {"drop": None}]


def _seen(bodies: list[object]) -> ob.NamespaceSeen:
    ns = ob.NamespaceSeen("ne-t-s-a", 1)
    ns.nft.tables = [("inet", NFT_TABLE)]
    comments = ("sg rule 0", "deny")
    ns.nft.chains = {
        "c": ob.ChainSeen("c", None, None, None, None, comments,
                          tuple(ob.rule_body(b) for b in bodies)),
    }  # fmt: skip
    return ns


def _wanted(bodies: list[object] | None) -> verify.Wanted:
    chain = verify.ChainWanted(comments=["sg rule 0", "deny"])
    if bodies is not None:
        chain.bodies = [ob.rule_body(b) for b in bodies]
    return verify.Wanted(chains={"c": chain})


@pytest.mark.parametrize(
    ("planned", "live", "differs"),
    [
        ([ACCEPT_22, COUNTED], [ACCEPT_22, COUNTED], False),
        ([ACCEPT_22, COUNTED], [ACCEPT_22, COUNTED_LATER], False),  # counters move
        ([ACCEPT_22, COUNTED], [ACCEPT_23, COUNTED], True),  # same comment, other port
        (None, [ACCEPT_23, COUNTED], False),  # no reference: names only
    ],
)
def test_rule_bodies_are_compared_under_equal_names(
    planned: list[object] | None, live: list[object], differs: bool
) -> None:
    found = verify._nftables("ne-t-s-a", _wanted(planned), _seen(live))
    assert bool(found) is differs
    if differs:
        (d,) = found
        assert d.message.startswith("chain c rule 1 ('sg rule 0') does not do what the plan asks")
        assert '"right":23' in d.message and '"right":22' in d.message


def test_reference_errors_and_missing_namespaces() -> None:
    want = {"ne-t-s-a": _wanted(None), "ne-t-i-x": verify.Wanted()}
    verify.add_reference_bodies(
        want, {"ne-t-s-a": {"c": [ob.rule_body(ACCEPT_22)]}, "ne-gone": {}, "ne-t-i-x": {}}
    )
    assert want["ne-t-s-a"].chains and want["ne-t-s-a"].chains["c"].bodies == [
        ob.rule_body(ACCEPT_22)
    ]
    want2 = {"ne-t-s-a": _wanted(None)}
    verify.add_reference_bodies(want2, {"ne-t-s-a": "Error: syntax"})
    assert want2["ne-t-s-a"].ruleset_error == "Error: syntax"


def test_renamed_rulesets_keep_everything_but_the_table() -> None:
    rs = {"nftables": [
        {"add": {"table": {"family": "inet", "name": NFT_TABLE}}},
        {"add": {"chain": {"family": "inet", "table": NFT_TABLE, "name": "c"}}},
        {"add": {"rule": {"family": "inet", "table": NFT_TABLE, "chain": "c", "expr": ACCEPT_22}}},
    ]}  # fmt: skip
    out = ob._renamed(rs, "r7")
    assert out[0]["add"]["table"]["name"] == "r7"
    assert out[1]["add"]["chain"] == {"family": "inet", "table": "r7", "name": "c"}
    assert out[2]["add"]["rule"]["expr"] == ACCEPT_22
    assert rs["nftables"][0]["add"]["table"]["name"] == NFT_TABLE  # the plan is untouched
