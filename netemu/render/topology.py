"""Model -> namespaces, veth cables, addresses and the plain routes between them.

The kernel picture (architecture.md 2): one namespace per instance, NAT gateway, subnet,
VPC router, internet gateway, internet host, and one for the internet. A subnet namespace
routes (never bridges) between its ENI ports with proxy ARP, so that every packet between
two instances of a subnet crosses its forward hook, where the security groups live.
"""

from __future__ import annotations

from netemu.model.types import Eni, Model
from netemu.render import names as n
from netemu.render import transit_gateway
from netemu.render.plan import Address, Link, Namespace, Route

NO_IPV6 = (("net/ipv6/conf/all/disable_ipv6", "1"), ("net/ipv6/conf/default/disable_ipv6", "1"))
# A NAT gateway forgets an idle mapping, TCP or UDP, after 350 s (ref 6.12; `idle_timeout`).
NAT_IDLE_TIMEOUTS = (
    "net/netfilter/nf_conntrack_tcp_timeout_established",
    "net/netfilter/nf_conntrack_udp_timeout",
    "net/netfilter/nf_conntrack_udp_timeout_stream",
)
# ... and never picks a TCP flow up in mid-stream, so the first packet after the timeout
# is "invalid" and answered with a RST (render.nat_gateway).
NAT_NO_PICKUP = ("net/netfilter/nf_conntrack_tcp_loose", "0")
# Inside a VPC every link carries jumbo frames; the internet gateway's links stay at the
# kernel's 1500 (ref 5.6). An instance's own end starts at 1500 and gets 9001 by DHCP
# (option 26, render.dhcp), as an instance learns it on AWS.
VPC_MTU = 9001
# The VPC router's ICMP errors (frag-needed towards the internet gateway, 5.6) leave it
# from the transit address of the interface the packet came in on; the subnet namespace
# then gives them the subnet's base+1 as source (render.subnet), which is a local address
# there, hence accept_local.
ROUTER_ICMP_SOURCE = ("net/ipv4/icmp_errors_use_inbound_ifaddr", "1")
SUBNET_ROUTER_ICMP = ("net/ipv4/conf/all/accept_local", "1")
# Security groups keep a UDP flow with replies ("stream") for 180 s, Linux for 120 s (7.17,
# 7.20); the other defaults already match AWS (TCP established 5 days, UDP 30 s).
SG_TIMEOUTS = (("net/netfilter/nf_conntrack_udp_timeout_stream", "180"),)
ROUTER = (
    ("net/ipv4/ip_forward", "1"),
    ("net/ipv4/conf/all/rp_filter", "0"),
    ("net/ipv4/conf/default/rp_filter", "0"),
)


def target_enis(model: Model) -> list[Eni]:
    """ENIs that some route table names as a target (NAT gateways, instances): each gets
    its own cable from the VPC router into its subnet, so the subnet namespace knows which
    ENI the router chose (AWS delivers such frames to the ENI's MAC)."""
    wanted: set[tuple[str, str]] = set()
    for table in model.route_tables.values():
        for route in table.routes:
            if route.target_kind in ("nat_gateway", "instance") and route.target:
                wanted.add((route.target_kind, route.target))
    # A route to an instance means its primary ENI (device index 0, ref 9.20).
    return [e for e in model.enis() if (e.owner_kind, e.owner) in wanted and e.device_index == 0]


def target_link_if(eni: Eni) -> str:
    """Name of a target cable at both ends: t<port> in the subnet, t<subnet>x<port> in the
    router (one router serves several subnets)."""
    return f"t{eni.port}"


def router_target_if(model: Model, eni: Eni) -> str:
    return f"t{model.subnets[eni.subnet].index}x{eni.port}"


def eni_ns(model: Model, eni: Eni) -> str:
    if eni.owner_kind == "instance":
        return n.instance_ns(model.name, eni.owner)
    if eni.owner_kind == "vpc_endpoint":
        return n.endpoint_eni_ns(model.name, eni.owner)
    return n.nat_gateway_ns(model.name, eni.owner)


