"""Model -> scenario dict: the describe-* round trip plus what only netemu has.

Internet hosts, the public pool and expectations are not AWS objects, so they are taken
from the model directly; everything else goes through model_to_describe and the importer,
the same path an AWS account takes.
"""

from __future__ import annotations

from typing import Any

from netemu.interop.export_describe import model_to_describe
from netemu.interop.names import service_text
from netemu.interop.sources import describe_data
from netemu.interop.to_scenario import describe_to_scenario
from netemu.model.types import CommandCheck, Expectation, Model
from netemu.model.validate_context import DEFAULT_POOL


def expectation(e: Expectation) -> dict[str, Any]:
    out: dict[str, Any] = {"from": e.source, "to": e.destination}
    out[e.protocol] = True if e.protocol == "icmp" else e.port
    if e.source_port is not None:
        out["source_port"] = e.source_port
    out["result"] = e.result
    if e.reason:
        out["reason"] = e.reason
    if e.seen_source:
        out["seen_source"] = e.seen_source
    if e.size is not None:
        out["size"] = e.size
    if e.family == 6 and ":" not in e.destination:  # an IPv6 literal says it already
        out["family"] = 6
    return out


def command_check(c: CommandCheck) -> dict[str, Any]:
    """A `run:` expectation as the scenario writes it."""
    out: dict[str, Any] = {"from": c.source, "run": c.command}
    if c.exit != 0:
        out["exit"] = c.exit
    if c.output is not None:
        out["output"] = c.output
    if c.timeout != CommandCheck.timeout:
        out["timeout"] = c.timeout
    return out


def model_to_scenario(model: Model) -> dict[str, Any]:
    hosts = [(h.name, str(h.ip)) for h in model.internet_hosts.values() if not h.aws_service]
    scenario, _ = describe_to_scenario(
        describe_data(model_to_describe(model)),
        name=model.name,
        region=model.region,
        internet=hosts,
    )
    scenario["internet"] = internet_of(model)
    if model.expectations or model.command_checks:
        scenario["expect"] = [expectation(e) for e in model.expectations] + [
            command_check(c) for c in model.command_checks
        ]
    return scenario


def internet_of(model: Model) -> dict[str, Any]:
    """The `internet` mapping: public pool (when not the default) and hosts with services."""
    internet: dict[str, Any] = {}
    if model.public_pool != DEFAULT_POOL:
        internet["public_pool"] = str(model.public_pool)
    services = [h.name for h in model.internet_hosts.values() if h.aws_service]
    if services:  # the emulated AWS services are hosts netemu adds (model.aws_services)
        internet["aws_services"] = services
    internet["hosts"] = {}
    for h in model.internet_hosts.values():
        if h.aws_service:
            continue
        spec: dict[str, Any] = {"ip": str(h.ip)}
        if h.ipv6 is not None:
            spec["ipv6_address"] = str(h.ipv6)
        if h.services:
            spec["services"] = [service_text(s) for s in h.services]
        internet["hosts"][h.name] = spec
    return internet
