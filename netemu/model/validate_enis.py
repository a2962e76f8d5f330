"""Instances and NAT gateways: their ENIs, private addresses (2.3, 9.1) and public IPs (9.3, 9.4).

Order matters for determinism: explicit private IPs are reserved first, then secondary private
IPs (always given), then the rest get the lowest free address, instances before NAT gateways
before secondary ENIs (model.validate_network_interfaces), each in file order. Public IPs:
explicit elastic IPs first, then pool addresses for instances, then for `elastic_ip: auto` NAT
gateways.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Literal

from netemu.model import validate_elastic_ips, validate_network_interfaces, validate_servers
from netemu.model.ids import IdKind, eni_mac
from netemu.model.types import ConnectionTracking, Eni, Instance, NatGateway, Service, Subnet
from netemu.model.validate_conntrack import connection_tracking
from netemu.model.validate_context import HOST, INSTANCE, NAT, NIC, SUBNET, Ctx, aws, in_vpc, q
from netemu.model.validate_fields import (
    address,
    as_map,
    check_keys,
    integer,
    object_id,
    object_name,
    opt_bool,
    section,
    text,
)
from netemu.model.validate_internet import PUBLIC_RULE, is_public
from netemu.model.validate_key_pairs import key_name
from netemu.model.validate_security import group_list
from netemu.model.validate_traffic import services
from netemu.scenario import Node

INSTANCE_KEYS = (
    "id",
    "network_interface_id",
    "subnet",
    "private_ip",
    "public_ip",
    "elastic_ip",
    "security_groups",
    "services",
    "source_dest_check",
    "state",
    "user_data",
    "connection_tracking",
    "key_name",
    "ipv6_address",
    "secondary_private_ips",
)
NAT_IDLE_TIMEOUT_S = 350  # ref 6.12
NAT_KEYS = ("id", "network_interface_id", "subnet", "elastic_ip", "private_ip", "idle_timeout")
MAX_EIPS = 5  # default quota per Region, ref 1.8


@dataclass
class _Draft:
    kind: Literal["instance", "nat_gateway", "network_interface"]
    name: str
    node: Node
    subnet: Subnet
    ip_node: Node | None
    wants_public: bool = False  # an auto-assigned public IP from the pool
    eip_node: Node | None = None
    eip: IPv4Address | None = None
    eip_auto: bool = False
    groups: tuple[str, ...] = ()
    source_dest_check: bool = True
    services: tuple[Service, ...] = ()
    state: Literal["running", "stopped"] = "running"
    user_data: str | None = None
    key_name: str | None = None
    idle_timeout: int = NAT_IDLE_TIMEOUT_S
    connection_tracking: ConnectionTracking = field(default_factory=ConnectionTracking)
    ip: IPv4Address | None = None
    public_ip: IPv4Address | None = None
    fixed_public: IPv4Address | None = None  # `public_ip: ADDRESS`: an auto IP kept by import
    public_node: Node | None = None
    id: str = ""
    eni_id: str = ""
    secondary_nodes: tuple[Node, ...] = ()  # `secondary_private_ips` (ref 9.8, 9.21)
    secondary_ips: list[IPv4Address] = field(default_factory=list)
    device_index: int = 0  # a secondary ENI's attachment (network_interface drafts)
    instance: str = ""  # the instance a secondary ENI is attached to

    @property
    def who(self) -> str:
        kind = {"instance": INSTANCE, "nat_gateway": NAT}.get(self.kind, NIC)
        return f"{kind} {q(self.name)}"


def read_enis(ctx: Ctx, top: dict[str, Node]) -> None:
    drafts = _instances(ctx, top) + _nat_gateways(ctx, top)
    drafts += _network_interfaces(ctx, top, drafts)  # secondary ENIs (9.20)
    eips = validate_elastic_ips.associate(ctx, top, drafts)  # `elastic_ips:` (9.13)
    _ipv6_only(ctx, drafts)
    _private_ips(ctx, drafts)
    _public_ips(ctx, drafts, {e.address for e in eips if e.owner is None and e.address})
    macs: set[str] = set()
    ports: dict[str, int] = {}
    for d in drafts:
        if d.ip is None and d.subnet.cidr is not None:
            continue  # its address was refused
        eni_id = d.eni_id
        mac = eni_mac(eni_id, macs)
        macs.add(mac)
        port = ports.get(d.subnet.name, 0)
        ports[d.subnet.name] = port + 1
        elastic = (d.eip is not None and d.fixed_public is None) or d.eip_auto
        kind: Literal["instance", "nat_gateway"] = "nat_gateway"
        if d.kind != "nat_gateway":
            kind = "instance"
        eni = Eni(
            eni_id, d.subnet.name, d.ip, mac, d.groups, d.source_dest_check, d.public_ip,
            elastic, kind, d.name, port, d.connection_tracking,
        )  # fmt: skip
        if d.kind == "network_interface":
            ctx.network_interfaces[d.name] = dataclasses.replace(
                eni, owner_kind="instance", owner=d.instance, device_index=d.device_index,
                secondary_private_ips=tuple(d.secondary_ips), name=d.name,
            )  # fmt: skip
        elif d.kind == "instance":
            eni = dataclasses.replace(eni, secondary_private_ips=tuple(d.secondary_ips))
            ctx.instances[d.name] = Instance(
                d.name, d.id, eni, d.services, d.state, d.user_data, d.key_name
            )
        else:
            ctx.nat_gateways[d.name] = NatGateway(d.name, d.id, eni, d.idle_timeout)
    validate_elastic_ips.resolve(ctx, eips, pool_addresses(ctx.public_pool, set()))
    validate_servers.check_references(ctx, top)


def _subnet(ctx: Ctx, m: dict[str, Node], what: str) -> Subnet | None:
    node = m.get("subnet")
    name = text(ctx, node, f"{what} subnet") if node is not None else None
    if node is None or name is None:
        return None
    return ctx.lookup(SUBNET, name, node, ctx.subnets, what)


def _default_host_clash(ctx: Ctx, name: str, node: Node, what: str) -> None:
    if name in ctx.internet_hosts and ctx.declared.get(HOST, {}).get(name) is None:
        msg = f"{what} has the name of the default internet host; expectations refer to both"
        ctx.error(node.where, msg + " by name: rename it or declare internet.hosts")


def _elastic_ip(
    ctx: Ctx, m: dict[str, Node], what: str
) -> tuple[Node | None, IPv4Address | None, bool]:
    """(node, explicit address, auto) of `elastic_ip: ADDRESS|auto`."""
    node = m.get("elastic_ip")
    if node is None:
        return None, None, False
    if node.value == "auto" and node.tag == "str":
        return node, None, True
    if validate_elastic_ips.is_name(ctx, node):  # an `elastic_ips:` object (9.13)
        return node, None, False
    return node, address(ctx, node, f"{what} elastic_ip"), False


def _instances(ctx: Ctx, top: dict[str, Node]) -> list[_Draft]:
    drafts = []
    for name, node in section(ctx, top, "instances").items():
        object_name(ctx, INSTANCE, name, node)
        what = f"instance {q(name)}"
        _default_host_clash(ctx, name, node, what)
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, INSTANCE_KEYS, ("subnet",))
        subnet = _subnet(ctx, m, what)
        svcs = services(ctx, m.get("services"), what, on_instance=True)
        script = validate_servers.user_data(ctx, m.get("user_data"), what)
        key = key_name(ctx, m.get("key_name"), what)
        sdc = opt_bool(ctx, m, "source_dest_check", what, True)  # ref 9.9
        state = _state(ctx, m, what)
        eip_node, eip, eip_auto = _elastic_ip(ctx, m, what)
        # ref 2.6, 2.7: the subnet's MapPublicIpOnLaunch unless the launch overrides it
        fixed = _fixed_public(ctx, m, what)
        default_public = bool(subnet and subnet.public_ip_on_launch)
        public = fixed is None and opt_bool(ctx, m, "public_ip", what, default_public)
        ids = _ids(ctx, m, "instance", "i", name, what)
        if subnet is None:
            continue  # its subnet is unknown or broken: addresses cannot be checked
        groups = group_list(ctx, m.get("security_groups"), what, subnet.vpc)
        draft = _Draft("instance", name, node, subnet, m.get("private_ip"))
        draft.id, draft.eni_id = ids
        draft.fixed_public = fixed if eip_node is None else None
        draft.public_node = m.get("public_ip")
        draft.wants_public = public and eip_node is None
        draft.eip_node, draft.eip, draft.eip_auto = eip_node, eip, eip_auto
        draft.connection_tracking = connection_tracking(ctx, m.get("connection_tracking"), what)
        draft.groups, draft.source_dest_check, draft.services, draft.state = (
            groups,
            sdc,
            svcs,
            state,
        )
        draft.user_data = script
        draft.key_name = key
        draft.secondary_nodes = validate_network_interfaces.secondary_nodes(ctx, m, what)
        drafts.append(draft)
    return drafts


def _network_interfaces(ctx: Ctx, top: dict[str, Node], drafts: list[_Draft]) -> list[_Draft]:
    """Drafts of the secondary ENIs: their addresses are claimed with everyone's."""
    homes = {d.name: d.subnet for d in drafts if d.kind == "instance"}
    out = []
    for spec in validate_network_interfaces.read(ctx, top, homes):
        draft = _Draft("network_interface", spec.name, spec.node, spec.subnet, spec.ip_node)
        draft.eni_id, draft.instance, draft.device_index = spec.id, spec.instance, spec.device_index
        draft.groups, draft.source_dest_check = spec.groups, spec.source_dest_check
        draft.secondary_nodes = spec.secondary
        out.append(draft)
    return out


