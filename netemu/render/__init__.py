"""Model -> Plan: the kernel objects a scenario needs, computed without touching the kernel."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.render import (
    dhcp,
    dns,
    internet,
    internet_gateway,
    nat_gateway,
    route_table,
    servers,
    services,
    subnet,
    topology,
)
from netemu.render.plan import Plan


def render(model: Model) -> Plan:
    links, addresses, routes = topology.wiring(model)
    table_routes, rules, router_rulesets = route_table.render(model)
    dhcp_files, dhcp_processes = dhcp.render(model)  # a server per subnet, a client per instance
    dns_files, dns_processes, dns_addresses = dns.render(model)  # resolvers at VPC base+2
    rulesets = (
        subnet.render(model)
        + router_rulesets
        + internet_gateway.render(model)
        + nat_gateway.render(model)
        + internet.render(model)
    )
    plan = Plan(
        scenario=model.name,
        namespaces=tuple(topology.namespaces(model)),
        links=tuple(links),
        addresses=tuple(addresses + dns_addresses),
        routes=tuple(routes + table_routes),
        rules=tuple(rules),
        rulesets=tuple(rulesets),
        files=tuple(dhcp_files + dns_files),
        processes=tuple(dns_processes + dhcp_processes),
    )
    plan = services.add(model, plan)  # service daemon, sshd, keys, metadata address
    return servers.add(model, plan)  # mariadb, nginx, user data of running instances
