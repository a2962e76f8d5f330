"""Elastic IPs as objects (`elastic_ips:`): allocation, association with an instance, and
the auto-assigned public IP an association releases (ref 9.3, 9.4, 9.13).

An association is written on either side: `elastic_ips.<eip>.instance: NAME` (or
`network_interface: eni-…`, the instance's ENI), or `instances.<i>.elastic_ip: <eip>`. The
associated instance's draft gets the address as its elastic IP before public addresses are
checked and handed out (validate_enis), so the checks and the pool are the ones every
elastic IP goes through; an elastic IP associated with nothing is checked and allocated here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from ipaddress import IPv4Address
from typing import Protocol

from netemu.model.types import ElasticIp, Eni
from netemu.model.validate_context import EIP, INSTANCE, Ctx, aws, in_vpc, q
from netemu.model.validate_fields import (
    address,
    as_map,
    check_keys,
    object_id,
    object_name,
    section,
    text,
)
from netemu.model.validate_internet import PUBLIC_RULE, is_public
from netemu.scenario import Node

EIP_KEYS = ("id", "address", "instance", "network_interface", "private_ip_address")
ONE_EIP = aws("an instance's primary private address has at most one elastic IP", "9.4")


class Draft(Protocol):
    """What validate_enis drafts of instances and NAT gateways expose to this module."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def eni_id(self) -> str: ...
    @property
    def who(self) -> str: ...

    eip_node: Node | None
    eip: IPv4Address | None
    eip_auto: bool
    wants_public: bool
    fixed_public: IPv4Address | None
    public_ip: IPv4Address | None


class _Eip:
    def __init__(self, name: str, node: Node, alloc: str, addr: IPv4Address | None) -> None:
        self.name, self.node, self.alloc, self.address = name, node, alloc, addr
        self.owner: str | None = None
        self.eni_id = ""  # the ENI it is associated with
        self.private_ip: tuple[Node, IPv4Address] | None = None  # `private_ip_address`


def declare(ctx: Ctx, top: dict[str, Node]) -> None:
    """Names first: `instances.<i>.elastic_ip: NAME` must know them while it is read."""
    for name, node in section(ctx, top, "elastic_ips").items():
        object_name(ctx, EIP, name, node)
        ctx.declare(EIP, name, node)


def is_name(ctx: Ctx, node: Node) -> bool:
    """Whether an instance's `elastic_ip:` names a declared elastic IP (not an address)."""
    return node.tag == "str" and isinstance(node.value, str) and ctx.is_declared(EIP, node.value)


def associate(ctx: Ctx, top: dict[str, Node], drafts: Sequence[Draft]) -> list[_Eip]:
    """Read `elastic_ips:` and give each associated instance's draft its elastic IP."""
    eips: list[_Eip] = []
    by_name: dict[str, _Eip] = {}
    instances = {d.name: d for d in drafts if d.kind == "instance"}
    by_eni = {d.eni_id: d for d in instances.values()}
    for d in drafts:  # a secondary ENI, by its id or its name (9.20)
        if d.kind == "network_interface":
            by_eni[d.eni_id] = by_eni[d.name] = d
    for name, node in section(ctx, top, "elastic_ips").items():
        what = f"elastic IP {q(name)}"
        m = as_map(ctx, node, what) or {}
        check_keys(ctx, m, node, what, EIP_KEYS)
        addr = address(ctx, m["address"], f"{what} address") if "address" in m else None
        new = _Eip(name, node, object_id(ctx, m, "eipalloc", name, what), addr)
        if "private_ip_address" in m:
            chosen = address(ctx, m["private_ip_address"], f"{what} private_ip_address")
            new.private_ip = (m["private_ip_address"], chosen) if chosen else None
        eips.append(new)
        by_name[name] = new
        target = _target(ctx, m, what, instances, by_eni)
        if target is not None:
            _attach(ctx, new, target, node, instances)
    for d in instances.values():  # `elastic_ip: NAME` on the instance
        if d.eip_node is not None and is_name(ctx, d.eip_node):
            eip = by_name.get(str(d.eip_node.value))
            if eip is not None and eip.owner != d.name:
                _attach(ctx, eip, d, d.eip_node, instances)
    return eips


def _target(
    ctx: Ctx,
    m: dict[str, Node],
    what: str,
    instances: dict[str, Draft],
    by_eni: dict[str, Draft],
) -> Draft | None:
    if "instance" in m and "network_interface" in m:
        rule = aws("an elastic IP is associated with an instance or a network interface", "9.13")
        ctx.error(m["network_interface"], f"{what} names both an instance and an ENI" + rule)
        return None
    if "instance" in m:
        name = text(ctx, m["instance"], f"{what} instance")
        if name is None:
            return None
        return ctx.lookup(INSTANCE, name, m["instance"], instances, what)
    if "network_interface" in m:
        eni = text(ctx, m["network_interface"], f"{what} network_interface")
        if eni is None:
            return None
        found = by_eni.get(eni)
        if found is None:
            known = ", ".join(sorted(by_eni)[:6])
            msg = f"{what} network_interface {q(eni)} is no instance's ENI (known: {known})"
            ctx.error(m["network_interface"], msg)
        return found
    return None


