"""The static twin of probe(): a verdict with its reason from the model alone, no kernel.

The endpoints are resolved by the probe's own rules (probe/endpoints.py), so `to: web` means
the same address here and there. When no source port is given, a probe picks one from
32768-60999; the walk then tries one port of every stretch of that range that the network
ACLs treat differently, and says so when the answer depends on the port.
"""

from __future__ import annotations

import time
from dataclasses import replace
from ipaddress import IPv4Address

from netemu.explain import codes, ipv6
from netemu.explain.hop import Hop, LegResult
from netemu.explain.index import ModelIndex
from netemu.explain.packet import ICMP_ECHO_REQUEST, NAT_PORT, PROTOCOLS, Packet
from netemu.explain.reason import Classifier, Drop
from netemu.explain.result import StaticResult
from netemu.explain.walk import Walker, start_of
from netemu.model.aws_services import SERVICE_PORTS
from netemu.model.types import Model
from netemu.probe.endpoints import Endpoint, destination, source
from netemu.probe.engine import CLIENT_PORTS, ProbeSpec
from netemu.probe.expect import Outcome, judge, spec_of
from netemu.probe.reason import Reason, from_drop
from netemu.render import nft

ICMP_ID = 4242  # the echo id of a modelled ping; any value gives the same answer


def explain(
    model: Model, spec: ProbeSpec, index: ModelIndex | None = None, as_kernel: bool = False
) -> StaticResult:
    """The modelled answer for `spec`; `as_kernel` answers as netemu's kernel does where it
    knowingly differs from AWS (docs/aws-decisions.md), for comparing with packets."""
    if spec.family == 6 or ":" in spec.destination:
        return ipv6.explain(model, spec)  # the dual-stack walk (explain.ipv6)
    ix = index or ModelIndex(model)
    started = time.perf_counter()
    src = source(model, spec.source)
    dst = destination(model, spec.destination, src)
    if spec.source_port is not None or spec.protocol == "icmp":
        out = _walk(ix, spec, src, dst, spec.source_port or ICMP_ID, as_kernel)
    else:
        answers = [_walk(ix, spec, src, dst, port, as_kernel) for port in client_ports(model)]
        out = answers[0]
        differ = [a for a in answers if _key(a) != _key(out)]
        if differ:
            blocked = next(a for a in answers if a.result == "blocked")
            good = [str(a.source_port) for a in answers if a.result == "reachable"]
            out = blocked
            out.notes.append(
                f"the answer depends on the source port: blocked from port {blocked.source_port}"
                + (f", reachable from port(s) {', '.join(good)}" if good else "")
            )
    out.elapsed_ms = int((time.perf_counter() - started) * 1000)
    return out


def outcomes(model: Model) -> list[Outcome]:
    """The scenario's `expect` list judged by the model alone (`netemu test --static`),
    except what the model cannot answer (`not_run`)."""
    ix = ModelIndex(model)
    return [
        judge(model, e, explain(model, spec_of(e), ix))
        for e in model.expectations
        if e.size is None
    ]


def not_run(model: Model) -> int:
    """Expectations only the kernel can judge: `run:` commands, and `size:` downloads (path
    MTU and its ICMP errors, 5.6 and 7.19, are not modelled)."""
    return len(model.command_checks) + sum(e.size is not None for e in model.expectations)


def client_ports(model: Model) -> list[int]:
    """One source port per stretch of the client range that some ACL rule splits off."""
    lo, hi = CLIENT_PORTS
    cuts = {lo}
    for acl in model.network_acls.values():
        for rule in (*acl.ingress, *acl.egress):
            if rule.ports:
                for edge in (rule.ports[0], rule.ports[1] + 1):
                    if lo < edge <= hi:
                        cuts.add(edge)
    return sorted(cuts)


def _key(r: StaticResult) -> tuple[object, ...]:
    x = r.reason
    return (r.result, x.code if x else None, x.component if x else None, x.leg if x else None)