def _ids(
    ctx: Ctx, m: dict[str, Node], kind: str, id_kind: IdKind, name: str, what: str
) -> tuple[str, str]:
    """(object id, ENI id): given by `id:` / `network_interface_id:` or derived from the name."""
    own = object_id(ctx, m, id_kind, name, what)
    eni_spec = {"id": m["network_interface_id"]} if "network_interface_id" in m else {}
    eni = object_id(ctx, eni_spec, "eni", f"{kind}/{name}", f"{what} network_interface_id")
    return own, eni


def _fixed_public(ctx: Ctx, m: dict[str, Node], what: str) -> IPv4Address | None:
    """`public_ip: ADDRESS`: the auto-assigned public IP an import kept (not an elastic IP)."""
    node = m.get("public_ip")
    if node is None or node.tag == "bool":
        return None
    return address(ctx, node, f"{what} public_ip")


def _state(ctx: Ctx, m: dict[str, Node], what: str) -> Literal["running", "stopped"]:
    node = m.get("state")
    raw = text(ctx, node, f"{what} state") if node is not None else "running"
    if raw == "stopped":
        return "stopped"
    if raw == "running":
        return "running"
    if raw is not None:
        ctx.error(node, f"{what} state {q(raw)} must be running or stopped")
    return "running"


