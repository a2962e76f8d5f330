"""Elastic IPs as objects in describe-addresses JSON, both ways (ref 11.10, 9.13).

Export: a declared elastic IP (`elastic_ips:`) keeps its allocation id and its Name tag,
associated or not. Import: an address that carries a Name tag, or is associated with
nothing, becomes an `elastic_ips:` object; an associated one without a tag stays the
instance's `elastic_ip: ADDRESS`, as before, so older exports import unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Address
from typing import Any

from netemu.interop.export_enis import tags_json
from netemu.interop.names import Namer, tag
from netemu.model.types import ElasticIp, Model

Json = dict[str, Any]


def declared_for(model: Model, public_ip: object) -> ElasticIp | None:
    """The declared elastic IP an ENI's public address is, if any."""
    return next((e for e in model.elastic_ips.values() if e.address == public_ip), None)


def tag_address(model: Model, out: Json) -> Json:
    """An associated address of describe-addresses, with a declared EIP's id and tag."""
    eip = declared_for(model, IPv4Address(out["PublicIp"])) if out.get("PublicIp") else None
    if eip is not None:
        out.update(AllocationId=eip.allocation_id, Tags=tags_json(eip.name))
    return out


def unassociated(model: Model) -> list[Json]:
    """Declared elastic IPs associated with nothing: allocated, no association fields."""
    return [
        {
            "AllocationId": e.allocation_id,
            "Domain": "vpc",
            "PublicIp": str(e.address),
            "PublicIpv4Pool": "amazon",
            "NetworkBorderGroup": model.region,
            "Tags": tags_json(e.name),
        }
        for e in model.elastic_ips.values()
        if e.instance is None
    ]


def read(
    items: Sequence[Mapping[str, Any]],
    owners: Mapping[str, str],
    instances: Mapping[str, Any],
    usable: Callable[[str, Any], str | None],
    secondary: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The `elastic_ips:` section. `owners` maps ENI and instance ids to instance names; an
    associated object is named on its instance (`elastic_ip: NAME`), replacing the address
    the instance had there. `usable` keeps a public address or says why not (None).
    `secondary` maps secondary ENI ids to their `network_interfaces` names: an address on
    one becomes an object with `network_interface: NAME`, tagged or not (9.20)."""
    names = Namer()
    out: dict[str, Any] = {}
    for a in items:
        if not a.get("PublicIp"):
            continue
        owner = owners.get(str(a.get("NetworkInterfaceId") or "")) or owners.get(
            str(a.get("InstanceId") or "")
        )
        nic = (secondary or {}).get(str(a.get("NetworkInterfaceId") or ""))
        associated = bool(a.get("AssociationId") or a.get("NetworkInterfaceId"))
        if nic is None and associated and (tag(a) is None or owner not in instances):
            continue  # the instance's or NAT gateway's own `elastic_ip: ADDRESS`
        aid = str(a.get("AllocationId") or a["PublicIp"])
        name = names.name(tag(a), aid, "eipalloc-")
        spec: dict[str, Any] = {}
        if a.get("AllocationId"):
            spec["id"] = aid
        address = usable(aid, a["PublicIp"])
        if address:
            spec["address"] = address
        out[name] = spec
        if nic is not None:
            spec["network_interface"] = nic
        elif owner is not None and owner in instances:
            instances[owner]["elastic_ip"] = name
    return out
