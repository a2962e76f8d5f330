"""DHCP: a dnsmasq per subnet with one reservation per ENI, a udhcpc per instance (ref 10.1).

The server runs in the subnet namespace, bound to the instances' ENI ports, where every
port already carries base+1; so its replies come from base+1, as AWS's do (10.8). It leases
only the reserved address of each ENI's MAC (`dhcp-range=...,static`): there is no
dynamic pool, so an unknown MAC gets nothing and the five reserved addresses of a subnet
(2.3) are never leased. The address itself is the model's (`private_ip`, or the lowest
free one, 9.1).

Options are those of AWS's default option set (10.1): router = subnet base+1, DNS = VPC
base+2 (10.2), domain name `<region>.compute.internal` (`ec2.internal` in us-east-1), and
host name `ip-a-b-c-d` (10.4); plus the interface MTU, 9001 (option 26), from which an
instance learns the jumbo frames of its VPC (5.6).

Lease time: AWS does not document it (gap 14.1). Observers see the renewal about half an
hour after binding (10.8), which is T1 = half the lease of a one-hour lease, so netemu
leases for 3600 s (dnsmasq then sends T1 = 30 min, T2 = 52.5 min). The client is one-shot
(`udhcpc -q`): it binds, configures eth0, writes resolv.conf and exits, so a lease never
renews; the reservation keeps the address the instance's until `down` anyway.

DHCP never crosses a forward hook: the server is the subnet namespace itself (input and
output hooks), so security groups and network ACLs cannot filter it, as in AWS (7.11).
"""

from __future__ import annotations

from netemu.model.types import Eni, Instance, Model, Subnet
from netemu.render import dhcp_options, dhcpv6, etc, hostnames
from netemu.render import names as n
from netemu.render.plan import File, Process
from netemu.render.topology import VPC_MTU

LEASE_TIME_S = 3600
DNSMASQ = "/usr/sbin/dnsmasq"
UDHCPC = "udhcpc"  # busybox's DHCP client (Debian package udhcpc)

# Servers first; their pid file is their ready file (dnsmasq writes it after binding port
# 67), so no client's first DISCOVER is lost. Every lease is then obtained in one phase,
# the clients running together (driver.tasks). Later phases (services) can count on
# instances having their address.
SERVER_PHASE = 0
CLIENT_PHASE = 1

# A DISCOVER every second, five times: a lost one costs a second, not udhcpc's default 3.
CLIENT_TRIES = 5
CLIENT_TIMEOUT_S = 1

CLIENT_SCRIPT = "dhcp/udhcpc.sh"

# udhcpc runs this with the event in $1 and the lease in the environment (ip, mask, router,
# dns, domain, hostname). It does what a cloud image's DHCP hook does, split in two: the
# address and default route go to its output, one line starting with LEASE_MARK, from
# which netemu configures the interface once the client has exited (driver.lease); the
# resolver and host name go to the instance's own /etc files under the state directory
# ($NETEMU_ETC, made before the client starts), not the shared /etc. Only shell builtins:
# each process started here would cost about a millisecond of CPU per instance at `up`.
LEASE_MARK = "netemu-lease"
CLIENT_SCRIPT_TEXT = rf"""#!/bin/sh
# netemu: udhcpc event script (see netemu/render/dhcp.py). $1 = deconfig|bound|renew|...
# deconfig needs nothing: the interface has no address before its first lease.
case "$1" in
bound|renew)
    set -- $router
    echo "{LEASE_MARK} interface=$interface ip=$ip mask=$mask router=$1 mtu=$mtu"
    {{
        [ -n "$domain" ] && echo "search $domain"
        for d in $dns; do echo "nameserver $d"; done
    }} > "$NETEMU_ETC/resolv.conf"
    [ -n "$hostname" ] && echo "$hostname" > "$NETEMU_ETC/hostname"
    ;;
esac
exit 0
"""


def server_conf(subnet: str) -> str:
    return f"dhcp/{subnet}.conf"


def server_pid(subnet: str) -> str:
    return f"dhcp/{subnet}.pid"


def leases(subnet: str) -> str:
    return f"dhcp/{subnet}.leases"


def served_enis(model: Model, subnet: str) -> list[Eni]:
    """ENIs that ask for their address: instances' primary ones. A NAT gateway's ENI is
    managed by AWS and a secondary ENI configured by the instance (render.topology,
    render.network_interfaces), both statically."""
    return [e for e in model.enis_in(subnet) if e.owner_kind == "instance" and e.device_index == 0]


