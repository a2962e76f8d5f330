"""Model -> Plan: the kernel objects a scenario needs, computed without touching the kernel."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.render import internet, internet_gateway, nat_gateway, route_table, subnet, topology
from netemu.render.plan import Plan


def render(model: Model) -> Plan:
    links, addresses, routes = topology.wiring(model)
    table_routes, rules, router_rulesets = route_table.render(model)
    rulesets = (
        subnet.render(model)
        + router_rulesets
        + internet_gateway.render(model)
        + nat_gateway.render(model)
        + internet.render(model)
    )
    return Plan(
        scenario=model.name,
        namespaces=tuple(topology.namespaces(model)),
        links=tuple(links),
        addresses=tuple(addresses),
        routes=tuple(routes + table_routes),
        rules=tuple(rules),
        rulesets=tuple(rulesets),
    )