def _nat_gateways(ctx: Ctx, top: dict[str, Node]) -> list[_Draft]:
    drafts = []
    for name, node in section(ctx, top, "nat_gateways").items():
        object_name(ctx, NAT, name, node)
        what = f"NAT gateway {q(name)}"
        if ctx.is_declared(INSTANCE, name):
            msg = f"{what} has the same name as instance {q(name)}; expectations refer to both"
            ctx.error(node.where, msg + " by name")
        _default_host_clash(ctx, name, node, what)
        m = as_map(ctx, node, what, null_ok=False)
        if m is None:
            continue
        check_keys(ctx, m, node, what, NAT_KEYS, ("subnet",))
        subnet = _subnet(ctx, m, what)
        eip_node, eip, eip_auto = _elastic_ip(ctx, m, what)
        ids = _ids(ctx, m, "nat_gateway", "nat", name, what)
        if subnet is None:
            continue
        draft = _Draft("nat_gateway", name, node, subnet, m.get("private_ip"))
        draft.id, draft.eni_id = ids
        draft.source_dest_check = False  # it forwards traffic of other addresses
        if "idle_timeout" in m:
            rule = " (netemu: seconds an idle TCP mapping lives; AWS uses 350, ref 6.12)"
            timeout = integer(ctx, m["idle_timeout"], f"{what} idle_timeout", 1, 432000, rule)
            draft.idle_timeout = timeout or NAT_IDLE_TIMEOUT_S
        # a public NAT gateway always has an EIP (ref 6.1): none given means auto
        draft.eip_node, draft.eip, draft.eip_auto = eip_node, eip, eip_auto or eip_node is None
        if ctx.igw_of(subnet.vpc) is None:
            rule = aws(
                "a public NAT gateway in a VPC without an internet gateway fails: "
                "'Network vpc-... has no internet gateway attached'",
                "6.1, 6.2",
            )
            ctx.error(
                node.where,
                f"{what} is in VPC {q(subnet.vpc)}, which has no internet gateway" + rule,
            )
        drafts.append(draft)
    return drafts


