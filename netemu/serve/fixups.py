"""Where moto's account differs from AWS in ways the kernel would show, set right after each
call (and on replay, so identifiers and addresses come out the same):

- the default VPC has an attached internet gateway and a 0.0.0.0/0 route to it (ref 3.2);
- a NAT gateway's private address lies in its subnet (ref 6.5); a public NAT gateway in a
  VPC without an internet gateway is `failed` (ref 6.2, 6.3);
- a managed prefix list keeps its name when a modification does not give one;
- public addresses (elastic and auto-assigned) come from the documentation ranges, the
  closed world's public internet, not moto's random real-world addresses; so do
  Amazon-provided IPv6 blocks (serve.ipv6).
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network, ip_address
from typing import Any

from netemu.serve import ipv6

PUBLIC_POOLS = (IPv4Network("203.0.113.0/24"), IPv4Network("192.0.2.0/24"))


def default_vpc_internet_gateway(backend: Any) -> None:
    """Give the default VPC what AWS gives it: an attached IGW and its default route."""
    vpc = next((v for v in backend.vpcs.values() if v.is_default), None)
    if vpc is None or any(
        igw.vpc is not None and igw.vpc.id == vpc.id for igw in backend.internet_gateways.values()
    ):
        return
    igw = backend.create_internet_gateway()
    backend.attach_internet_gateway(igw.id, vpc.id)
    main = next(
        (
            t
            for t in backend.route_tables.values()
            if t.vpc_id == vpc.id and t.main_association_id is not None
        ),
        None,
    )
    if main is not None:
        backend.create_route(main.id, "0.0.0.0/0", gateway_id=igw.id)


def after_call(backend: Any) -> dict[str, str]:
    """Set the account right; returns the addresses replaced (old -> new), which the
    response that named them must show replaced too."""
    default_groups_admit_members(backend)
    prefix_list_names(backend)
    replaced = _public_addresses(backend)
    replaced.update(_nat_gateways(backend))
    replaced.update(ipv6.amazon_blocks(backend))  # into 2001:db8::/32 (ref 16.1)
    return replaced


def prefix_list_names(backend: Any) -> None:
    """A managed prefix list keeps its name when ModifyManagedPrefixList does not name it
    (AWS); moto sets it to None, after which its own DescribePrefixLists fails."""
    for pl in backend.managed_prefix_lists.values():
        if pl.prefix_list_name is None:
            pl.prefix_list_name = getattr(pl, "netemu_name", "")
        pl.netemu_name = pl.prefix_list_name


def default_groups_admit_members(backend: Any) -> None:
    """A VPC's default security group starts with an inbound rule admitting all traffic
    from its own members (ref 7.4); moto's starts empty. Added once, when the group is
    new: a rule the user revokes later stays revoked."""
    for group in _all_groups(backend):
        if not group.is_default or getattr(group, "netemu_initialised", False):
            continue
        group.netemu_initialised = True
        if group.vpc_id is None:
            continue
        backend.authorize_security_group_ingress(
            group.id,
            "-1",
            None,
            None,
            [],
            source_groups=[{"GroupId": group.id, "UserId": backend.account_id}],
            vpc_id=group.vpc_id,
        )


def _all_groups(backend: Any) -> list[Any]:
    out: list[Any] = []
    for by_id in backend.groups.values():
        out.extend(by_id.values())
    return out


def _in_pool(address: str | None) -> bool:
    if not address:
        return True
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in pool for pool in PUBLIC_POOLS)


def _free_public(used: set[str]) -> Iterator[str]:
    for pool in PUBLIC_POOLS:
        for host in pool.hosts():
            if str(host) not in used:
                used.add(str(host))
                yield str(host)


def _public_addresses(backend: Any) -> dict[str, str]:
    enis = list(backend.enis.values())
    eips = list(backend.addresses)
    used = {a.public_ip for a in eips} | {e.public_ip for e in enis if e.public_ip}
    fresh = _free_public(used)
    replaced: dict[str, str] = {}
    for eip in eips:
        if not _in_pool(eip.public_ip):
            replaced[eip.public_ip] = next(fresh)
            eip.public_ip = replaced[eip.public_ip]
    for eni in enis:
        if eni.public_ip in replaced:
            eni.public_ip = replaced[eni.public_ip]
        elif not _in_pool(eni.public_ip):
            replaced[eni.public_ip] = next(fresh)
            eni.public_ip = replaced[eni.public_ip]
    return replaced


def _nat_gateways(backend: Any) -> dict[str, str]:
    replaced: dict[str, str] = {}
    for nat in backend.nat_gateways.values():
        subnet = backend.get_subnet(nat.subnet_id)
        cidr = IPv4Network(subnet.cidr_block)
        if ip_address(nat.private_ip) not in cidr:
            new = _free_private(backend, subnet, cidr)
            subnet.request_ip(new, nat)  # so that moto picks other addresses for instances
            replaced[nat.private_ip] = new
            nat.private_ip = new
            nat._eni.private_ip_address = new
            for item in nat.address_set:
                if "privateIp" in item:
                    item["privateIp"] = new
    return replaced


def instance_groups_modified(backend: Any, instance_id: str) -> None:
    """ModifyInstanceAttribute with groups replaces the primary ENI's groups (ref 7.3);
    moto changes the instance's list but its ENI then shows old and new groups together."""
    instance = backend.get_instance(instance_id)
    eni = instance.nics.get(0) if isinstance(instance.nics, dict) else None
    if eni is not None:
        eni._group_set = list(instance.security_groups)


def nat_gateway_created(backend: Any, nat_id: str) -> None:
    """A public NAT gateway created in a VPC without an internet gateway fails (ref 6.2); one
    that did not fail stays available whatever happens to the gateway later."""
    nat = backend.nat_gateways.get(nat_id)
    if nat is None or (nat.connectivity_type or "public") != "public":
        return
    if not any(
        igw.vpc is not None and igw.vpc.id == nat.vpc_id
        for igw in backend.internet_gateways.values()
    ):
        nat.state = "failed"
        nat.failure_code = "Gateway.NotAttached"
        nat.failure_message = f"Network {nat.vpc_id} has no Internet gateway attached"


def _free_private(backend: Any, subnet: Any, cidr: IPv4Network) -> str:
    """The lowest address AWS could hand out: not the first four nor the last (ref 2.3)."""
    used = {e.private_ip_address for e in backend.enis.values() if e.subnet is subnet}
    used |= set(subnet._subnet_ips)
    first, last = int(cidr.network_address) + 4, int(cidr.broadcast_address) - 1
    for n in range(first, last + 1):
        if str(IPv4Address(n)) not in used:
            return str(IPv4Address(n))
    raise ValueError(f"subnet {subnet.id} has no free address")
