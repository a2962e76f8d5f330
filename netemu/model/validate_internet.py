"""The emulated internet: the public pool and internet hosts, and what makes an address public."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from netemu.model.types import InternetHost, Service
from netemu.model.validate_context import DEFAULT_POOL, HOST, INSTANCE, NAT, Ctx, aws, in_vpc, q
from netemu.model.validate_fields import address, as_map, check_keys, cidr, object_name
from netemu.model.validate_traffic import services
from netemu.scenario import Node

INTERNET_KEYS = ("public_pool", "hosts", "aws_services")  # the last: validate_endpoints
HOST_KEYS = ("ip", "services", "ipv6_address")
DEFAULT_HOST = ("internet", IPv4Address("198.51.100.10"))

# Ranges the internet gateway will not carry (RFC 1918, RFC 6598, ref 5.5), plus ranges
# that are not unicast at all.
_NOT_PUBLIC = tuple(
    IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
PUBLIC_RULE = aws(
    "the internet gateway drops traffic to and from RFC 1918 and RFC 6598 addresses", "5.5"
)


def is_public(value: IPv4Address | IPv4Network) -> bool:
    if isinstance(value, IPv4Network):
        return not any(value.overlaps(n) for n in _NOT_PUBLIC)
    return not any(value in n for n in _NOT_PUBLIC)


def read_internet(ctx: Ctx, top: dict[str, Node]) -> None:
    node = top.get("internet")
    m: dict[str, Node] = {}
    if node is not None:
        m = as_map(ctx, node, "'internet'") or {}
        check_keys(ctx, m, node, "'internet'", INTERNET_KEYS)
    pool_node = m.get("public_pool")
    pool = cidr(ctx, pool_node, "public_pool") if pool_node is not None else DEFAULT_POOL
    if pool is not None:
        ctx.public_pool = pool
        _check_pool(ctx, pool, pool_node)
    hosts = m.get("hosts")
    if hosts is None:  # contract: one host named `internet` at 198.51.100.10
        host, host_ip = DEFAULT_HOST
        add_host(ctx, host, host_ip, (), None, f"the default internet host {q(host)} {host_ip}")
        ctx.declare(HOST, host, None)
        return
    for name, hnode in (as_map(ctx, hosts, "internet hosts") or {}).items():
        object_name(ctx, HOST, name, hnode)
        what = f"internet host {q(name)}"
        for kind in (INSTANCE, NAT):
            if ctx.is_declared(kind, name):
                msg = f"{what} has the same name as {kind} {q(name)}; expectations refer to both"
                ctx.error(hnode.where, msg + " by name")
        hm = as_map(ctx, hnode, what, null_ok=False)
        if hm is None:
            continue
        check_keys(ctx, hm, hnode, what, HOST_KEYS, ("ip",))
        svcs = services(ctx, hm.get("services"), what)
        ip = address(ctx, hm["ip"], f"{what} ip") if "ip" in hm else None
        if ip is not None:
            add_host(ctx, name, ip, svcs, hm["ip"], f"{what} ip {ip}")


def _check_pool(ctx: Ctx, pool: IPv4Network, node: Node | None) -> None:
    what = f"public_pool {pool}"
    if not is_public(pool):
        ctx.error(node, f"{what} is not a public range" + PUBLIC_RULE)
    vpc = in_vpc(pool, ctx.vpcs.values())
    if vpc is not None:
        blame = node or ctx.vpc_raw[vpc.name].get("cidr")
        rule = aws("public addresses lie outside the VPC; the IGW maps them 1:1", "5.3")
        ctx.error(blame, f"{what} overlaps VPC {q(vpc.name)} {vpc.cidr}" + rule)


def add_host(
    ctx: Ctx, name: str, ip: IPv4Address, svcs: tuple[Service, ...], node: Node | None, who: str
) -> None:
    vpc = in_vpc(ip, ctx.vpcs.values())
    clash = next((h for h in ctx.internet_hosts.values() if h.ip == ip), None)
    if not is_public(ip):
        ctx.error(node, f"{who} is not a public address" + PUBLIC_RULE)
    elif vpc is not None:
        blame = node or ctx.vpc_raw[vpc.name].get("cidr")
        rule = aws("the internet lies outside every VPC CIDR", "1.9")
        ctx.error(blame, f"{who} lies inside VPC {q(vpc.name)} {vpc.cidr}" + rule)
    elif ip in ctx.public_pool:
        msg = f"{who} lies inside the public_pool {ctx.public_pool}, whose addresses belong to ENIs"
        ctx.error(node, msg)
    elif clash is not None:
        ctx.error(node, f"{who} is already the address of internet host {q(clash.name)}")
    ctx.internet_hosts[name] = InternetHost(name, ip, svcs)