def _reserved(net: IPv4Network, ip: IPv4Address) -> bool:
    """Base, base+1 (router), base+2 (DNS), base+3 and the last address (ref 2.3)."""
    offset = int(ip) - int(net.network_address)
    return offset <= 3 or ip == net.broadcast_address


def _ipv6_only(ctx: Ctx, drafts: list[_Draft]) -> None:
    """ENIs in IPv6-only subnets get no IPv4 address, private or public (16.11)."""
    for d in drafts:
        if d.subnet.cidr is not None:
            continue
        rule = aws("instances in an IPv6-only subnet get no IPv4 address", "16.11")
        where = f"IPv6-only subnet {q(d.subnet.name)}"
        if d.kind == "nat_gateway":
            rule = aws("a NAT gateway needs an IPv4 address in a subnet with IPv4", "6.1, 16.11")
            ctx.error(d.node.where, f"{d.who} is in {where}" + rule)
        for key, node in (("private_ip", d.ip_node), ("public_ip", d.public_node)):
            if node is not None and (node.tag != "bool" or node.value):
                ctx.error(node, f"{d.who} {key}: it is in {where}" + rule)
        if d.eip_node is not None:
            ctx.error(d.eip_node, f"{d.who} elastic_ip: it is in {where}" + rule)
        for svc in d.services:
            if svc.kind in ("mariadb", "nginx"):  # they listen on the private IPv4 address
                msg = f"{d.who} runs {svc.kind}, which netemu serves over IPv4 only, and"
                ctx.error(d.node.where, msg + f" the instance is in {where} (docs/ipv6.md)")
        if d.connection_tracking != ConnectionTracking():
            msg = f"{d.who} connection_tracking: netemu applies it to IPv4 flows only"
            ctx.error(d.node.where, msg + f" and the instance is in {where} (docs/ipv6.md)")
        d.eip_node = d.eip = d.fixed_public = None  # refused above: nothing to assign
        d.eip_auto = d.wants_public = False


def _claim(
    ctx: Ctx, d: _Draft, node: Node, key: str, used: dict[str, dict[IPv4Address, str]]
) -> IPv4Address | None:
    """An address given for `d` (its `private_ip` or one of its `secondary_private_ips`),
    once checked: inside the subnet, not reserved, nobody else's (9.1, 9.21)."""
    ip = address(ctx, node, f"{d.who} {key}")
    net = d.subnet.cidr
    if ip is None or net is None:  # an IPv6-only subnet's ENI is refused one (_ipv6_only)
        return None
    taken = used.setdefault(d.subnet.name, {})
    where = f"subnet {q(d.subnet.name)} {net}"
    if ip not in net:
        rule = aws("a private IP must come from its subnet's range", "9.1")
        ctx.error(node, f"{d.who} {key} {ip} is not inside {where}" + rule)
    elif _reserved(net, ip):
        rule = aws(
            "the first four addresses and the last address of every subnet are reserved", "2.3"
        )
        ctx.error(node, f"{d.who} {key} {ip} is reserved in {where}" + rule)
    elif ip in taken:
        rule = aws("an address belongs to one network interface (InvalidIPAddress.InUse)", "9.1")
        ctx.error(node, f"{d.who} {key} {ip} is already used by {taken[ip]}" + rule)
    else:
        taken[ip] = d.who
        return ip
    return None


