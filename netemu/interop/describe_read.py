"""Files and folders of `aws ec2 describe-*` JSON -> one data dict keyed by top-level key.

A file is recognised by its top-level key, whatever its name (ref 11); a folder is read
recursively, so a Batfish snapshot's `aws_configs/<region>/` works as is. JSON that is not
valid, or has the wrong shape, is refused with FILE:LINE:COL; nothing is half-read.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from netemu.errors import Problem, ScenarioInvalid
from netemu.interop import prefix_lists, transit_gateway
from netemu.model.types import Pos

MAX_FILE_BYTES = 256 * 1024 * 1024  # a large account's describe-instances is tens of MB

# Top-level key -> the fields every item must carry (ref 11). Other keys are ignored, so
# a Batfish snapshot's RDS or ELB files pass through quietly.
REQUIRED: dict[str, tuple[str, ...]] = {
    "Vpcs": ("VpcId", "CidrBlock"),
    "Subnets": ("SubnetId", "VpcId"),  # CidrBlock unless Ipv6Native (to_scenario)
    "RouteTables": ("RouteTableId", "VpcId"),
    "InternetGateways": ("InternetGatewayId",),
    "NatGateways": ("NatGatewayId",),
    "SecurityGroups": ("GroupId",),
    "SecurityGroupRules": ("GroupId",),
    "NetworkAcls": ("NetworkAclId", "VpcId"),
    "Reservations": ("Instances",),
    "NetworkInterfaces": ("NetworkInterfaceId",),
    "Addresses": ("PublicIp",),
    "DhcpOptions": ("DhcpOptionsId",),
    "VpcPeeringConnections": ("VpcPeeringConnectionId",),
    "VpcEndpoints": ("VpcEndpointId",),
    "PrefixLists": ("PrefixListId",),
    "ManagedPrefixLists": ("PrefixListId",),
    "TransitGateways": ("TransitGatewayId",),
    "TransitGatewayAttachments": ("TransitGatewayAttachmentId",),
    "TransitGatewayVpcAttachments": ("TransitGatewayAttachmentId",),
    "TransitGatewayPeeringAttachments": ("TransitGatewayAttachmentId",),
    "TransitGatewayRouteTables": ("TransitGatewayRouteTableId",),
    "FlowLogs": ("FlowLogId", "ResourceId"),
    "EgressOnlyInternetGateways": ("EgressOnlyInternetGatewayId",),
}
VPC_ATTRIBUTES = "VpcAttributes"  # describe-vpc-attribute output, one object per call
_REGION_DIR = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")

Data = dict[str, list[dict[str, Any]]]


def _problem(path: str, text: str | None, message: str, key: str | None = None) -> Problem:
    """A Problem at the first occurrence of `"key"` in the file (its line:col), if known."""
    pos = None
    if text is not None and key is not None:
        at = text.find(f'"{key}"')
        if at >= 0:
            line = text.count("\n", 0, at) + 1
            pos = Pos(path, line, at - (text.rfind("\n", 0, at) + 1) + 1)
    return Problem(pos, message, file=path)


def read_json(path: str) -> tuple[Any, str]:
    """(parsed JSON, its text); ScenarioInvalid with line:col when it is not JSON."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ScenarioInvalid(
            [Problem(None, f"cannot read: {e.strerror or e}", file=path)]
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioInvalid([Problem(None, "larger than 256 MiB; refusing it", file=path)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        msg = f"not valid UTF-8 (byte 0x{raw[e.start]:02x})"
        raise ScenarioInvalid([Problem(Pos(path, line, col), msg, file=path)]) from None
    try:
        return json.loads(text), text
    except json.JSONDecodeError as e:
        pos = Pos(path, e.lineno, e.colno)
        raise ScenarioInvalid([Problem(pos, f"not valid JSON: {e.msg}", file=path)]) from None
    except RecursionError:
        raise ScenarioInvalid([Problem(None, "JSON nested too deeply", file=path)]) from None


def add_document(data: Data, doc: Any, path: str, text: str | None = None) -> bool:
    """Merge one describe-* document into `data`; False when it holds nothing netemu reads.
    Raises ScenarioInvalid for a known key with the wrong shape."""
    if not isinstance(doc, dict):
        found = type(doc).__name__
        msg = f'expected a JSON object like {{"Vpcs": [...]}}, found a {found}'
        raise ScenarioInvalid([_problem(path, text, msg)])
    if "VpcId" in doc and "EnableDnsHostnames" in doc:  # describe-vpc-attribute
        data.setdefault(VPC_ATTRIBUTES, []).append(doc)
        return True
    if "Entries" in doc:  # get-managed-prefix-list-entries (interop.prefix_lists)
        prefix_lists.entries_document(data, doc, path)
        return True
    if transit_gateway.is_per_table(doc):  # one transit gateway route table's, by file name
        transit_gateway.add_per_table(data, doc, path)
        return True
    used = False
    problems: list[Problem] = []
    for key, items in doc.items():
        if key not in REQUIRED:
            continue
        used = True
        if not isinstance(items, list):
            msg = f"{key} must be a list, not a {type(items).__name__}"
            problems.append(_problem(path, text, msg, key))
            continue
        for index, item in enumerate(items):
            missing = _missing(item, REQUIRED[key])
            if missing:
                problems.append(_problem(path, text, f"{key}[{index}] {missing}", key))
        if key == "Reservations" and not problems:
            problems += _instances(path, text, items)
        data.setdefault(key, []).extend(items)
    if problems:
        raise ScenarioInvalid(problems)
    return used


def _missing(item: Any, fields: tuple[str, ...]) -> str | None:
    if not isinstance(item, dict):
        return f"must be an object, not a {type(item).__name__}"
    absent = [f for f in fields if f not in item]
    if absent:
        return f"has no {', '.join(absent)}"
    wrong = [f for f in fields if not isinstance(item[f], str | list)]
    return f"has a {wrong[0]} that is not text" if wrong else None


def _instances(path: str, text: str | None, reservations: list[Any]) -> list[Problem]:
    problems = []
    for r, reservation in enumerate(reservations):
        instances = reservation["Instances"]
        if not isinstance(instances, list):
            problems.append(_problem(path, text, f"Reservations[{r}].Instances must be a list"))
            continue
        for i, inst in enumerate(instances):
            missing = _missing(inst, ("InstanceId",))
            if missing:
                where = f"Reservations[{r}].Instances[{i}]"
                problems.append(_problem(path, text, f"{where} {missing}", "Instances"))
    return problems


def json_files(folder: str) -> list[str]:
    """Every *.json below `folder`, sorted, so a snapshot reads the same on every machine."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".json")]
    return found


def region_of(path: str) -> str | None:
    """The Region a Batfish-style `aws_configs/<region>/...` path names, if any."""
    for part in reversed(os.path.normpath(path).split(os.sep)[:-1]):
        if _REGION_DIR.fullmatch(part):
            return part
    return None


def is_describe(doc: Mapping[str, Any]) -> bool:
    return (
        any(k in REQUIRED for k in doc)
        or ("VpcId" in doc and "EnableDnsHostnames" in doc)
        or "Entries" in doc
        or transit_gateway.is_per_table(doc)
    )
