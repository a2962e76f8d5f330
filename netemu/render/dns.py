"""DNS: the Amazon resolver at VPC base+2 in each VPC router, one resolver on the internet.

Each VPC router namespace runs a dnsmasq that answers at the VPC's base+2 (10.2), an
address of the router itself (on its `lo`): instances reach it through their subnet, like
any other destination beyond base+1. It knows, and answers authoritatively:

- private names `ip-a-b-c-d.<region>.compute.internal` (`.ec2.internal` in us-east-1) of
  every ENI in the VPC -> the private address, and the reverse (PTR) lookup;
- public names `ec2-a-b-c-d.<region>.compute.amazonaws.com` (`.compute-1.amazonaws.com` in
  us-east-1) of its instances -> the *private* address, as AWS answers inside the VPC (9.5);
  those of instances in other VPCs -> their public address;
- internet hosts by their scenario name, bare (`repo`) or under the pseudo top-level
  domain `internet` (`repo.internet`) -> their address;
- the VPC's instances by their scenario name (`db`) -> the private address, as a Route 53
  private hosted zone associated with the VPC would (netemu's choice, aws-decisions.md).

Instance names (private and public) exist only when the VPC has `dns_hostnames` on: AWS
gives instances DNS names only when both DNS attributes are true, and netemu always has DNS
support on (10.3). The emulation is a closed world: nothing is forwarded to a real
upstream, and every other name is NXDOMAIN. The names are in a hosts file that dnsmasq
rereads on SIGHUP, which `reload` sends when the file changes (a new public IP at `netemu
start`, 9.3), so no resolver restarts.

The internet has its own resolver, at `internet_resolver_ip()` (198.51.100.53 unless the
scenario uses that address), which internet hosts' resolv.conf names. It answers public
names of instances -> public addresses (9.5) and internet hosts' names.

Security groups and network ACLs never filter traffic to and from the Amazon DNS (7.11,
8.10): see the exemptions in render.security_group, render.network_acl and render.subnet.
"""

from __future__ import annotations

import signal
from ipaddress import IPv4Address, IPv4Network

from netemu.model.aws_services import SERVICES
from netemu.model.types import Eni, Model, Vpc
from netemu.render import etc, hostnames, nft
from netemu.render import names as n
from netemu.render.dhcp import DNSMASQ, SERVER_PHASE
from netemu.render.plan import Address, File, Process

INTERNET_DOMAIN = "internet"  # `repo.internet`: internet hosts' names
# The internet resolver takes the first of these that the scenario leaves free; all lie
# in documentation ranges (architecture.md 4), as internet hosts' addresses usually do.
INTERNET_RESOLVER_CANDIDATES = tuple(
    IPv4Address(a) for a in ("198.51.100.53", "192.0.2.53", "203.0.113.53")
)
DOCUMENTATION_RANGES = tuple(
    IPv4Network(c) for c in ("198.51.100.0/24", "192.0.2.0/24", "203.0.113.0/24")
)
INTERNET = "internet"  # the resolver's file names under dns/
DNS_PORT = 53


def conf(owner: str) -> str:
    return f"dns/{owner}.conf"


def hosts(owner: str) -> str:
    """The resolver's names, in hosts-file form: dnsmasq reads it again on SIGHUP, so a
    changed public IP (`netemu start`, 9.3) needs a new file and a signal, not a restart."""
    return f"dns/{owner}.hosts"


def pid(owner: str) -> str:
    return f"dns/{owner}.pid"


def _taken(model: Model) -> tuple[set[IPv4Address], list[IPv4Network]]:
    used = {h.ip for h in model.internet_hosts.values()}
    used |= {e.public_ip for e in model.enis() if e.public_ip}
    # The public pool hands out new addresses at `start` (9.3), so none of it is safe.
    nets = [model.public_pool, *(c for v in model.vpcs.values() for c in v.cidrs)]
    return used, nets


def internet_resolver_ip(model: Model) -> IPv4Address | None:
    """An address no host, ENI, VPC or the public pool uses: the preferred candidates
    first, then the rest of the documentation ranges from the top. None if all are taken
    (the internet then has no resolver)."""
    used, nets = _taken(model)

    def free(ip: IPv4Address) -> bool:
        return ip not in used and not any(ip in net for net in nets)

    for ip in INTERNET_RESOLVER_CANDIDATES:
        if free(ip):
            return ip
    for net in DOCUMENTATION_RANGES:
        for ip in reversed(list(net.hosts())):
            if free(ip):
                return ip
    return None