def _private_ips(ctx: Ctx, drafts: list[_Draft]) -> None:
    used: dict[str, dict[IPv4Address, str]] = {}  # per subnet: one subnet, one owner per IP
    for d in drafts:
        if d.ip_node is not None:
            d.ip = _claim(ctx, d, d.ip_node, "private_ip", used)
    for d in drafts:  # secondary addresses are given, never picked (netemu; ref 9.21)
        for node in d.secondary_nodes:
            ip = _claim(ctx, d, node, "secondary_private_ips", used)
            if ip is not None:
                d.secondary_ips.append(ip)
    cursors: dict[str, Iterator[IPv4Address]] = {}
    for d in drafts:
        net = d.subnet.cidr
        if d.ip_node is not None or net is None:
            continue
        taken = used.setdefault(d.subnet.name, {})
        cursor = cursors.setdefault(d.subnet.name, _lowest_free(net, taken))
        d.ip = next(cursor, None)
        if d.ip is None:
            rule = aws(
                f"a /{net.prefixlen} offers {net.num_addresses - 5} addresses, "
                "five of every subnet being reserved",
                "2.3",
            )
            msg = f"subnet {q(d.subnet.name)} {net} has no free address left for {d.who}"
            ctx.error(d.node.where, msg + rule)
        else:
            taken[d.ip] = d.who


def _lowest_free(net: IPv4Network, taken: dict[IPv4Address, str]) -> Iterator[IPv4Address]:
    first = int(net.network_address) + 4
    for n in range(first, int(net.broadcast_address)):
        ip = IPv4Address(n)
        if ip not in taken:
            yield ip


def _public_ips(ctx: Ctx, drafts: list[_Draft], reserved: set[IPv4Address]) -> None:
    """`reserved`: addresses of elastic IPs associated with nothing, kept out of the pool."""
    host_ips = {h.ip: h.name for h in ctx.internet_hosts.values()}
    eips: dict[IPv4Address, str] = {}
    for d in drafts:
        if d.fixed_public is not None:  # checked like an elastic IP: public, outside, unique
            d.eip_node, d.eip = d.public_node, d.fixed_public
        if d.eip is None or d.eip_node is None:
            continue
        who = f"{d.who} {'public_ip' if d.fixed_public else 'elastic_ip'} {d.eip}"
        vpc = in_vpc(d.eip, ctx.vpcs.values())
        if not is_public(d.eip):
            ctx.error(d.eip_node, f"{who} is not a public address" + PUBLIC_RULE)
        elif vpc is not None:
            rule = aws("the internet gateway maps a public address 1:1 to a private one", "5.3")
            msg = f"{who} lies inside VPC {q(vpc.name)} {vpc.cidr}; it must be outside every VPC"
            ctx.error(d.eip_node, msg + rule)
        elif d.eip in host_ips:
            ctx.error(d.eip_node, f"{who} is the address of internet host {q(host_ips[d.eip])}")
        elif d.eip in eips:
            rule = aws("an elastic IP is associated with one address at a time", "9.4")
            ctx.error(d.eip_node, f"{who} is already used by {eips[d.eip]}" + rule)
        else:
            eips[d.eip] = d.who
            d.public_ip = d.eip
    elastic = [d for d in drafts if d.eip_node is not None and d.fixed_public is None]
    if len(elastic) > MAX_EIPS:
        rule = aws("the default quota is 5 elastic IPs per Region", "1.8, 9.4")
        ctx.warn(elastic[MAX_EIPS].eip_node, f"the scenario uses {len(elastic)} elastic IPs" + rule)
    pool = pool_addresses(ctx.public_pool, set(eips) | set(host_ips) | reserved)
    wanting = [d for d in drafts if d.kind == "instance" and (d.wants_public or d.eip_auto)]
    wanting += [d for d in drafts if d.kind == "nat_gateway" and d.eip_auto]
    wanting += [d for d in drafts if d.kind == "network_interface" and d.eip_auto]
    for d in wanting:
        d.public_ip = next(pool, None)
        if d.public_ip is None:
            msg = f"public_pool {ctx.public_pool} has no free address left for {d.who}"
            ctx.error(
                d.node.where, msg + " (netemu: auto public IPs come from internet.public_pool)"
            )


def pool_addresses(pool: IPv4Network, skip: set[IPv4Address]) -> Iterator[IPv4Address]:
    """Pool addresses, lowest first, without its network and broadcast addresses."""
    for n in range(int(pool.network_address) + 1, int(pool.broadcast_address)):
        ip = IPv4Address(n)
        if ip not in skip:
            yield ip