def _walk(
    ix: ModelIndex, spec: ProbeSpec, src: Endpoint, dst: Endpoint, sport: int, as_kernel: bool
) -> StaticResult:
    proto = PROTOCOLS[spec.protocol]
    icmp = spec.protocol == "icmp"
    dport = sport if icmp else spec.port or 0
    request = Packet(
        src.ip, dst.ip, proto, sport, dport, ICMP_ECHO_REQUEST if icmp else None, syn=not icmp
    )
    why = Classifier(ix.model)
    why.port = None if icmp else spec.port
    why.reply_ports = {sport}
    w = Walker(ix, why, as_kernel)
    first = _source_hop(ix, src)
    forward = w.leg(start_of(ix, src.name), request, "request")
    forward.hops.insert(0, first)
    back = LegResult([], None, None, None)
    drop = forward.drop
    if drop is None:
        assert forward.arrived is not None and forward.at is not None
        why.reply_ports.add(forward.arrived.sport)
        answer = forward.arrived.reply(_listening(ix, forward.at, spec))
        back = w.leg(_reply_start(ix, forward.at, answer.src), answer, "reply")
        back.hops.insert(0, Hop(forward.at, _id_of(ix, forward.at)))
        drop = back.drop
        if drop is None:
            assert back.arrived is not None
            if back.arrived.src != dst.ip:
                w.notes.append(
                    f"the reply comes back from {back.arrived.src}, not from {dst.ip}; a probe "
                    "counts it (it matches by ports), a real client may not"
                )
            if (
                back.at != first.component
                or back.arrived.dst != src.ip
                or not why.recognisable("reply", back.arrived)
            ):
                drop = why.silent(
                    codes.REPLY_FROM_OTHER_ADDRESS,
                    "reply",
                    back.arrived,
                    f"the reply reaches {back.at} as {back.arrived.describe()}",
                )
    arrived = forward.arrived
    return StaticResult(
        spec=replace(spec, source_port=spec.source_port),
        src_ip=str(src.ip),
        dst_ip=str(dst.ip),
        result="blocked" if drop else "reachable",
        seen_source=str(arrived.src) if arrived else None,
        seen_port=arrived.sport if arrived and not icmp and arrived.sport != NAT_PORT else None,
        reason=_reason(ix, drop, src, dst),
        hops=[h.component for h in forward.hops + back.hops[1:]],
        elapsed_ms=0,
        source_port=None if icmp else sport,
        forward_path=forward.hops,
        return_path=back.hops,
        notes=list(dict.fromkeys(w.notes)),
        kernel_differs=list(dict.fromkeys(w.kernel_differs)),
        share_blocked=w.by_chance if drop else 1.0,
        recognisable=drop is None or (drop.recognisable and codes.observed(drop.code)),
    )


def _reason(ix: ModelIndex, drop: Drop | None, src: Endpoint, dst: Endpoint) -> Reason | None:
    """A drop named like a kernel rule, looked up as a probe looks it up (probe.reason), so
    the codes that depend on the endpoints come out the same on both sides."""
    if drop is None:
        return None
    if not codes.observed(drop.code):  # the kernel names no such drop: the model's own word
        return Reason(
            drop.code, drop.direction, drop.component, drop.rule, drop.leg, drop.detail,
            drop.packet, origin="model",
        )  # fmt: skip
    kernel = nft.Drop(drop.code, drop.component, drop.direction, drop.rule)
    return replace(from_drop(kernel, drop.leg, ix.model, src, dst), packet=drop.packet)


def _source_hop(ix: ModelIndex, src: Endpoint) -> Hop:
    if src.eni is not None:
        return Hop(f"instance:{src.name}", ix.model.instances[src.name].id)
    return Hop(f"internet_host:{src.name}")


def _id_of(ix: ModelIndex, component: str) -> str | None:
    kind, _, name = component.partition(":")
    if kind == "instance":
        return ix.model.instances[name].id
    if kind == "vpc_endpoint":
        return ix.eni(kind, name).id
    return None


def _listening(ix: ModelIndex, at: str, spec: ProbeSpec) -> bool:
    """Does a service hold the probed TCP port (SYN-ACK) or not (RST)?"""
    kind, _, name = at.partition(":")
    m = ix.model
    if kind == "vpc_endpoint":  # the service's front end on its ENI (17.3)
        return spec.port in SERVICE_PORTS
    services = (
        m.instances[name].services
        if kind == "instance"
        else m.internet_hosts[name].services
        if kind == "internet_host"
        else ()
    )
    return any(s.kind != "udp" and s.port == spec.port for s in services)


def _reply_start(ix: ModelIndex, at: str, src: IPv4Address) -> tuple[str, str, str]:
    """The reply leaves an instance by the ENI that holds its source address (9.23)."""
    kind, _, name = at.partition(":")
    if kind == "instance":
        return ix.port(ix.sender(name, src))
    if kind == "vpc_endpoint":
        return ("subnet", ix.eni(kind, name).subnet, f"port:vpc_endpoint:{name}")
    return ("internet", "", name)