def namespaces(model: Model) -> list[Namespace]:
    s = model.name
    out: list[Namespace] = []
    for inst in model.instances.values():
        forward = "0" if inst.eni.source_dest_check else "1"
        out.append(
            Namespace(
                n.instance_ns(s, inst.name),
                f"instance:{inst.name}",
                (*NO_IPV6, ("net/ipv4/ip_forward", forward)),
            )
        )
    for nat in model.nat_gateways.values():
        out.append(
            Namespace(
                n.nat_gateway_ns(s, nat.name),
                f"nat_gateway:{nat.name}",
                (
                    *NO_IPV6,
                    *ROUTER,
                    *((key, str(nat.idle_timeout)) for key in NAT_IDLE_TIMEOUTS),
                    NAT_NO_PICKUP,
                ),
            )
        )
    for sub in model.subnets.values():
        out.append(
            Namespace(
                n.subnet_ns(s, sub.name),
                f"subnet:{sub.name}",
                (
                    *NO_IPV6,
                    *ROUTER,
                    *SG_TIMEOUTS,
                    ("net/ipv4/conf/all/proxy_arp", "1"),
                    SUBNET_ROUTER_ICMP,
                ),
                # Proxy ARP otherwise waits up to 0.8 s before it answers.
                late_sysctls=(("net/ipv4/neigh/*/proxy_delay", "0"),),
            )
        )
    for vpc in model.vpcs.values():
        out.append(
            Namespace(
                n.router_ns(s, vpc.name),
                f"vpc_router:{vpc.name}",
                (*NO_IPV6, *ROUTER, ROUTER_ICMP_SOURCE),
            )
        )
    for igw in model.internet_gateways.values():
        out.append(
            Namespace(n.igw_ns(s, igw.name), f"internet_gateway:{igw.name}", NO_IPV6 + ROUTER)
        )
    out += transit_gateway.namespaces(model)  # one per transit gateway (18.1)
    for ep in model.vpc_endpoints.values():  # interface endpoints' ENIs (render.vpc_endpoints)
        for eni in ep.network_interfaces:
            ns = n.endpoint_eni_ns(s, eni.owner)
            out.append(Namespace(ns, f"vpc_endpoint:{eni.owner}", NO_IPV6))
    out.append(Namespace(n.internet_ns(s), "internet", NO_IPV6 + ROUTER))
    for host in model.internet_hosts.values():
        out.append(Namespace(n.host_ns(s, host.name), f"internet_host:{host.name}", NO_IPV6))
    return out


