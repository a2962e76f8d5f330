"""Model -> Plan: the kernel objects a scenario needs, computed without touching the kernel."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.render.plan import Plan, Ruleset


def render(model: Model) -> Plan:
    # Imported here, not at the top: `from netemu.render import names` (every probe) would
    # otherwise import every renderer, a tenth of `netemu probe`'s start (issue 21).
    from netemu.flowlogs import render as flowlogs
    from netemu.render import (
        dhcp,
        dns,
        internet,
        internet_gateway,
        ipv6,
        nat_gateway,
        network_interfaces,
        route_table,
        servers,
        services,
        topology,
        transit_gateway,
        vpc_endpoints,
        vpc_peering,
    )

    links, addresses, routes = topology.wiring(model)
    peering_links, peering_addresses = vpc_peering.wiring(model)  # router to router (1.10)
    links += peering_links
    addresses += peering_addresses
    tgw_links, tgw_addresses = transit_gateway.wiring(model)  # gateway to VPC routers (18.2)
    links += tgw_links
    addresses += tgw_addresses
    vpce_links, vpce_addresses, vpce_routes, vpce_rules = vpc_endpoints.wiring(model)  # 17.2
    links, addresses, routes = links + vpce_links, addresses + vpce_addresses, routes + vpce_routes
    links6, addresses6, routes6 = ipv6.wiring(model)  # dual stack only (render.ipv6)
    links, addresses, routes = links + links6, addresses + addresses6, routes + routes6
    nic_addresses, nic_routes, nic_rules = network_interfaces.wiring(model)  # multi-homed (9.20)
    addresses, routes = addresses + nic_addresses, routes + nic_routes
    table_routes, rules, router_rulesets = route_table.render(model)
    tgw_routes, tgw_rules = transit_gateway.routes_and_rules(model)  # its route tables (18.3)
    table_routes, rules = table_routes + tgw_routes, rules + tgw_rules
    rules += nic_rules
    dhcp_files, dhcp_processes = dhcp.render(model)  # a server per subnet, a client per instance
    dns_files, dns_processes, dns_addresses = dns.render(model)  # resolvers at VPC base+2
    rulesets = (
        subnet_rulesets(model)
        + [
            _observed(rs)
            for rs in router_rulesets
            + internet_gateway.render(model)
            + nat_gateway.render(model)
            + internet.render(model)
            + ipv6.rulesets(model)
            + transit_gateway.rulesets(model)
        ]
        + vpc_endpoints.rulesets(model)
    )  # the services answer over the endpoint (17.2)
    plan = Plan(
        scenario=model.name,
        namespaces=tuple(ipv6.namespaces(model, topology.namespaces(model))),
        links=tuple(links),
        addresses=tuple(addresses + dns_addresses),
        routes=tuple(routes + table_routes),
        rules=tuple(rules + vpce_rules),
        rulesets=tuple(rulesets),
        files=tuple(dhcp_files + dns_files),
        processes=tuple(dns_processes + dhcp_processes),
    )
    plan = flowlogs.add(model, plan)  # the flow-log collector, with flow_logs only
    plan = services.add(model, plan)  # service daemon, sshd, keys, metadata address
    return servers.add(model, plan)  # mariadb, nginx, user data of running instances


def subnet_rulesets(model: Model) -> list[Ruleset]:
    """The subnets' rulesets (security groups, network ACLs) exactly as `render` places them,
    first in the plan: `apply` of a rule change renders only these."""
    from netemu.render import subnet

    return [_observed(rs) for rs in subnet.render(model)]


def _observed(rs: Ruleset) -> Ruleset:
    """Every namespace with AWS rules also logs the probe packets it sees (probe.engine)."""
    from netemu.render import nft

    return Ruleset(rs.ns, (*rs.commands, *nft.probe_hops()))
