"""`up` shares making its namespaces and reading them back with a forked copy of netemu
(driver.halves, issue 21): the scenario it builds is the one a single process builds, and a
namespace the copy fails to make rolls back every namespace either process made; the
read-back equals one process's, in the same order, and a copy that fails to send its half
costs time, never a namespace left unread."""

from __future__ import annotations

import errno
import os
import pickle
import tempfile

import pytest
from live import live
from test_apply import CLIENT_5000, scenario

from netemu import lifecycle, verify
from netemu.driver import halves, netns, observe
from netemu.errors import KernelError
from netemu.model import load_model
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


def test_a_scenario_built_by_two_processes_is_the_one_its_plan_asks_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(halves, "SPLIT_AT", 2)
    forks = _count_forks(monkeypatch)
    with live(scenario(ingress=CLIENT_5000)) as s:
        assert forks == [2]  # the namespaces, then the read-back at the end of `up`
        plan = render(s.model)
        assert all(netns.exists(ns.name) for ns in plan.namespaces)
        assert verify.verify(s.model, plan) == []


def test_a_namespace_the_copy_cannot_make_rolls_back_what_both_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = scenario(ingress=CLIENT_5000)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ap.yaml")
        with open(path, "w") as f:
            f.write(text)
        model, _ = load_model(path)
        plan = render(model)
        last_of_copy = plan.namespaces[1::2][-1].name
        create = netns.create

        def failing(name: str) -> None:
            if name == last_of_copy:
                raise OSError(errno.EPERM, f"refused {name} for the test")
            create(name)

        monkeypatch.setattr(halves, "SPLIT_AT", 2)
        monkeypatch.setattr(netns, "create", failing)  # the copy inherits it
        with pytest.raises(KernelError) as failed:
            lifecycle.up(path, lifecycle.KernelDriver())
        assert f"refused {last_of_copy} for the test" in str(failed.value)
        assert netns.list_names(f"ne-{model.name}-") == []


def test_a_split_read_back_sees_what_one_process_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    with live(scenario(ingress=CLIENT_5000)) as s:
        plan = render(s.model)
        alone = _read(s.model, plan)
        assert len(alone) > 2
        monkeypatch.setattr(halves, "SPLIT_AT", 2)
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

        monkeypatch.setattr(halves, "SPLIT_AT", 2)
        monkeypatch.setattr(pickle, "dumps", broken)  # called in the copy only
        forks = _count_forks(monkeypatch)
        assert _read(s.model, plan) == alone
        assert forks == [1]
