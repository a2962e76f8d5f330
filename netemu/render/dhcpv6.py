"""DHCPv6 and router advertisements of dual-stack subnets (dnsmasq) and instances' clients.

As on AWS, an instance learns its default IPv6 router from router advertisements and its
IPv6 address from DHCPv6 (ref 16.7, 16.8). The subnet's dnsmasq (render.dhcp) does both: `enable-ra`
advertises the subnet's /64 with the managed flag set (addresses by DHCPv6) and the
autonomous flag clear (no SLAAC address), from the subnet namespace's fe80::1 on every ENI
port, so the kernel of the instance installs `default via fe80::1 dev eth0 proto ra`.
`dhcp-range=...,static` leases only the address reserved for each ENI's MAC: the model's
`ipv6_address`, as a /128.

The prefix is advertised off-link (dnsmasq's `off-link`, the L flag clear): an instance
then sends even its neighbours' packets to the router, so they cross the subnet's forward
hook where the security groups are, as IPv4 does with proxy ARP (docs/aws-decisions.md).

dnsmasq serves DHCPv6 only on an interface holding an address of the range's prefix, so
every ENI port of the subnet namespace also carries the subnet's ::1 (one of the four
addresses AWS reserves, 16.3), with `noprefixroute` so no /64 route appears there.

The client is ISC dhclient (`dhclient -6`, Debian package isc-dhcp-client). It has no
"quit once bound" switch, so its event script reports the lease on its output, in the
IPv4 client's format (render.dhcp.LEASE_MARK, so driver.lease configures both), and then
ends the client with SIGTERM; the wrapper turns that end into exit 0. No DNS server is
offered over DHCPv6: AWS's IPv6 resolver address (fd00:ec2::253) is outside the
documentation range, and the instance keeps its IPv4 resolver (docs/aws-decisions.md).
"""

from __future__ import annotations

from ipaddress import IPv6Network

from netemu.model.types import Eni, Instance, Model, Subnet
from netemu.render import names as n
from netemu.render.plan import Address, File, Plan, Process

DHCLIENT = "dhclient"
CLIENT_NAME = "dhcp6-client instance:"
CLIENT_SCRIPT = "dhcp/dhclient6.sh"
EVENT_SCRIPT = "dhcp/dhclient6-event.sh"
# dhclient -6 gives up at once while eth0's link-local address is not there yet.
CLIENT_TRIES = 30
RA_WAIT_TRIES = 100  # tenths of a second; the instance solicits one at once (render.ipv6)

CLIENT_SCRIPT_TEXT = rf"""#!/bin/sh
# netemu: one-shot DHCPv6 client of an instance (see netemu/render/dhcpv6.py).
# $1 = interface, $2 = lease file. The event script stops dhclient once bound (143).
# Then wait for the default route a router advertisement installs, so that the instance
# is configured when `up` returns (shell builtins only: no process per look).
default_route() {{
    while read -r dst plen _ _ _ _ _ _ _ dev; do
        [ "$dst$plen" = {"0" * 34} ] && [ "$dev" = "$1" ] && return 0
    done < /proc/net/ipv6_route
    return 1
}}
i=0
while :; do
    {DHCLIENT} -6 -1 -d --no-pid -cf /dev/null -sf "$NETEMU_EVENT" -lf "$2" "$1"
    rc=$?
    [ "$rc" = 143 ] && break
    i=$((i + 1))
    [ "$i" -ge {CLIENT_TRIES} ] && exit "$rc"
    sleep 0.1
done
i=0
until default_route "$1"; do
    i=$((i + 1))
    [ "$i" -ge {RA_WAIT_TRIES} ] && echo "no router advertisement came" && exit 1
    sleep 0.1
done
exit 0
"""

EVENT_SCRIPT_TEXT = r"""#!/bin/sh
# netemu: dhclient -6 event script (see netemu/render/dhcpv6.py): report, then stop.
case "$reason" in
BOUND6|RENEW6|REBIND6|REBOOT6)
    echo "netemu-lease interface=$interface ip=$new_ip6_address" \
        "mask=$new_ip6_prefixlen router= mtu="
    kill -TERM "$PPID"
    ;;
esac
exit 0
"""


def served(sub: Subnet) -> bool:
    return sub.ipv6_cidr is not None


def router_address(net: IPv6Network) -> str:
    """The subnet's ::1, a reserved address (16.3) that dnsmasq needs on its ports."""
    return str(net.network_address + 1)


def server_lines(sub: Subnet, lease_time: int) -> list[str]:
    """dnsmasq's DHCPv6 range and router advertisements for one subnet."""
    if sub.ipv6_cidr is None:
        return []
    net = sub.ipv6_cidr.network_address
    return [
        # static: only the reservations; off-link: the L flag clear (module docstring).
        f"dhcp-range={net},static,off-link,{sub.ipv6_cidr.prefixlen},{lease_time}",
        "enable-ra",
    ]


def host_address(eni: Eni) -> str:
    """The IPv6 part of an ENI's dhcp-host reservation (dnsmasq writes it in brackets)."""
    return f",[{eni.ipv6_address}]" if eni.ipv6_address is not None else ""


def port_addresses(model: Model, enis: list[Eni]) -> list[Address]:
    out: list[Address] = []
    for eni in enis:
        sub = model.subnets[eni.subnet]
        if sub.ipv6_cidr is None:
            continue
        sns, port = n.subnet_ns(model.name, sub.name), n.eni_port_if(eni.port)
        out.append(Address(sns, port, f"{router_address(sub.ipv6_cidr)}/64", noprefixroute=True))
    return out


def leases(inst: str) -> str:
    return f"dhcp/{inst}.leases6"


def asks(model: Model, inst: Instance) -> bool:
    """An instance asks for an IPv6 address when its ENI has one (else dhclient would wait
    for a lease that never comes)."""
    return inst.eni.ipv6_address is not None and served(model.subnets[inst.eni.subnet])


def client_process(model: Model, inst: Instance, phase: int) -> Process:
    return Process(
        ns=n.instance_ns(model.name, inst.name),
        name=f"{CLIENT_NAME}{inst.name}",
        argv=("/bin/sh", f"{{state}}/{CLIENT_SCRIPT}", n.ENI_IF, f"{{state}}/{leases(inst.name)}"),
        phase=phase,
        wait=True,
        env=(("NETEMU_EVENT", f"{{state}}/{EVENT_SCRIPT}"),),
        lease=True,
    )


def programs(plan: Plan) -> set[str]:
    """dhclient, when the plan runs a DHCPv6 client (its wrapper is what argv names)."""
    return {DHCLIENT} if any(p.name.startswith(CLIENT_NAME) for p in plan.processes) else set()


def render(model: Model, phase: int) -> tuple[list[File], list[Process]]:
    wanted = [i for i in model.instances.values() if asks(model, i)]
    if not wanted:
        return [], []
    files = [
        File(CLIENT_SCRIPT, CLIENT_SCRIPT_TEXT, mode=0o755),
        File(EVENT_SCRIPT, EVENT_SCRIPT_TEXT, mode=0o755),
    ]
    return files, [client_process(model, i, phase) for i in wanted]
