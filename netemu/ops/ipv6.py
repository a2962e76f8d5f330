"""What `netemu apply` does with IPv6, in AWS terms: a VPC's Amazon-provided block and a
subnet's /64 (Associate/DisassociateVpcCidrBlock, -SubnetCidrBlock), egress-only internet
gateways (Create/DeleteEgressOnlyInternetGateway) and instances' IPv6 addresses
(Assign/UnassignIpv6Addresses); ref 16.1-16.5. The kernel side is the plan's difference
(render.ipv6, render.dhcpv6): an instance given an address leases it by DHCPv6 at once."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.ops.words import Change, _c


def changes(old: Model, new: Model) -> list[Change]:
    """Blocks and gateways first, as AWS needs them before routes and addresses use them."""
    out: list[Change] = []
    for name, vpc in new.vpcs.items():
        was = old.vpcs.get(name)
        if was is not None and was.ipv6_cidr != vpc.ipv6_cidr:
            out += _block(f"vpc:{name}", f"vpc {name}", was.ipv6_cidr, vpc.ipv6_cidr)
    for name, sub in new.subnets.items():
        had = old.subnets.get(name)
        if had is not None and had.ipv6_cidr != sub.ipv6_cidr:
            out += _block(f"subnet:{name}", f"subnet {name}", had.ipv6_cidr, sub.ipv6_cidr)
    for name, g in new.egress_only_internet_gateways.items():
        before = old.egress_only_internet_gateways.get(name)
        if before is None or before.vpc != g.vpc:
            if before is not None:
                out.append(_delete(name))
            text = f"create egress-only internet gateway {name} for vpc {g.vpc}"
            out.append(_c("create", f"egress_only_internet_gateway:{name}", text))
    out += [_delete(g) for g in old.egress_only_internet_gateways
            if g not in new.egress_only_internet_gateways]  # fmt: skip
    return out


def addresses(old: Model, new: Model) -> list[Change]:
    """Instances that stay and gain, lose or change their IPv6 address."""
    out: list[Change] = []
    for name, inst in new.instances.items():
        was = old.instances.get(name)
        if was is None or was.ipv6_address == inst.ipv6_address:
            continue
        res = f"instance:{name}"
        if was.ipv6_address is not None:
            text = f"unassign ipv6 address {was.ipv6_address} from instance {name}"
            out.append(_c("unassign", res, text))
        if inst.ipv6_address is not None:
            text = f"assign ipv6 address {inst.ipv6_address} to instance {name}"
            out.append(_c("assign", res, text))
    return out


def _block(res: str, what: str, was: object, now: object) -> list[Change]:
    out = []
    if was is not None:
        out.append(_c("disassociate", res, f"disassociate ipv6 cidr block {was} from {what}"))
    if now is not None:
        out.append(_c("associate", res, f"associate ipv6 cidr block {now} with {what}"))
    return out


def _delete(name: str) -> Change:
    text = f"delete egress-only internet gateway {name}"
    return _c("delete", f"egress_only_internet_gateway:{name}", text)