def _records(name_to_ip: list[tuple[list[str], IPv4Address]]) -> str:
    # dnsmasq answers exactly these names (not subdomains), and the reverse lookup of an
    # address with the first line that holds it, so private names go first.
    return "".join(f"{ip} {' '.join(names)}\n" for names, ip in name_to_ip)


def _host_records(
    model: Model, private: frozenset[str] = frozenset()
) -> list[tuple[list[str], IPv4Address]]:
    """Internet hosts by name; an AWS service also by its regional name (17.4), except the
    services in `private`, whose name a VPC's private DNS answers instead."""
    out = []
    for h in model.internet_hosts.values():
        names = [h.name, f"{h.name}.{INTERNET_DOMAIN}"]
        if h.aws_service and h.aws_service not in private:
            names.append(SERVICES[h.aws_service].dns_name(model.region))
        out.append((names, h.ip))
    return out


def _private_services(model: Model, vpc: str) -> list[str]:
    return [
        ep.service
        for ep in model.vpc_endpoints.values()
        if ep.vpc == vpc and ep.vpc_endpoint_type == "Interface" and ep.private_dns_enabled
    ]


def _private_dns(model: Model, vpc: str) -> list[tuple[list[str], IPv4Address]]:
    """A VPC's interface endpoints with private DNS: the service's regional name leads to
    their ENIs' private addresses inside the VPC (17.4)."""
    return [
        ([SERVICES[ep.service].dns_name(model.region)], eni.private_ip)
        for ep in model.vpc_endpoints.values()
        if ep.vpc == vpc and ep.vpc_endpoint_type == "Interface" and ep.private_dns_enabled
        for eni in ep.network_interfaces
        if eni.private_ip is not None
    ]


def _named(model: Model, vpc: str) -> list[Eni]:
    """ENIs of `vpc` that have DNS names: all of them, when the VPC has hostnames on."""
    if not model.vpcs[vpc].dns_hostnames:
        return []
    # AmazonProvidedDNS answers A records here; an IPv6-only ENI has none (16.11).
    return [
        e for e in model.enis() if model.subnets[e.subnet].vpc == vpc and e.private_ip is not None
    ]


def _public_instances(model: Model, vpc: str) -> list[Eni]:
    return [e for e in _named(model, vpc) if e.owner_kind == "instance" and e.public_ip]


def _header(what: str, ip: IPv4Address) -> list[str]:
    return [
        f"# netemu: {what} at {ip}; see netemu/render/dns.py",
        f"listen-address={ip}",
        "bind-interfaces",
        # Closed world: a name not in the hosts file does not exist (NXDOMAIN); nothing
        # is forwarded anywhere.
        "local=/#/",
    ]


def vpc_resolver_config(vpc: Vpc) -> str:
    return (
        "\n".join(_header(f"Amazon DNS of VPC {vpc.name} ({vpc.id} {vpc.cidr})", vpc.dns_ip)) + "\n"
    )


# The Route 53 Resolver's IPv6 address (fd00:ec2::253, Nitro only) is not emulated.
NO_RESOLVER = "# netemu: no DNS server for an instance of an IPv6-only subnet (docs/ipv6.md)\n"


def vpc_resolver_hosts(model: Model, vpc: Vpc) -> str:
    r = model.region
    named = [(e, e.private_ip) for e in _named(model, vpc.name) if e.private_ip is not None]
    records = [([hostnames.private_dns_name(r, ip)], ip) for e, ip in named]
    # Inside the VPC an instance's public name leads to its private address (9.5).
    records += [
        ([hostnames.public_dns_name(r, e.public_ip)], ip)
        for e, ip in named
        if e.public_ip and e.owner_kind == "instance"
    ]
    records += [
        ([hostnames.public_dns_name(r, e.public_ip)], e.public_ip)
        for other in model.vpcs.values()
        if other.name != vpc.name
        for e in _public_instances(model, other.name)
        if e.public_ip
    ]
    records += _private_dns(model, vpc.name)
    records += _host_records(model, frozenset(_private_services(model, vpc.name)))
    # The VPC's own instances by their scenario name (`db`), as a Route 53 private hosted
    # zone for the VPC would answer (aws-decisions.md): last, so PTR stays the AWS name.
    records += [
        ([e.owner], ip)
        for e, ip in named
        if e.owner_kind == "instance" and e.device_index == 0  # its eth0 (ref 9.20)
    ]
    return _records(records)


