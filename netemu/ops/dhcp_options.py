"""What `netemu apply` does with DHCP options sets, in AWS terms (CreateDhcpOptions,
AssociateDhcpOptions, DeleteDhcpOptions; ref 10.20): a set cannot be modified, so a set
whose options changed is created anew; a VPC associated with another set hands it out at
once, and its running instances take it at their next lease, which `apply` renews
(render.dhcp_options, docs/aws-decisions.md)."""

from __future__ import annotations

from netemu.model.types import DhcpOptions, Model
from netemu.ops.words import Change, _c


def _options(d: DhcpOptions) -> str:
    parts = []
    if d.domain_name:
        parts.append(f"domain-name={d.domain_name}")
    if d.domain_name_servers:
        parts.append("domain-name-servers=" + ",".join(d.domain_name_servers))
    if d.ntp_servers:
        parts.append("ntp-servers=" + ",".join(map(str, d.ntp_servers)))
    if d.netbios_name_servers:
        parts.append("netbios-name-servers=" + ",".join(map(str, d.netbios_name_servers)))
    if d.netbios_node_type is not None:
        parts.append(f"netbios-node-type={d.netbios_node_type}")
    return " ".join(parts)


def changes(old: Model, new: Model) -> list[Change]:
    out: list[Change] = []
    remade: set[str] = set()
    for name, d in new.dhcp_options.items():
        was = old.dhcp_options.get(name)
        if was != d:
            if was is not None:
                remade.add(name)  # immutable on AWS (10.20): a new set under the old name
            out.append(
                _c("create", f"dhcp_options:{name}", f"create dhcp options {name}: {_options(d)}")
            )
    for v, vpc in new.vpcs.items():
        was_vpc = old.vpcs.get(v)
        if was_vpc is None:
            continue  # created with its set
        if was_vpc.dhcp_options != vpc.dhcp_options or vpc.dhcp_options in remade:
            to = vpc.dhcp_options or "the Region's default set"
            out.append(_c("associate", f"vpc:{v}", f"associate dhcp options {to} with vpc {v}"))
    for name in old.dhcp_options:
        if name not in new.dhcp_options or name in remade:
            out.append(_c("delete", f"dhcp_options:{name}", f"delete dhcp options {name}"))
    return out
