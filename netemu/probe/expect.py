"""Expectations: run a scenario's `expect` list as probes and judge each result."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from netemu.model.types import Expectation, Model
from netemu.probe.endpoints import source
from netemu.probe.engine import ProbeResult, ProbeSpec, probe
from netemu.probe.reason import satisfies


@dataclass
class Outcome:
    expectation: Expectation
    result: ProbeResult
    ok: bool
    why: str  # empty when ok

    @property
    def title(self) -> str:
        e = self.expectation
        what = "icmp" if e.protocol == "icmp" else f"{e.protocol}/{e.port}"
        six = " over IPv6" if e.family == 6 and ":" not in e.destination else ""
        return f"{e.source} -> {e.destination} {what}{six} {e.result}"

    def to_json(self) -> dict[str, Any]:
        e = self.expectation
        expected: dict[str, Any] = {"result": e.result}
        if e.reason:
            expected["reason"] = e.reason
        if e.seen_source:
            expected["seen_source"] = e.seen_source
        return {**self.result.to_json(), "expected": expected, "ok": self.ok}


def spec_of(e: Expectation) -> ProbeSpec:
    return ProbeSpec(
        e.source, e.destination, e.protocol, e.port, e.source_port, e.size, family=e.family
    )


def expected_source(model: Model, e: Expectation) -> str | None:
    """The address `seen_source` asks for: `public_ip` is the sender's public IP, `nat` the
    elastic IP of the NAT gateway its subnet's route table sends the traffic to."""
    if e.seen_source == "public_ip":
        src = source(model, e.source)
        return str(src.eni.public_ip) if src.eni and src.eni.public_ip else "(no public IP)"
    if e.seen_source == "nat":
        src = source(model, e.source)
        if not src.eni:
            return "(not behind a NAT gateway)"
        table = model.route_tables[model.subnets[src.eni.subnet].route_table]
        nats = [r.target for r in table.routes if r.target_kind == "nat_gateway" and r.target]
        if nats:
            return str(model.nat_gateways[nats[0]].eni.public_ip)
        return "(not behind a NAT gateway)"
    return str(IPv4Address(e.seen_source)) if e.seen_source else None


def judge(model: Model, e: Expectation, r: ProbeResult) -> Outcome:
    if r.result != e.result:
        return Outcome(e, r, False, f"expected {e.result}, got {r.result}")
    if e.reason and not satisfies(e.reason, r.reason):
        got = r.reason.code if r.reason else "no reason"
        return Outcome(e, r, False, f"expected reason {e.reason}, got {got}")
    want = expected_source(model, e)
    if want is not None and r.seen_source != want:
        return Outcome(
            e, r, False, f"expected the destination to see {want}, it saw {r.seen_source}"
        )
    return Outcome(e, r, True, "")


def run(model: Model, timeout: float = 1.0) -> list[Outcome]:
    results = probe(model, [spec_of(e) for e in model.expectations], timeout)
    return [judge(model, e, r) for e, r in zip(model.expectations, results, strict=True)]
