"""Prefix lists in the kernel plan (ref 19.3-19.5): one named set per list, rules naming
it, a route per entry, and a list change that is only a set update."""

from __future__ import annotations

from pathlib import Path

from netemu.driver import nft_delta
from netemu.model import load_model, load_model_text
from netemu.render import names as n
from netemu.render import render

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "scenarios/book/prefix-lists.yaml"


def _ruleset(text: str, subnet: str):  # type: ignore[no-untyped-def]
    model, _ = load_model_text(text)
    ns = n.subnet_ns(model.name, subnet)
    return next(r for r in render(model).rulesets if r.ns == ns)


def test_a_changed_list_is_one_set_flushed_and_refilled() -> None:
    """19.5: modify-managed-prefix-list changes the list's set, no chain and no table."""
    text = SHIPPED.read_text()
    old = _ruleset(text, "public")
    new = _ruleset(
        text.replace("192.0.2.0/24, description: Osaka office", "203.0.113.0/24"), "public"
    )
    found = nft_delta.delta(old, new)
    assert found is not None
    cmds, chains = found
    assert chains == []
    assert [next(iter(c)) for c in cmds] == ["flush", "add"]
    assert cmds[1]["add"]["element"]["elem"] == [
        {"prefix": {"addr": "198.51.100.0", "len": 25}},
        {"prefix": {"addr": "203.0.113.0", "len": 24}},
    ]
    assert nft_delta.sets_changed(old, new)


def test_overlapping_entries_are_one_interval_in_the_set() -> None:
    """19.3: an interval set refuses overlaps; 10.0.0.0/8 holds 10.1.0.0/16."""
    text = (
        SHIPPED.read_text()
        .replace(
            "      - {cidr: 192.0.2.0/24, description: Osaka office}\n",
            "      - {cidr: 10.0.0.0/8}\n      - {cidr: 10.1.0.0/16}\n",
        )
        .replace("198.51.100.0/25", "192.0.2.0/24")
    )
    sets = [c["add"]["set"] for c in _ruleset(text, "public").commands if "set" in c.get("add", {})]
    pl = next(s for s in sets if s["name"].startswith("pl_"))
    assert pl["elem"] == [
        {"prefix": {"addr": "10.0.0.0", "len": 8}},
        {"prefix": {"addr": "192.0.2.0", "len": 24}},
    ]


def test_a_route_to_a_list_is_a_kernel_route_per_entry() -> None:
    """19.4"""
    model, _ = load_model(str(SHIPPED))
    router = n.router_ns(model.name, "main")
    dsts = {r.dst for r in render(model).routes if r.ns == router}
    assert {"198.51.100.0/25", "192.0.2.0/24"} <= dsts