def server_config(model: Model, sub: Subnet) -> str:
    """dnsmasq's configuration for one subnet: its ports, options and reservations."""
    enis = served_enis(model, sub.name)
    vpc = model.vpcs[sub.vpc]
    own = dhcp_options.options_of(model, vpc)  # the VPC's options set (10.20)
    block = sub.cidr or sub.ipv6_cidr
    lines = [
        f"# netemu: DHCP server of subnet {sub.name} ({sub.id} {block}); see netemu/render/dhcp.py",
        *(f"interface={n.eni_port_if(e.port)}" for e in enis),
    ]
    if sub.cidr is not None:  # an IPv6-only subnet serves DHCPv6 alone (16.11)
        lines += [
            # `static`: only the reservations below are ever leased; no dynamic pool.
            f"dhcp-range={sub.cidr.network_address},static,{sub.cidr.netmask},{LEASE_TIME_S}",
            f"dhcp-option=option:router,{sub.router_ip}",
            *([f"dhcp-option=option:dns-server,{vpc.dns_ip}"] if own is None else []),
            f"dhcp-option=option:mtu,{VPC_MTU}",
            *(
                [f"dhcp-option=option:domain-name,{hostnames.domain_name(model.region)}"]
                if own is None
                else dhcp_options.server_lines(own, vpc)
            ),
        ]
    lines += dhcpv6.server_lines(sub, LEASE_TIME_S)  # dual-stack subnets: DHCPv6 and RAs
    for e in enis:
        v4 = f",{e.private_ip}" if e.private_ip is not None else ""
        name = hostnames.host_name(e.private_ip, model.instances[e.owner].id)
        lines.append(f"dhcp-host={e.mac}{v4}{dhcpv6.host_address(e)},{name}")
    return "\n".join(lines) + "\n"


def server_process(sub: Subnet, model: Model) -> Process:
    return Process(
        ns=n.subnet_ns(model.name, sub.name),
        name=f"dhcp-server subnet:{sub.name}",
        argv=(
            DNSMASQ,
            "--keep-in-foreground",
            # DHCP only: no DNS socket (--port=0), no upstream or host files read.
            "--port=0",
            "--no-resolv",
            "--no-hosts",
            # The only DHCP server on the segment: answer REQUESTs for unknown leases at
            # once (a client's second run finds its lease without waiting for a NAK).
            "--dhcp-authoritative",
            # --conf-file stops dnsmasq from reading /etc/dnsmasq.conf.
            f"--conf-file={{state}}/{server_conf(sub.name)}",
            f"--pid-file={{state}}/{server_pid(sub.name)}",
            f"--dhcp-leasefile={{state}}/{leases(sub.name)}",
            "--log-facility=-",  # to stderr: the process log under {state}/logs
        ),
        phase=SERVER_PHASE,
        ready_file=server_pid(sub.name),
    )


def client_process(model: Model, inst: Instance) -> Process:
    """The DHCP client of one instance: one-shot, exits 0 once eth0 is configured."""
    own = dhcp_options.options_of(model, model.vpcs[model.subnets[inst.subnet].vpc])
    return Process(
        ns=n.instance_ns(model.name, inst.name),
        name=f"dhcp-client instance:{inst.name}",
        argv=(
            UDHCPC,
            "-f",  # foreground: the driver waits for it
            "-q",  # quit once bound (one-shot)
            "-n",  # and fail (exit 1) if no lease came
            "-i",
            n.ENI_IF,
            "-t",
            str(CLIENT_TRIES),
            "-T",
            str(CLIENT_TIMEOUT_S),
            "-O",
            "mtu",  # udhcpc does not ask for option 26 unless told
            *dhcp_options.client_args(own),
            "-s",
            f"{{state}}/{CLIENT_SCRIPT}",
        ),
        phase=CLIENT_PHASE,
        wait=True,
        env=(
            ("NETEMU_ETC", f"{{state}}/{etc.endpoint_dir(inst.name)}"),
            *dhcp_options.client_env(own),
        ),
        dirs=(etc.endpoint_dir(inst.name),),
        lease=True,
    )


def render(model: Model) -> tuple[list[File], list[Process]]:
    files: list[File] = []
    procs: list[Process] = []
    for sub in model.subnets.values():
        if served_enis(model, sub.name):
            files.append(File(server_conf(sub.name), server_config(model, sub)))
            procs.append(server_process(sub, model))
    # Stopped instances lease too: their port drops all forwarded traffic (render.subnet)
    # while DHCP stays inside the subnet namespace, and `netemu start` then only has to
    # lift that drop to find the instance configured as it was (9.2).
    if model.instances:
        files.append(File(CLIENT_SCRIPT, CLIENT_SCRIPT_TEXT, mode=0o755))
    # An instance of an IPv6-only subnet has no IPv4 lease to ask for (16.11).
    procs += [client_process(model, i) for i in model.instances.values() if i.private_ip]
    files6, procs6 = dhcpv6.render(model, CLIENT_PHASE)  # and -6 where they have IPv6
    return files + files6, procs + procs6
