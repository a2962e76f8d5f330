"""Mixed into the Terraform reader: customer-managed prefix lists and DHCP options sets
(aws_ec2_managed_prefix_list(_entry), aws_vpc_dhcp_options(_association)) as the items
describe-* shows (ref 19.1, 10.23)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netemu.interop.prefix_lists import ENTRIES
from netemu.interop.terraform_rules import tf_tags

Json = dict[str, Any]
_DHCP_KEYS = (
    ("domain_name", "domain-name"),
    ("domain_name_servers", "domain-name-servers"),
    ("ntp_servers", "ntp-servers"),
    ("netbios_name_servers", "netbios-name-servers"),
    ("netbios_node_type", "netbios-node-type"),
)


class PrefixDhcpResources:
    data: dict[str, list[Json]]

    def add(self, key: str, item: Json) -> Json:
        raise NotImplementedError

    def _entries_of(self, pid: str) -> list[Json]:
        for e in self.data.get(ENTRIES, []):
            if e["PrefixListId"] == pid:
                rows: list[Json] = e["Entries"]
                return rows
        return self.add(ENTRIES, {"PrefixListId": pid, "Entries": []})["Entries"]  # type: ignore[no-any-return]

    def _ec2_managed_prefix_list(self, r: Mapping[str, Any], v: Json) -> None:
        pid = str(v["id"])
        item = {
            "PrefixListId": pid,
            "PrefixListName": v.get("name") or pid,
            "AddressFamily": v.get("address_family") or "IPv4",
            "MaxEntries": int(v.get("max_entries") or 1),
            "Tags": tf_tags(v),
        }
        self.add("ManagedPrefixLists", item)
        rows = self._entries_of(pid)
        for e in v.get("entry") or []:
            rows.append(
                {
                    "Cidr": e["cidr"],
                    **({"Description": e["description"]} if e.get("description") else {}),
                }
            )

    def _ec2_managed_prefix_list_entry(self, r: Mapping[str, Any], v: Json) -> None:
        row = {"Cidr": v["cidr"]}
        if v.get("description"):
            row["Description"] = v["description"]
        self._entries_of(str(v["prefix_list_id"])).append(row)

    def _vpc_dhcp_options(self, r: Mapping[str, Any], v: Json) -> None:
        configs = []
        for key, aws in _DHCP_KEYS:
            value = v.get(key)
            values = (
                value if isinstance(value, list) else [value] if value not in (None, "") else []
            )
            if values:
                configs.append({"Key": aws, "Values": [{"Value": str(x)} for x in values]})
        item = {"DhcpOptionsId": v["id"], "DhcpConfigurations": configs, "Tags": tf_tags(v)}
        self.add("DhcpOptions", item)

    def _vpc_dhcp_options_association(self, r: Mapping[str, Any], v: Json) -> None:
        for vpc in self.data.get("Vpcs", []):
            if vpc["VpcId"] == v["vpc_id"]:
                vpc["DhcpOptionsId"] = v["dhcp_options_id"]
