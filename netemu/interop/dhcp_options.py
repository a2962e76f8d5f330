"""DHCP options sets <-> describe-dhcp-options JSON and each VPC's DhcpOptionsId (ref 10.20,
10.23). The Region's default set (AmazonProvidedDNS and the Region's domain) is no object of
the scenario: a VPC on it names no set; any other set a VPC uses is imported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netemu.interop.export_enis import ACCOUNT, tags_json
from netemu.interop.names import Namer, tag
from netemu.model.types import DhcpOptions, Model

Json = dict[str, Any]
_KEYS = {
    "domain-name": "domain_name",
    "domain-name-servers": "domain_name_servers",
    "ntp-servers": "ntp_servers",
    "netbios-name-servers": "netbios_name_servers",
    "netbios-node-type": "netbios_node_type",
}


def _values(d: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        str(c.get("Key")): [str(v.get("Value")) for v in c.get("Values") or []]
        for c in d.get("DhcpConfigurations") or []
    }


def is_default(d: Mapping[str, Any]) -> bool:
    """The Region's default set: AmazonProvidedDNS and at most a domain name (10.1). A set
    of the same options made by hand is taken as the default too: instances see no
    difference."""
    values = _values(d)
    return values.get("domain-name-servers") == ["AmazonProvidedDNS"] and set(values) <= {
        "domain-name",
        "domain-name-servers",
    }


def read(
    data: Mapping[str, Sequence[Mapping[str, Any]]], vpcs: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(`dhcp_options` of the scenario, vpc id -> set name) for the sets imported VPCs use."""
    used = {str(v.get("DhcpOptionsId")): str(v["VpcId"]) for v in data.get("Vpcs") or []}
    names = Namer()
    out: dict[str, Any] = {}
    of_vpc: dict[str, str] = {}
    for d in data.get("DhcpOptions") or []:
        did = str(d["DhcpOptionsId"])
        if did not in used or is_default(d):
            continue
        name = names.name(tag(d), did)
        spec: dict[str, Any] = {"id": did}
        for key, values in _values(d).items():
            field = _KEYS.get(key)
            if field == "domain_name" and values:
                spec[field] = values[0]
            elif field == "netbios_node_type" and values:
                spec[field] = int(values[0])
            elif field is not None:
                spec[field] = values
        out[name] = spec
        for v in data.get("Vpcs") or []:
            if str(v.get("DhcpOptionsId")) == did and str(v["VpcId"]) in vpcs:
                of_vpc[str(v["VpcId"])] = name
    return out, of_vpc


def export(model: Model) -> list[Json]:
    """Every set the scenario declares, after the Region's default set."""
    return [_set(d) for d in model.dhcp_options.values()]


def _set(d: DhcpOptions) -> Json:
    rows: list[tuple[str, list[str]]] = []
    if d.domain_name:
        rows.append(("domain-name", [d.domain_name]))
    if d.domain_name_servers:
        rows.append(("domain-name-servers", list(d.domain_name_servers)))
    if d.ntp_servers:
        rows.append(("ntp-servers", [str(x) for x in d.ntp_servers]))
    if d.netbios_name_servers:
        rows.append(("netbios-name-servers", [str(x) for x in d.netbios_name_servers]))
    if d.netbios_node_type is not None:
        rows.append(("netbios-node-type", [str(d.netbios_node_type)]))
    return {
        "DhcpConfigurations": [
            {"Key": k, "Values": [{"Value": v} for v in values]} for k, values in rows
        ],
        "DhcpOptionsId": d.id,
        "OwnerId": ACCOUNT,
        "Tags": tags_json(d.name),
    }


def vpc_set_id(model: Model, vpc: str, default_id: str) -> str:
    """The DhcpOptionsId describe-vpcs shows for a VPC (10.23)."""
    own = model.vpcs[vpc].dhcp_options
    return model.dhcp_options[own].id if own else default_id
