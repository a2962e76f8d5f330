"""The emulated internet: drops to addresses nobody announces, named so probes can tell."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.render import names as n
from netemu.render import nft
from netemu.render.plan import Ruleset


def render(model: Model) -> list[Ruleset]:
    cmds = [
        nft.add_table(),
        nft.add_chain("internet", "prerouting", 0),
        # The internet's own resolver (render.dns) is an address of this namespace.
        nft.add_rule("internet", nft.fib_local(), nft.ACCEPT, comment="the internet's own address"),
        nft.add_drop(
            "internet",
            nft.fib_no_route(policy=False),
            why="internet no route to the destination",
            # Refined from the model when the address belongs to a VPC (probe.reason).
            drop=nft.Drop("NO_ROUTE_TO_DESTINATION", "internet", "egress"),
        ),
    ]
    return [Ruleset(n.internet_ns(model.name), tuple(cmds))]
