"""Human-readable lines for probe results and expectations (the CLI prints them)."""

from __future__ import annotations

from netemu.probe.engine import ProbeResult
from netemu.probe.expect import Outcome


def verdict(r: ProbeResult) -> str:
    s = r.spec
    what = "icmp" if s.protocol == "icmp" else f"{s.protocol}/{s.port}"
    line = f"{s.source} ({r.src_ip}) -> {s.destination} ({r.dst_ip}) {what}: {r.result.upper()}"
    if r.seen_source:
        line += f", destination saw {r.seen_source}"
    return line + f" [{r.elapsed_ms} ms]"


def path_line(r: ProbeResult, dropped: bool) -> str:
    """`path: a -> b -> c` with how it is known: observed hops are places the packet was seen;
    modelled ones are the route tables' way, for scenarios that log no probe packets."""
    label = "path" if r.hops_observed else "path (modelled, not observed)"
    return f"  {label}: {' -> '.join(r.hops)}" + ("  <- dropped here" if dropped else "")


def because(r: ProbeResult) -> list[str]:
    if r.result == "reachable":
        return []
    if r.reason is None:
        return [
            "  no rule claimed the packet and no reply came back before the timeout",
            path_line(r, False).replace("path:", "last seen on path:", 1),
        ]
    x = r.reason
    leg = (
        "the request never reached the destination"
        if x.leg == "request"
        else f"the request reached {r.spec.destination}, its reply was dropped"
    )
    rule = f" rule {x.rule}" if x.rule else ""
    if x.rule and x.rule.startswith("sg-"):  # the interface's groups, not one rule
        rule = f" ({x.rule})"
    direction = f" {x.direction}" if x.direction else ""
    model = " (code from the model)" if x.origin == "model" else ""
    return [
        f"  {x.code}: {leg}",
        f"  dropped by {x.component}{direction}{rule}: {x.detail}{model}",
        path_line(r, True),
    ]


def outcome_lines(o: Outcome) -> list[str]:
    mark = "PASS" if o.ok else "FAIL"
    head = f"{mark}  {o.title}"
    if o.ok:
        extra = f" ({o.result.reason.code})" if o.result.reason else ""
        return [head + extra]
    return [head, f"  {o.why}", f"  {verdict(o.result)}", *because(o.result)]
