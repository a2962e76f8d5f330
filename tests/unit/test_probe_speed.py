"""The pieces that make many probes and a quick `netemu probe` cheap (issue 21): the flight
index finds the same flight a scan would, path walks through the ENI index give the same
hops, and the running model's cache is used only when its key and its file can be trusted."""

from __future__ import annotations

import dataclasses
import os
import pickle
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from bench.scenario_gen import scenario
from netemu.driver import model_cache
from netemu.driver import state as st
from netemu.model import load_model_text
from netemu.model.types import Model
from netemu.probe import path
from netemu.probe.endpoints import destination, source
from netemu.probe.engine import ProbeSpec
from netemu.probe.flight import Flight, Flights
from netemu.probe.nflog import Packet

MODEL, _ = load_model_text(scenario(30, "spd"))


def _flight(src: str, dst: str, token: int, sport: int, port: int = 80) -> Flight:
    s = source(MODEL, src)
    return Flight(ProbeSpec(src, dst, "tcp", port), s, destination(MODEL, dst, s), token, sport)


def test_the_index_finds_the_flight_a_scan_would() -> None:
    flights = [_flight(f"i{k}", f"i{k + 1}", 100 + k, 40000 + k) for k in range(20)]
    index = Flights(flights)
    for f in flights:
        request = Packet(6, f.src.ip, f.dst.ip, f.token, f.sport, 80)
        reply = Packet(6, f.dst.ip, f.src.ip, 7, 80, f.sport, tcp_flags=0x12)
        assert index.requested(request) is f
        assert index.replied(reply) == [x for x in flights if x.is_reply(reply)] == [f]
    stray = Packet(6, IPv4Address("10.0.0.9"), IPv4Address("10.0.0.8"), 9999, 1, 2)
    assert index.requested(stray) is None and index.replied(stray) == []


def test_a_reply_to_the_port_nat_chose_is_found_once_the_request_arrived() -> None:
    f = _flight("i0", "i1", 5, 41000)
    index = Flights([f])
    natted = Packet(6, f.dst.ip, f.src.ip, 1, 80, 1024, tcp_flags=0x12)
    assert index.replied(natted) == []
    index.arrive(f, Packet(6, f.src.ip, f.dst.ip, f.token, 1024, 80))
    assert index.replied(natted) == [f]
    assert index.progress == 1


def test_deciding_a_flight_takes_it_out_of_the_count() -> None:
    f, g = _flight("i0", "i1", 5, 41000), _flight("i2", "i3", 6, 41001)
    index = Flights([f, g])
    f.reply = Packet(6, f.dst.ip, f.src.ip, 1, 80, 41000, tcp_flags=0x12)
    index.decide(f)
    assert index.undecided == 1


def _scan_holder(model: Model, vpc: str, ip: IPv4Address) -> object:
    return next(
        (e for e in model.enis() if e.private_ip == ip and model.subnets[e.subnet].vpc == vpc), None
    )


def test_path_walks_through_the_eni_index_match_a_scan() -> None:
    for inst in MODEL.instances.values():
        assert path._holder(MODEL, "main", inst.private_ip) is _scan_holder(
            MODEL, "main", inst.private_ip
        )
    src = source(MODEL, "i0")
    assert path.walk(MODEL, src, MODEL.instances["i11"].private_ip) == [
        "instance:i0", "subnet:s0", "vpc_router:main", "subnet:s1", "instance:i11",
    ]  # fmt: skip


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(st, "STATE_ROOT", str(tmp_path))
    d = tmp_path / "spd"
    d.mkdir(mode=0o700)
    (d / "spd.yaml").write_text(scenario(30, "spd"))
    return d


def test_the_running_model_is_loaded_once_then_read_from_the_cache(state_dir: Path) -> None:
    copy = str(state_dir / "spd.yaml")
    loads: list[int] = []

    def load() -> Model:
        loads.append(1)
        return MODEL

    first = model_cache.cached("spd", copy, {}, load)
    second = model_cache.cached("spd", copy, {}, load)
    assert len(loads) == 1 and second.instances.keys() == first.instances.keys()
    model_cache.cached("spd", copy, {"i0": {"state": "stopped"}}, load)  # stop/start
    assert len(loads) == 2
    (state_dir / "spd.yaml").write_text(scenario(31, "spd"))  # apply rewrote the copy
    model_cache.cached("spd", copy, {"i0": {"state": "stopped"}}, load)
    assert len(loads) == 3


def test_a_cache_file_others_may_write_is_not_trusted(state_dir: Path) -> None:
    copy = str(state_dir / "spd.yaml")
    model_cache.cached("spd", copy, {}, lambda: MODEL)
    cache = state_dir / model_cache.FILE
    os.chmod(cache, 0o666)
    loads: list[int] = []
    model_cache.cached("spd", copy, {}, lambda: loads.append(1) or MODEL)
    assert loads == [1]


def test_a_damaged_cache_falls_back_to_loading(state_dir: Path) -> None:
    copy = str(state_dir / "spd.yaml")
    (state_dir / model_cache.FILE).write_bytes(pickle.dumps(("other key", "not a model"))[:9])
    loads: list[int] = []
    got = model_cache.cached("spd", copy, {}, lambda: loads.append(1) or MODEL)
    assert loads == [1] and got is MODEL


def test_the_model_up_or_apply_built_is_what_the_next_apply_reads(state_dir: Path) -> None:
    """`up` and `apply` keep the model they built, positions naming the scenario's own file,
    for the next `apply` to compare with (ops.plans.running_model), apart from the copy's
    model the other commands read; a model loaded from a relative path is not kept."""
    copy = str(state_dir / "spd.yaml")
    source = "/srv/labs/spd.yaml"
    built = dataclasses.replace(MODEL, source=source)
    model_cache.remember("spd", copy, built)
    loads: list[int] = []
    got = model_cache.cached("spd", copy, {}, lambda: loads.append(1) or MODEL, source)
    assert loads == [] and got.source == source
    assert model_cache.cached("spd", copy, {}, lambda: loads.append(1) or MODEL) is MODEL
    assert loads == [1]  # the copy's own model is another entry
    other = model_cache.cached("spd", copy, {}, lambda: loads.append(1) or MODEL, "/elsewhere.yaml")
    assert loads == [1, 1] and other is MODEL  # another file: not the kept model
    (state_dir / model_cache.APPLY_FILE).unlink()
    model_cache.remember("spd", copy, dataclasses.replace(MODEL, source="spd.yaml"))
    assert not (state_dir / model_cache.APPLY_FILE).exists()
