"""One subnet namespace's nftables ruleset: its security groups and its network ACL."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.render import names as n
from netemu.render import network_acl, nft, security_group
from netemu.render.plan import Ruleset
from netemu.render.topology import target_enis, target_link_if


def render(model: Model) -> list[Ruleset]:
    out = []
    for sub in model.subnets.values():
        edge = [n.UPLINK_IF] + [target_link_if(e) for e in target_enis(model) if e.subnet == sub.name]
        cmds = [nft.add_table(), *security_group.render(model, sub.name), *network_acl.render(model, sub.name, edge)]
        out.append(Ruleset(n.subnet_ns(model.name, sub.name), tuple(cmds)))
    return out
