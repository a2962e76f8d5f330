"""A multi-homed instance: its secondary ENIs and secondary private IPs inside its namespace
(ref 9.20-9.23).

What the guest OS does here is the guest's choice on AWS; netemu does what Amazon Linux 2023
does (amazon-ec2-net-utils, ref 9.23), so that an answer leaves by the ENI it came in on:
- the primary ENI (eth0) takes its address and default route by DHCP (render.dhcp);
- a secondary ENI (eth1, eth2 by device index) is configured statically: its primary
  address without a prefix route in the main table, its subnet and a default route via its
  subnet's base+1 in table 10000+N, and a rule `from ADDRESS lookup 10000+N` (priority
  10000+N) for each of its addresses;
- every secondary private IP is an extra /32 address on its ENI's interface (AL2023 adds
  them the same way), so the address the DHCP lease brought stays the one the instance
  sends from.
Amazon Linux 2023 also puts a default route with metric 522 via a secondary ENI into the
main table; netemu leaves it out, so traffic the instance itself starts always leaves by
eth0 (docs/aws-decisions.md).
"""

from __future__ import annotations

from netemu.model.types import Model
from netemu.render import names as n
from netemu.render.plan import Address, Route, Rule


def table(device_index: int) -> int:
    return n.ENI_TABLE_BASE + device_index


def wiring(model: Model) -> tuple[list[Address], list[Route], list[Rule]]:
    """Addresses, routes and source rules inside instances' namespaces."""
    addrs: list[Address] = []
    routes: list[Route] = []
    rules: list[Rule] = []
    for eni in model.enis():
        if eni.owner_kind != "instance":
            continue
        ns, ifname = n.instance_ns(model.name, eni.owner), n.eni_if(eni.device_index)
        for ip in eni.secondary_private_ips:
            addrs.append(Address(ns, ifname, f"{ip}/32"))
        if eni.device_index == 0:
            continue  # DHCP configures the primary ENI; the main table is its (ref 10.1)
        sub = model.subnets[eni.subnet]
        if sub.cidr is None or eni.private_ip is None:
            continue  # refused by validation (model.validate_network_interfaces)
        t = table(eni.device_index)
        addrs.append(
            Address(ns, ifname, f"{eni.private_ip}/{sub.cidr.prefixlen}", noprefixroute=True)
        )
        routes.append(Route(ns, str(sub.cidr), dev=ifname, table=t))
        # onlink: the kernel checks a gateway against the main table, where this ENI's
        # subnet has no route (its address is added without one).
        routes.append(
            Route(ns, "0.0.0.0/0", via=str(sub.router_ip), dev=ifname, table=t, onlink=True)
        )
        for ip in eni.private_ips:
            rules.append(Rule(ns, t, t, src=f"{ip}/32"))
    return addrs, routes, rules
