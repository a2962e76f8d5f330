"""The collector daemon in a scenario's plan, when the scenario has flow logs."""

from __future__ import annotations

import dataclasses
import os
import sys

from netemu.flowlogs import records
from netemu.model.types import Model
from netemu.render import names as n
from netemu.render.plan import Plan, Process

# Before every other daemon: accounting must be on in the subnets before traffic starts.
PHASE = -1


def add(model: Model, plan: Plan) -> Plan:
    """`plan` with the flow-log collector, if the scenario asks for flow logs."""
    if not model.flow_logs:
        return plan
    subnet = next((s for s in model.subnets if model.enis_in(s)), None)
    if subnet is None:
        return plan  # no ENI, nothing to log
    copy = "{state}/" + os.path.basename(model.source)  # the scenario as brought up
    collector = Process(
        n.subnet_ns(model.name, subnet),  # any scenario namespace: `down` stops it there
        "flow-log collector",
        (sys.executable, "-m", "netemu.flowlogs", "{state}", copy),
        phase=PHASE,
        ready_file=records.READY,
        dirs=(records.DIR,),
    )
    return dataclasses.replace(plan, processes=(collector, *plan.processes))
