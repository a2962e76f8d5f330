"""describe-flow-logs items -> the scenario's `flow_logs` entries, with notes (ref 11, 12.1).

A flow log's resource (a VPC, subnet or network interface id) becomes the name the import
gave that object; its filter, window and record format carry over. Where the records go
does not: netemu writes every flow log's files itself, in S3's layout (docs/flow-logs.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netemu.interop.names import Namer, tag
from netemu.interop.notes import Note
from netemu.model.validate_flow_logs import (
    DEFAULT_INTERVAL_S,
    FLOW_LOG_FIELDS,
    TRAFFIC_TYPES,
    V2_FIELDS,
)

# Destinations whose records netemu's files stand for: the same records, another store.
_FILE_LIKE = ("s3", "cloud-watch-logs")


def flow_logs(
    items: Sequence[Mapping[str, Any]],
    resources: Mapping[str, str],
    notes: list[Note],
) -> dict[str, Any]:
    """{name: spec}; `resources` maps each imported VPC, subnet and ENI id to the name of
    its VPC, subnet, instance or NAT gateway."""
    names = Namer()
    out: dict[str, Any] = {}
    for f in items:
        fid, rid = str(f["FlowLogId"]), str(f["ResourceId"])
        if f.get("FlowLogStatus", "ACTIVE") != "ACTIVE":
            notes.append(Note(fid, f"status {f.get('FlowLogStatus')}; left out", "skipped"))
            continue
        if rid not in resources:
            notes.append(Note(fid, _unknown(rid)))
            continue
        spec: dict[str, Any] = {"id": fid, "resource": resources[rid]}
        traffic = str(f.get("TrafficType") or "ALL")
        if traffic not in TRAFFIC_TYPES:
            notes.append(Note(fid, f"traffic type {traffic} is not one netemu knows; left out"))
            continue
        if traffic != "ALL":
            spec["traffic_type"] = traffic
        interval = f.get("MaxAggregationInterval")
        if isinstance(interval, int) and interval != DEFAULT_INTERVAL_S:
            spec["max_aggregation_interval"] = interval
        fields = _fields(fid, str(f.get("LogFormat") or ""), notes)
        if fields and tuple(fields) != V2_FIELDS:
            spec["log_format"] = " ".join("${" + x + "}" for x in fields)
        destination = str(f.get("LogDestinationType") or "cloud-watch-logs")
        if destination not in _FILE_LIKE:
            msg = f"its {destination} destination is not emulated: netemu writes the records"
            notes.append(Note(fid, msg + " to files in S3's layout instead", "changed"))
        out[names.name(tag(f), fid)] = spec
    return out


def _unknown(rid: str) -> str:
    kinds = {
        "tgw-attach-": "transit gateway attachments",
        "tgw-": "transit gateways",
        "eni-": "network interfaces outside the import",
    }
    kind = next((k for p, k in kinds.items() if rid.startswith(p)), None)
    if kind is None:
        return f"its resource {rid} is not in the import; left out"
    return f"its resource {rid}: flow logs of {kind} are not emulated; left out"


def _fields(fid: str, log_format: str, notes: list[Note]) -> list[str]:
    """AWS's `${field}` names netemu records; the others dropped with a note (ref 12.2)."""
    fields = [w.removeprefix("${").removesuffix("}") for w in log_format.split()]
    dropped = [x for x in fields if x not in FLOW_LOG_FIELDS]
    if dropped:
        msg = f"log format fields {', '.join(dropped)} are not recorded by netemu; dropped"
        notes.append(Note(fid, msg, "changed"))
    return [x for x in fields if x in FLOW_LOG_FIELDS]