def _attach(ctx: Ctx, eip: _Eip, d: Draft, at: Node, instances: dict[str, Draft]) -> None:
    if eip.owner is not None:
        rule = aws("an elastic IP is associated with one address at a time", "9.4")
        msg = f"elastic IP {q(eip.name)} is already associated with instance {q(eip.owner)}"
        ctx.error(at, msg + rule)
        return
    own = d.eip_node
    if own is not None and not (is_name(ctx, own) and own.value == eip.name):
        what = "another elastic IP" if is_name(ctx, own) else "its own elastic_ip"
        ctx.error(at, f"elastic IP {q(eip.name)}: instance {q(d.name)} has {what}" + ONE_EIP)
        return
    eip.owner, eip.eni_id = d.name, d.eni_id
    # Associating releases the auto-assigned public IP (9.3): the elastic IP replaces it.
    d.eip_node, d.eip, d.eip_auto = at, eip.address, eip.address is None
    d.wants_public, d.fixed_public = False, None


def resolve(ctx: Ctx, eips: list[_Eip], pool: Iterator[IPv4Address]) -> None:
    """The ElasticIp objects, once every ENI has its public IP: associated ones take their
    instance's, the others are checked here and allocated from `pool` when they have no
    address."""
    used = {i.public_ip: i.name for i in ctx.instances.values() if i.public_ip}
    used.update({n.eni.public_ip: n.name for n in ctx.nat_gateways.values() if n.eni.public_ip})
    used.update({e.public_ip: e.name for e in ctx.network_interfaces.values() if e.public_ip})
    hosts = {h.ip: h.name for h in ctx.internet_hosts.values()}
    free = (ip for ip in pool if ip not in used)
    enis = [i.eni for i in ctx.instances.values()] + list(ctx.network_interfaces.values())
    for eip in eips:
        if eip.owner is not None:
            eni = next((e for e in enis if e.id == eip.eni_id), None)
            if eni is not None and eni.public_ip is not None and _on_primary_ip(ctx, eip, eni):
                ctx.elastic_ips[eip.name] = ElasticIp(
                    eip.name, eip.alloc, eni.public_ip, eni.owner, eni.name or None
                )
            continue
        addr = eip.address
        if addr is None:
            addr = next(free, None)
            if addr is None:
                ctx.error(eip.node.where, f"public_pool {ctx.public_pool} has no free address left"
                          f" for elastic IP {q(eip.name)}")  # fmt: skip
                continue
        elif not _usable(ctx, eip, addr, used, hosts):
            continue
        used[addr] = eip.name
        ctx.elastic_ips[eip.name] = ElasticIp(eip.name, eip.alloc, addr, None)


def _on_primary_ip(ctx: Ctx, eip: _Eip, eni: Eni) -> bool:
    """`private_ip_address`: one of the ENI's addresses; netemu maps an elastic IP to the
    ENI's primary private IP only (docs/aws-decisions.md)."""
    if eip.private_ip is None or eip.private_ip[1] == eni.private_ip:
        return True
    node, ip = eip.private_ip
    what = f"elastic IP {q(eip.name)} private_ip_address {ip}"
    if ip not in eni.private_ips:
        rule = aws("an elastic IP maps to one of the interface's own private IPs", "9.21")
        ctx.error(node, f"{what} is not an address of {eni.id}" + rule)
    else:
        msg = f"{what} is a secondary private IP; netemu maps an elastic IP to the ENI's "
        ctx.error(node, msg + "primary private IP only (docs/aws-decisions.md)")
    return False


def _usable(
    ctx: Ctx,
    eip: _Eip,
    addr: IPv4Address,
    used: dict[IPv4Address, str],
    hosts: dict[IPv4Address, str],
) -> bool:
    who = f"elastic IP {q(eip.name)} address {addr}"
    vpc = in_vpc(addr, ctx.vpcs.values())
    node = eip.node
    if not is_public(addr):
        ctx.error(node, f"{who} is not a public address" + PUBLIC_RULE)
    elif vpc is not None:
        ctx.error(node, f"{who} lies inside VPC {q(vpc.name)} {vpc.cidr}; it must be outside")
    elif addr in hosts:
        ctx.error(node, f"{who} is the address of internet host {q(hosts[addr])}")
    elif addr in used:
        rule = aws("an elastic IP is one address, associated with one address at a time", "9.4")
        ctx.error(node, f"{who} is already used by {q(used[addr])}" + rule)
    else:
        return True
    return False
