"""SOURCE arguments of `netemu import` -> describe-* data: files, folders, Terraform JSON."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from netemu.errors import Problem, ScenarioInvalid
from netemu.interop.describe_read import (
    VPC_ATTRIBUTES,
    Data,
    add_document,
    is_describe,
    json_files,
    read_json,
    region_of,
)
from netemu.interop.notes import Note
from netemu.interop.terraform_read import is_terraform, terraform_to_data
from netemu.interop.write_yaml import printable


def load(paths: Sequence[str]) -> tuple[Data, list[Note], str | None]:
    """(data, notes, Region named by a Batfish-style folder) from files and folders.

    A file given by name must hold describe-* or Terraform JSON; in a folder, JSON files
    of other kinds (a snapshot's RDS or IAM dumps) are skipped quietly."""
    data: Data = {}
    notes: list[Note] = []
    regions: set[str] = set()
    problems: list[Problem] = []
    for path in paths:
        if os.path.isdir(path):
            files = json_files(path)
            if not files:
                problems.append(Problem(None, "the folder holds no .json file", file=path))
            for f in files:
                used = _one(f, data, notes, problems, explicit=False)
                region = region_of(f)
                if used and region:
                    regions.add(region)
        elif os.path.exists(path):
            _one(path, data, notes, problems, explicit=True)
        else:
            problems.append(Problem(None, "no such file or folder", file=path))
    if len(regions) > 1:
        shown = ", ".join(sorted(regions))
        msg = f"the snapshot holds several Regions ({shown}); import one Region folder at a time"
        problems.append(Problem(None, msg, file=paths[0]))
    if problems:
        raise ScenarioInvalid(problems)
    return data, notes, next(iter(regions), None)


def _one(path: str, data: Data, notes: list[Note], problems: list[Problem], explicit: bool) -> bool:
    try:
        doc, text = read_json(path)
        if is_terraform(doc):
            tf_data, tf_notes = terraform_to_data(doc, path)
            merge(data, tf_data)
            notes += tf_notes
            return True
        if not explicit and not (isinstance(doc, dict) and is_describe(doc)):
            return False
        used = add_document(data, doc, path, text)
    except ScenarioInvalid as e:
        problems += e.problems
        return False
    if not used and explicit:
        keys = printable(", ".join(list(doc)[:5])) if isinstance(doc, dict) else ""
        msg = f"holds no describe-* output netemu reads (top-level keys: {keys or 'none'})"
        problems.append(Problem(None, msg, file=path))
    return used


def merge(data: Data, more: Mapping[str, list[dict[str, Any]]]) -> None:
    for key, items in more.items():
        data.setdefault(key, []).extend(items)


def describe_data(calls: Mapping[str, Mapping[str, Any]]) -> Data:
    """model_to_describe's {call: printed object} -> data keyed by top-level key."""
    data: Data = {}
    for call, doc in calls.items():
        if call.startswith("describe-vpc-attribute"):
            data.setdefault(VPC_ATTRIBUTES, []).append(dict(doc))
        else:
            add_document(data, dict(doc), call)
    return data
