"""The one place that turns an expectation's `from`/`to` into namespaces and addresses.

`to` follows the contract (scenario-format.md 3): an instance or NAT gateway is addressed by
its private IP from inside its own VPC and by its public IP from anywhere else; with no
public IP, by its private IP (which the outside cannot reach).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from netemu.errors import UsageError
from netemu.model.types import Eni, Model
from netemu.render import names as n


@dataclass(frozen=True)
class Endpoint:
    name: str  # scenario name, or the address itself for a literal
    ns: str | None  # where packets are sent from / observed at; None if nobody holds it
    ip: IPv4Address
    vpc: str | None  # None on the internet
    eni: Eni | None = None


def _eni_of(model: Model, name: str) -> tuple[Eni, str] | None:
    if name in model.instances:
        return model.instances[name].eni, n.instance_ns(model.name, name)
    if name in model.nat_gateways:
        return model.nat_gateways[name].eni, n.nat_gateway_ns(model.name, name)
    return None


def ipv4_of(eni: Eni) -> IPv4Address:
    """The ENI's private IPv4 address; an instance of an IPv6-only subnet has none (16.11),
    so an IPv4 probe from or to it is a usage mistake, not a blocked packet."""
    if eni.private_ip is None:
        raise UsageError(
            f"instance '{eni.owner}' has no IPv4 address (its subnet is IPv6-only); "
            "probe it over IPv6 (-6, family: 6)"
        )
    return eni.private_ip


def source(model: Model, name: str) -> Endpoint:
    found = _eni_of(model, name)
    if found and name in model.instances:
        eni, ns = found
        return Endpoint(name, ns, ipv4_of(eni), model.subnets[eni.subnet].vpc, eni)
    if name in model.internet_hosts:
        return Endpoint(name, n.host_ns(model.name, name), model.internet_hosts[name].ip, None)
    raise UsageError(f"probe source '{name}' is not an instance or internet host")


def destination(model: Model, name: str, src: Endpoint) -> Endpoint:
    found = _eni_of(model, name)
    if found:
        eni, ns = found
        vpc = model.subnets[eni.subnet].vpc
        inside = src.vpc == vpc
        ip = ipv4_of(eni) if inside or eni.public_ip is None else eni.public_ip
        return Endpoint(name, ns, ip, vpc, eni)
    if name in model.internet_hosts:
        return Endpoint(name, n.host_ns(model.name, name), model.internet_hosts[name].ip, None)
    try:
        literal = ip_address(name)
    except ValueError:
        raise UsageError(
            f"probe destination '{name}' is not an instance, NAT gateway, "
            "internet host or IPv4 address"
        ) from None
    if not isinstance(literal, IPv4Address):
        raise UsageError(f"probe destination '{name}': only IPv4 is emulated")
    return owner_of(model, literal, src) or Endpoint(name, None, literal, None)


def owner_of(model: Model, ip: IPv4Address, src: Endpoint) -> Endpoint | None:
    """Who receives packets sent to a literal address: an ENI by its private address (in
    the sender's VPC or a VPC peered with it, 1.10, or attached to the same transit gateway,
    18.1) or public address, or an internet host."""
    for eni in model.enis():
        vpc = model.subnets[eni.subnet].vpc
        near = vpc == src.vpc or (
            src.vpc is not None
            and (model.peering_between(vpc, src.vpc) or model.transit_gateway_between(vpc, src.vpc))
        )
        if ip == eni.private_ip and near and eni.owner_kind == "vpc_endpoint":
            ns = n.endpoint_eni_ns(model.name, eni.owner)  # an interface endpoint (17.3)
            return Endpoint(eni.owner, ns, ip, vpc, eni)
        if ip == eni.public_ip or (ip in eni.private_ips and near):
            owner = _eni_of(model, eni.owner)
            assert owner
            return Endpoint(eni.owner, owner[1], ip, vpc, eni)
    for host in model.internet_hosts.values():
        if host.ip == ip:
            return Endpoint(host.name, n.host_ns(model.name, host.name), ip, None)
    return None


def vpc_of_address(model: Model, ip: IPv4Address) -> str | None:
    for vpc in model.vpcs.values():
        if vpc.holds(ip):
            return vpc.name
    return None