def wiring(model: Model) -> tuple[list[Link], list[Address], list[Route]]:
    """Every cable with its addresses and the routes that only follow from the cabling
    (route tables proper are rendered by render.route_table)."""
    s = model.name
    links: list[Link] = []
    addrs: list[Address] = []
    routes: list[Route] = []

    for eni in model.enis():
        sub = model.subnets[eni.subnet]
        ins, sns, port = eni_ns(model, eni), n.subnet_ns(s, sub.name), n.eni_port_if(eni.port)
        # A NAT gateway's ENI, an interface endpoint's and a secondary ENI are configured
        # statically; an instance's primary ENI learns its MTU by DHCP.
        static = eni.owner_kind != "instance" or eni.device_index > 0
        eni_mtu = VPC_MTU if static else None
        links.append(
            Link(
                ins,
                n.eni_if(eni.device_index),
                sns,
                port,
                mac_a=eni.mac,
                alias=f"{eni.id} {eni.owner}",
                mtu_a=eni_mtu,
                mtu_b=VPC_MTU,
            )
        )
        if sub.cidr is None or eni.private_ip is None:
            continue  # an IPv6-only subnet: its IPv6 side is render.ipv6's (16.11)
        if eni.owner_kind != "instance":
            # A NAT gateway's or endpoint's ENI is requester-managed and configured
            # statically; an instance asks the subnet's DHCP server (render.dhcp).
            addrs.append(Address(ins, n.ENI_IF, f"{eni.private_ip}/{sub.cidr.prefixlen}"))
            routes.append(Route(ins, "0.0.0.0/0", via=str(sub.router_ip), dev=n.ENI_IF))
        # The subnet answers for base+1 on every port and reaches each ENI by a host route.
        addrs.append(
            Address(sns, port, f"{sub.router_ip}/{sub.cidr.prefixlen}", noprefixroute=True)
        )
        for ip in eni.private_ips:  # secondary private IPs too (9.21)
            routes.append(Route(sns, f"{ip}/32", dev=port))

    for sub in model.subnets.values():
        sns, rns = n.subnet_ns(s, sub.name), n.router_ns(s, sub.vpc)
        r_if = n.router_subnet_if(sub.index)
        links.append(
            Link(
                sns,
                n.UPLINK_IF,
                rns,
                r_if,
                alias=f"{sub.id} {sub.name}",
                mtu_a=VPC_MTU,
                mtu_b=VPC_MTU,
            )
        )
        addrs.append(Address(sns, n.UPLINK_IF, f"{n.SUBNET_LINK[1]}/32"))
        addrs.append(Address(rns, r_if, f"{n.SUBNET_LINK[0]}/32"))
        routes.append(Route(sns, "0.0.0.0/0", via=n.SUBNET_LINK[0], dev=n.UPLINK_IF, onlink=True))
        # Addresses of the subnet that no ENI holds follow the default route out, so proxy
        # ARP answers for them too: the packet reaches this namespace and a named rule drops
        # it (render.subnet), instead of dying unseen in the sender's ARP table.
        # Traffic from the internet gateway finds the subnet through the router's main table.
        if sub.cidr is not None:  # an IPv6-only subnet is reached by render.ipv6's routes
            routes.append(Route(rns, str(sub.cidr), via=n.SUBNET_LINK[1], dev=r_if, onlink=True))

    for eni in target_enis(model):
        sub = model.subnets[eni.subnet]
        sns, rns = n.subnet_ns(s, sub.name), n.router_ns(s, sub.vpc)
        t_if, rt_if = target_link_if(eni), router_target_if(model, eni)
        links.append(
            Link(
                sns,
                t_if,
                rns,
                rt_if,
                alias=f"route target {eni.owner}",
                mtu_a=VPC_MTU,
                mtu_b=VPC_MTU,
            )
        )
        addrs.append(Address(sns, t_if, f"{n.SUBNET_LINK[1]}/32"))
        addrs.append(Address(rns, rt_if, f"{n.SUBNET_LINK[0]}/32"))

    inet = n.internet_ns(s)
    for i, igw in enumerate(model.internet_gateways.values()):
        gns, rns, vpc = n.igw_ns(s, igw.name), n.router_ns(s, igw.vpc), model.vpcs[igw.vpc]
        links.append(Link(rns, n.ROUTER_IGW_IF, gns, n.IGW_VPC_IF, alias=f"{igw.id} {igw.name}"))
        addrs.append(Address(rns, n.ROUTER_IGW_IF, f"{n.IGW_LINK[0]}/32"))
        addrs.append(Address(gns, n.IGW_VPC_IF, f"{n.IGW_LINK[1]}/32"))
        for block in vpc.cidrs:  # every block of the VPC lies behind its router (1.4)
            routes.append(Route(gns, str(block), via=n.IGW_LINK[0], dev=n.IGW_VPC_IF, onlink=True))
        g_if = n.internet_igw_if(i)
        links.append(Link(inet, g_if, gns, n.IGW_INET_IF, alias=f"{igw.id} {igw.name}"))
        addrs.append(Address(inet, g_if, f"{n.INTERNET_LINK[0]}/32"))
        addrs.append(Address(gns, n.IGW_INET_IF, f"{n.INTERNET_LINK[1]}/32"))
        routes.append(
            Route(gns, "0.0.0.0/0", via=n.INTERNET_LINK[0], dev=n.IGW_INET_IF, onlink=True)
        )
        for eni in model.enis():
            if eni.public_ip and model.subnets[eni.subnet].vpc == igw.vpc:
                routes.append(
                    Route(
                        inet, f"{eni.public_ip}/32", via=n.INTERNET_LINK[1], dev=g_if, onlink=True
                    )
                )

    for i, host in enumerate(model.internet_hosts.values()):
        hns, h_if = n.host_ns(s, host.name), n.internet_host_if(i)
        links.append(Link(inet, h_if, hns, n.ENI_IF, alias=f"internet host {host.name}"))
        addrs.append(Address(inet, h_if, f"{n.HOST_GATEWAY}/32"))
        addrs.append(Address(hns, n.ENI_IF, f"{host.ip}/32"))
        routes.append(Route(inet, f"{host.ip}/32", dev=h_if))
        routes.append(Route(hns, "0.0.0.0/0", via=n.HOST_GATEWAY, dev=n.ENI_IF, onlink=True))

    return links, addrs, routes


def endpoint_ns(model: Model, name: str) -> str:
    """The namespace of an instance, NAT gateway or internet host, by its scenario name."""
    if name in model.instances:
        return n.instance_ns(model.name, name)
    if name in model.nat_gateways:
        return n.nat_gateway_ns(model.name, name)
    if name in model.internet_hosts:
        return n.host_ns(model.name, name)
    from netemu.errors import UsageError

    known = [*model.instances, *model.nat_gateways, *model.internet_hosts]
    raise UsageError(
        f"no instance, NAT gateway or internet host named '{name}' (known: {', '.join(known)})"
    )
