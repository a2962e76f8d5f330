"""Flow log records: their fields, AWS's text line, and where AWS would put them in S3.

A record is a dict keyed by AWS's field names (ref 12.2, 12.6); a field netemu has no value
for is None and printed as `-`, as AWS does. Each record also names its flow log.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

from netemu.model.types import FlowLog, Model
from netemu.model.validate_flow_logs import FLOW_LOG_FIELDS, V2_FIELDS

Record = dict[str, Any]
DIR = "flowlogs"  # under the scenario's state directory
RECORDS = f"{DIR}/records.jsonl"  # every record, one JSON object a line (netemu flowlogs)
CONFIG = f"{DIR}/collector.json"  # what the collector watches (render)
READY = f"{DIR}/ready"
WINDOWS = f"{DIR}/windows"  # how many windows are written, replaced after each
VERSION = 5  # the highest version of the fields netemu offers (ref 12.6)


def account_id(scenario: str) -> str:
    """A 12-digit account id of the scenario's own, stable across runs (netemu decision:
    there is no real account; docs/flow-logs.md)."""
    digest = int(hashlib.sha256(f"netemu/{scenario}".encode()).hexdigest(), 16)
    return f"{digest % 10**12:012d}"


def line(record: Record, fields: Sequence[str] = V2_FIELDS) -> str:
    """A record as AWS prints it: the fields in order, space-separated, `-` for none."""
    return " ".join("-" if record.get(f) is None else str(record.get(f)) for f in fields)


def fields_of(model: Model, name: str) -> tuple[str, ...]:
    found = next((f for f in model.flow_logs if f.name == name), None)
    return found.log_format if found else V2_FIELDS


def nodata(fl: FlowLog, account: str, eni: str, start: int, end: int) -> Record:
    """No traffic on the ENI in the window (ref 12.3): every traffic field is `-`."""
    r: Record = dict.fromkeys(FLOW_LOG_FIELDS)
    r.update({"version": 2, "account-id": account, "interface-id": eni, "start": start,
              "end": end, "log-status": "NODATA", "flow-log": fl.name})  # fmt: skip
    return r


def s3_key(account: str, region: str, fl: FlowLog, window_end: int) -> str:
    """The object key AWS writes a window's records to (delivery to S3, text, gzip):
    AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<account>_vpcflowlogs_<region>_
    <flow log id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz"""
    t = time.gmtime(window_end)
    stamp = time.strftime("%Y%m%dT%H%MZ", t)
    digest = hashlib.sha256(f"{fl.id}/{window_end}".encode()).hexdigest()[:8]
    day = time.strftime("%Y/%m/%d", t)
    name = f"{account}_vpcflowlogs_{region}_{fl.id}_{stamp}_{digest}.log.gz"
    return f"AWSLogs/{account}/vpcflowlogs/{region}/{day}/{name}"


def write_s3(root: str, key: str, fields: Sequence[str], records: Iterable[Record]) -> str:
    """A gzip text file with AWS's header line (the field names), then one line a record."""
    path = os.path.join(root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = " ".join(fields) + "\n" + "".join(line(r, fields) + "\n" for r in records)
    with gzip.open(path, "wt") as f:
        f.write(body)
    return path


def append_jsonl(path: str, records: Iterable[Record]) -> None:
    with open(path, "a") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
