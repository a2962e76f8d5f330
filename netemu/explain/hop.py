"""The components a modelled packet crosses, as Reachability Analyzer lists them (ref 13.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netemu.explain.packet import Packet
from netemu.explain.reason import Drop
from netemu.model.types import PROTO_ICMP


@dataclass
class Hop:
    """One component the packet crossed, with what admitted it (ref 13.1)."""

    component: str
    id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self, sequence: int) -> dict[str, Any]:
        return {
            "sequence_number": sequence,
            "component": self.component,
            "id": self.id,
            **self.detail,
        }


@dataclass
class LegResult:
    hops: list[Hop]
    drop: Drop | None
    arrived: Packet | None  # the packet as the far end received it
    at: str | None  # who received it: "instance:x", "internet_host:y", ...


def header(p: Packet) -> dict[str, Any]:
    """Reachability Analyzer's packet header (InboundHeader/OutboundHeader), snake_case."""
    out: dict[str, Any] = {
        "source_addresses": [str(p.src)],
        "destination_addresses": [str(p.dst)],
        "protocol": str(p.protocol),
    }
    if p.protocol != PROTO_ICMP:
        out["source_port_ranges"] = [{"from": p.sport, "to": p.sport}]
        out["destination_port_ranges"] = [{"from": p.dport, "to": p.dport}]
    return out
