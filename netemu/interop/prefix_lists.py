"""Customer-managed prefix lists <-> describe-* JSON (ref 19.1, 19.5).

describe-managed-prefix-lists (top-level key `PrefixLists`, items with MaxEntries) does not
show a list's entries; `aws ec2 get-managed-prefix-list-entries --prefix-list-id pl-x` does,
and its output (`{"Entries": [...]}`) does not name the list. netemu reads such a file as
the entries of the list its file name names (`get-managed-prefix-list-entries.pl-x.json`,
as `netemu export` writes it), or of the `PrefixListId` the document carries beside
`Entries` (a wrapper: `{"PrefixListId": "pl-x", "Entries": [...]}`). A list whose entries
were not given is imported empty, with a note. AWS-managed lists (owner AWS, names
com.amazonaws.…) are not customer-managed and are left to the gateway endpoints' reader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from netemu.errors import Problem, ScenarioInvalid
from netemu.interop.export_enis import ACCOUNT, tags_json
from netemu.interop.names import Namer, tag
from netemu.interop.notes import Note
from netemu.model.types import ManagedPrefixList, Model

Json = dict[str, Any]
ENTRIES = "PrefixListEntries"  # data key: [{"PrefixListId": …, "Entries": [...]}]
ENTRIES_CALL = "get-managed-prefix-list-entries"
_ID_IN_NAME = re.compile(r"(pl-[0-9A-Za-z]+)")


# -- import ---------------------------------------------------------------------------------


def entries_document(
    data: dict[str, list[dict[str, Any]]], doc: Mapping[str, Any], path: str
) -> None:
    """A get-managed-prefix-list-entries document: which list it is for, from its
    `PrefixListId` or else the file name; ScenarioInvalid when neither says."""
    entries = doc.get("Entries")
    found = doc.get("PrefixListId")
    if not isinstance(found, str):
        match = _ID_IN_NAME.search(path.rsplit("/", 1)[-1])
        found = match[1] if match else None
    if found is None or not isinstance(entries, list):
        msg = (
            "Entries of which prefix list? name the file "
            f'{ENTRIES_CALL}.pl-….json or add "PrefixListId" beside "Entries"'
        )
        raise ScenarioInvalid([Problem(None, msg, file=path)])
    data.setdefault(ENTRIES, []).append({"PrefixListId": found, "Entries": entries})


def customer_lists(data: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Mapping[str, Any]]:
    """describe-managed-prefix-lists items that are customer-managed (19.1)."""
    items = [*(data.get("ManagedPrefixLists") or []), *(data.get("PrefixLists") or [])]
    return [
        p
        for p in items
        if "MaxEntries" in p
        and p.get("OwnerId") != "AWS"
        and not str(p.get("PrefixListName", "")).startswith("com.amazonaws")
    ]


def read(
    data: Mapping[str, Sequence[Mapping[str, Any]]], notes: list[Note]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(`prefix_lists` of the scenario, pl id -> name)."""
    names = Namer()
    entries = {str(e["PrefixListId"]): e.get("Entries") or [] for e in data.get(ENTRIES) or []}
    out: dict[str, Any] = {}
    ids: dict[str, str] = {}
    for p in customer_lists(data):
        pid = str(p["PrefixListId"])
        if pid in ids:
            continue
        label = str(p.get("PrefixListName") or pid)
        name = names.name(tag(p) or label, pid)
        ids[pid] = name
        spec: dict[str, Any] = {"id": pid}
        if label != name:
            spec["prefix_list_name"] = label
        spec["address_family"] = str(p.get("AddressFamily", "IPv4"))
        spec["max_entries"] = int(p["MaxEntries"])
        if pid not in entries:
            msg = f"its entries were not given ({ENTRIES_CALL} --prefix-list-id {pid}); empty"
            notes.append(Note(pid, msg))
        rows = []
        for e in entries.get(pid, []):
            row = {"cidr": str(e["Cidr"])}
            if e.get("Description"):
                row["description"] = str(e["Description"])
            rows.append(row)
        if rows:
            spec["entries"] = rows
        out[name] = spec
    return out, ids


def read_client(ec2: Any, data: dict[str, list[dict[str, Any]]]) -> None:
    """The live reader's part: the lists, then each customer-managed list's entries."""
    lists: list[dict[str, Any]] = []
    for page in ec2.get_paginator("describe_managed_prefix_lists").paginate():
        lists += page.get("PrefixLists", [])
    data["ManagedPrefixLists"] = lists
    for p in customer_lists(data):
        pid = str(p["PrefixListId"])
        rows = ec2.get_managed_prefix_list_entries(PrefixListId=pid).get("Entries", [])
        data.setdefault(ENTRIES, []).append({"PrefixListId": pid, "Entries": rows})


# -- export ---------------------------------------------------------------------------------


def _arn(model: Model, pl: ManagedPrefixList) -> str:
    return f"arn:aws:ec2:{model.region}:{ACCOUNT}:prefix-list/{pl.id}"


def export(model: Model, out: dict[str, Json]) -> None:
    """describe-managed-prefix-lists, and one get-managed-prefix-list-entries per list."""
    if not model.prefix_lists:
        return
    lists = []
    for pl in model.prefix_lists.values():
        lists.append(
            {
                "PrefixListId": pl.id,
                "AddressFamily": pl.address_family,
                "State": "create-complete",
                "PrefixListArn": _arn(model, pl),
                "PrefixListName": pl.prefix_list_name,
                "MaxEntries": pl.max_entries,
                "Version": 1,
                "Tags": tags_json(pl.name),
                "OwnerId": ACCOUNT,
            }
        )
        out[f"{ENTRIES_CALL}.{pl.id}"] = {
            "Entries": [
                {"Cidr": str(e.cidr), **({"Description": e.description} if e.description else {})}
                for e in pl.entries
            ]
        }
    out["describe-managed-prefix-lists"] = {"PrefixLists": lists}
