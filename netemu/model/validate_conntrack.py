"""An instance's `connection_tracking` key: its ENI's idle timeouts (ref 7.17, contract 6.2)."""

from __future__ import annotations

from dataclasses import fields

from netemu.model.types import ConnectionTracking
from netemu.model.validate_context import Ctx, aws
from netemu.model.validate_fields import as_map, check_keys, integer
from netemu.scenario import Node

# The bounds AWS's ConnectionTrackingSpecificationRequest accepts (7.17).
BOUNDS = {
    "tcp_established_timeout": (60, 432000),
    "udp_stream_timeout": (60, 180),
    "udp_timeout": (30, 60),
}


def connection_tracking(ctx: Ctx, node: Node | None, what: str) -> ConnectionTracking:
    """The timeouts given, AWS's defaults for the rest (and for anything invalid)."""
    default = ConnectionTracking()
    if node is None:
        return default
    where = f"{what} connection_tracking"
    m = as_map(ctx, node, where)
    if m is None:
        return default
    check_keys(ctx, m, node, where, tuple(BOUNDS), ())
    values = {f.name: getattr(default, f.name) for f in fields(default)}
    for key, (lo, hi) in BOUNDS.items():
        if key in m:
            rule = aws(f"{key} is {lo} to {hi} seconds", "7.17")
            value = integer(ctx, m[key], f"{where} {key}", lo, hi, rule)
            if value is not None:
                values[key] = value
    return ConnectionTracking(**values)
