"""The read-back of many namespaces is shared with a forked copy of netemu (driver.observe,
issue 21): what it reads is what one process reads alone, in the same order, and a copy
that fails costs time, never a namespace left unread."""

from __future__ import annotations

import os
import pickle

import pytest
from live import live
from test_apply import CLIENT_5000, scenario

from netemu import verify
from netemu.driver import observe
from netemu.model.types import Model
from netemu.render import render
from netemu.render.plan import Plan


def _read(model: Model, plan: Plan) -> dict[str, observe.NamespaceSeen]:
    want = verify.wanted(model, plan)
    peers: dict[str, set[str]] = {}
    for link in plan.links:
        peers.setdefault(link.ns_a, set()).add(link.ns_b)
        peers.setdefault(link.ns_b, set()).add(link.ns_a)
    sysctls = {name: list(w.sysctls) for name, w in want.items()}
    return observe.observe(list(want), peers, sysctls)


def _count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    count = [0]
    fork = os.fork

    def counted() -> int:
        count[0] += 1
        return fork()

    monkeypatch.setattr(os, "fork", counted)
    return count


def test_a_split_read_back_sees_what_one_process_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    with live(scenario(ingress=CLIENT_5000)) as s:
        plan = render(s.model)
        alone = _read(s.model, plan)
        assert len(alone) > 2
        monkeypatch.setattr(observe, "SPLIT_AT", 2)
        forks = _count_forks(monkeypatch)
        split = _read(s.model, plan)
        assert forks == [1]
        assert list(split) == list(alone)
        assert split == alone
        assert verify.verify(s.model, plan, bodies=False) == []


def test_a_failed_copy_leaves_its_half_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    with live(scenario(ingress=CLIENT_5000)) as s:
        plan = render(s.model)
        alone = _read(s.model, plan)

        def broken(_obj: object) -> bytes:
            raise pickle.PicklingError("the copy could not send what it read")

        monkeypatch.setattr(observe, "SPLIT_AT", 2)
        monkeypatch.setattr(pickle, "dumps", broken)  # called in the copy only
        forks = _count_forks(monkeypatch)
        assert _read(s.model, plan) == alone
        assert forks == [1]
