"""The hops of a probe, from where its packets were seen (pure; probe.engine feeds it).

Every namespace with AWS rules logs each probe packet entering it (render.nft.probe_hops),
with the packet's headers. Within one leg the sightings are ordered by falling TTL; those
of namespaces that stand for no AWS hop share a TTL (render.hops) and take the order of the
model's path (`_leg`). The source is where the probe was sent, the destination
counts once its capture saw the request. A drop is logged by the rule that took the packet,
in a namespace whose hop log fired just before: the drop point is the last hop seen.

When nothing was seen at all (a scenario brought up by a netemu without hop logs), the
hops come from the model (probe.path) and say so: `observed` is False.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from netemu.probe import path

Leg = Literal["request", "reply"]


@dataclass(frozen=True)
class Sighting:
    leg: Leg
    component: str  # the AWS component of the namespace, e.g. "subnet:public"
    ttl: int
    order: int  # when it was read, across all listeners


@dataclass(frozen=True)
class Hops:
    hops: list[str]
    observed: bool


def _leg(sightings: list[Sighting], leg: Leg, expected: list[str] | None = None) -> list[str]:
    """One leg's sightings by falling TTL. Namespaces that stand for no AWS hop (subnets,
    VPC routers, internet gateways: ref 10.9) hand the packet on with its TTL, so several
    sightings share one; among those, the order is the one the model's path visits them in
    (`expected`), and otherwise the order the logs were read in, which several listeners
    do not keep. Which components saw the packet, and at which TTL, stays observed."""
    mine = sorted((s for s in sightings if s.leg == leg), key=lambda s: (-s.ttl, s.order))
    # A packet passes a namespace once at a given TTL; seeing it there again is the same
    # leg sent again (a SYN-ACK retransmitted while its drop is awaited), not another hop.
    first: dict[tuple[str, int], Sighting] = {}
    for s in mine:
        first.setdefault((s.component, s.ttl), s)
    mine = list(first.values())  # dicts keep insertion order: still by falling TTL
    if not expected:
        return [s.component for s in mine]
    out: list[str] = []
    cursor = 0
    for ttl in sorted({s.ttl for s in mine}, reverse=True):
        rest = [s for s in mine if s.ttl == ttl]
        while rest and cursor < len(expected):
            hit = next((s for s in rest if s.component == expected[cursor]), None)
            cursor += 1
            if hit is not None:
                out.append(hit.component)
                rest.remove(hit)
        out += [s.component for s in rest]
    return out


def _append(hops: list[str], component: str) -> None:
    if not hops or hops[-1] != component:
        hops.append(component)


def assemble(
    source: str,
    destination: str | None,
    sightings: list[Sighting],
    arrived: bool,
    replied: bool,
    drop_leg: Leg | None,
    expected: tuple[list[str], list[str]] | None = None,
) -> Hops | None:
    """Observed hops: the request's way (to the drop, or to the destination), then the
    reply's way when the reply died. None when nothing was seen (use `modelled`).
    `expected`: the model's forward and return paths, which order sightings of equal TTL."""
    if not any(s.leg == "request" for s in sightings):
        return None
    forward, back = expected or (None, None)
    hops = [source]
    for c in _leg(sightings, "request", forward):
        hops.append(c)
    if arrived and destination:
        _append(hops, destination)
    if drop_leg == "reply":
        for c in _leg(sightings, "reply", back):
            hops.append(c)
    elif replied and not arrived and destination:
        _append(hops, destination)  # the reply proves the request arrived
    return Hops(hops, True)


def modelled(
    forward: list[str],
    back: list[str],
    died: str | None,
    drop_leg: Leg | None,
    drop_ttl: int | None,
) -> Hops:
    """The model's path, cut where the drop happened: at the occurrence of the dying
    component that the dropped packet's TTL points at (the first namespace sees TTL 64),
    so a drop on the way to a NAT gateway is never shown after it."""
    if died is None or drop_leg is None:
        return Hops(forward, False)
    if drop_leg == "request":
        return Hops(until(forward, died, _index(drop_ttl)), False)
    return Hops(forward + until(back[1:], died, _index(drop_ttl) - 1), False)


def _index(ttl: int | None) -> int:
    return 1 + (path.INITIAL_TTL - ttl) if ttl is not None else 0


def until(hops: list[str], component: str, near: int = 0) -> list[str]:
    """`hops` up to and including the occurrence of `component` closest to index `near`
    (the first one when equally close); all of `hops` when it does not occur."""
    places = [i for i, c in enumerate(hops) if c == component]
    if not places:
        return hops
    best = min(places, key=lambda i: (abs(i - near), i))
    return hops[: best + 1]