def internet_resolver_config(ip: IPv4Address) -> str:
    return "\n".join(_header("the internet's resolver", ip)) + "\n"


def internet_resolver_hosts(model: Model) -> str:
    records = [
        ([hostnames.public_dns_name(model.region, e.public_ip)], e.public_ip)
        for vpc in model.vpcs.values()
        for e in _public_instances(model, vpc.name)
        if e.public_ip
    ]
    records += _host_records(model)
    return _records(records)


def _process(ns: str, owner: str, what: str) -> Process:
    return Process(
        ns=ns,
        name=f"dns-server {what}",
        argv=(
            DNSMASQ,
            "--keep-in-foreground",
            "--no-resolv",  # no upstream from /etc/resolv.conf: a closed world
            "--no-hosts",  # nor the host's /etc/hosts
            f"--conf-file={{state}}/{conf(owner)}",  # and not /etc/dnsmasq.conf
            f"--addn-hosts={{state}}/{hosts(owner)}",
            # dnsmasq reads (and on SIGHUP rereads) the hosts file after dropping root,
            # and the state directory is root's alone (0700): keep root, inside the netns.
            "--user=root",
            f"--pid-file={{state}}/{pid(owner)}",
            "--log-facility=-",
        ),
        phase=SERVER_PHASE,
        ready_file=pid(owner),
        reread_signal=signal.SIGHUP,  # rereads the hosts file (`netemu start`, 9.3, 9.5)
    )


def amazon_dns(model: Model, subnet: str, to_resolver: bool) -> list[nft.Json]:
    """Matches for DNS to (queries) or from (answers) the Amazon DNS of the subnet's VPC,
    which security groups and network ACLs never filter (7.11, 8.10)."""
    ip = str(model.vpcs[model.subnets[subnet].vpc].dns_ip)
    addr, port = ("daddr", "dport") if to_resolver else ("saddr", "sport")
    return [
        nft.match(nft.payload("ip", addr), ip),
        nft.match(nft.meta("l4proto"), nft.anon_set(["tcp", "udp"])),
        nft.match(nft.payload("th", port), DNS_PORT),
    ]


def resolv_conf(nameserver: IPv4Address, search: str | None = None) -> str:
    return (f"search {search}\n" if search else "") + f"nameserver {nameserver}\n"


def render(model: Model) -> tuple[list[File], list[Process], list[Address]]:
    s = model.name
    files: list[File] = []
    procs: list[Process] = []
    addrs: list[Address] = []
    for vpc in model.vpcs.values():
        rns = n.router_ns(s, vpc.name)
        addrs.append(Address(rns, "lo", f"{vpc.dns_ip}/32"))
        files.append(File(conf(f"vpc-{vpc.name}"), vpc_resolver_config(vpc)))
        files.append(File(hosts(f"vpc-{vpc.name}"), vpc_resolver_hosts(model, vpc)))
        procs.append(_process(rns, f"vpc-{vpc.name}", f"vpc:{vpc.name}"))
    # Instances learn their resolver by DHCP (render.dhcp); a NAT gateway's is fixed.
    domain = hostnames.domain_name(model.region)
    for nat in model.nat_gateways.values():
        vpc = model.vpcs[model.subnets[nat.subnet].vpc]
        files.append(File(etc.resolv_conf(nat.name), resolv_conf(vpc.dns_ip, domain)))
    for inst in model.instances.values():
        if inst.private_ip is None:  # IPv6-only: no DHCPv4 lease writes these (16.11)
            files.append(File(etc.hostname(inst.name), f"{inst.id}\n"))  # its resource name
            files.append(File(etc.resolv_conf(inst.name), NO_RESOLVER))
    ip = internet_resolver_ip(model)
    if ip is not None:
        inet = n.internet_ns(s)
        addrs.append(Address(inet, "lo", f"{ip}/32"))
        files.append(File(conf(INTERNET), internet_resolver_config(ip)))
        files.append(File(hosts(INTERNET), internet_resolver_hosts(model)))
        procs.append(_process(inet, INTERNET, "internet"))
        for host in model.internet_hosts.values():
            files.append(File(etc.resolv_conf(host.name), resolv_conf(ip)))
    for host in model.internet_hosts.values():
        files.append(File(etc.hostname(host.name), f"{host.name}\n"))
    return files, procs, addrs
