"""What `netemu apply` does with declared elastic IPs, in AWS terms (AllocateAddress,
ReleaseAddress; ref 9.13). Associating and disassociating one is an instance's public IP
changing, which ops.diff already words (`associate elastic ip … with instance …`)."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.ops.words import Change, _c


def changes(old: Model, new: Model) -> list[Change]:
    out: list[Change] = []
    for name, eip in new.elastic_ips.items():
        was = old.elastic_ips.get(name)
        if was is None or was.address != eip.address:
            out.append(_c("allocate", f"elastic_ip:{name}", f"allocate address {eip.address}"))
    for name, eip in old.elastic_ips.items():
        now = new.elastic_ips.get(name)
        if now is None or now.address != eip.address:
            out.append(_c("release", f"elastic_ip:{name}", f"release address {eip.address}"))
    return out
