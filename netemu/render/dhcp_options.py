"""A VPC's DHCP options set -> the options its subnets' dnsmasq hands out (ref 10.20-10.23).

A VPC on the Region's default set keeps render.dhcp's options (10.1). A VPC associated with
a set of its own gets exactly that set's options: domain-name (15), domain-name-servers (6,
AmazonProvidedDNS being the VPC's base+2, 10.2), ntp-servers (42), netbios-name-servers
(44) and netbios-node-type (46); an option the set leaves out is not sent at all, so a set
without domain_name_servers leaves instances with no resolver, as on AWS (10.21).

The instances' DHCP client asks for NTP servers too (udhcpc only requests them when told),
and carries the set's id and a digest of its options in its environment: a VPC newly
associated with another set (or whose set's options changed) runs its instances' clients
again at `netemu apply`, standing in for the lease renewal at which AWS's instances pick
the new set up (10.20, docs/aws-decisions.md).
"""

from __future__ import annotations

import hashlib

from netemu.model.types import DhcpOptions, Model, Vpc
from netemu.model.validate_dhcp_options import name_servers


def options_of(model: Model, vpc: Vpc) -> DhcpOptions | None:
    """The VPC's own set; None for the Region's default set."""
    return model.dhcp_options.get(vpc.dhcp_options) if vpc.dhcp_options else None


def server_lines(options: DhcpOptions, vpc: Vpc) -> list[str]:
    """dnsmasq `dhcp-option` lines of a set (values were validated: addresses and domain
    names only, nothing that can end a line or split a value)."""
    lines: list[str] = []
    dns = name_servers(options, vpc.dns_ip)
    if dns:
        lines.append(f"dhcp-option=option:dns-server,{','.join(dns)}")
    if options.domain_name:
        lines.append(f"dhcp-option=option:domain-name,{options.domain_name}")
    if options.ntp_servers:
        lines.append(f"dhcp-option=option:ntp-server,{','.join(map(str, options.ntp_servers))}")
    if options.netbios_name_servers:
        servers = ",".join(map(str, options.netbios_name_servers))
        lines.append(f"dhcp-option=option:netbios-ns,{servers}")
    if options.netbios_node_type is not None:
        lines.append(f"dhcp-option=option:netbios-nodetype,{options.netbios_node_type}")
    return lines


def client_args(options: DhcpOptions | None) -> tuple[str, ...]:
    """What the instance's client asks for beyond the default set's options."""
    return () if options is None else ("-O", "ntpsrv")


def client_env(options: DhcpOptions | None) -> tuple[tuple[str, str], ...]:
    """The set's id and a digest of its options: another set, or the same set's options
    changed in the file (a new set on AWS, 10.20), makes the client run again at apply."""
    if options is None:
        return ()
    digest = hashlib.sha256(repr(options).encode()).hexdigest()[:12]
    return (("NETEMU_DHCP_OPTIONS", f"{options.id} {digest}"),)
