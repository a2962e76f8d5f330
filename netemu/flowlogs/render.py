"""The collector daemon in a scenario's plan, when the scenario has flow logs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from typing import Any

from netemu.flowlogs import records
from netemu.model.types import Model
from netemu.render import names as n
from netemu.render.plan import File, Plan, Process

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
        (sys.executable, "-m", "netemu.flowlogs", "{state}", copy, "{state}/" + records.CONFIG),
        phase=PHASE,
        ready_file=records.READY,
        dirs=(records.DIR,),
    )
    # The collector knows the model it started with: a changed model (a flow log, ENI or
    # route added by `apply` or the API) changes this file, which restarts it (driver).
    config = File(records.CONFIG, json.dumps({"model": _digest(model)}) + "\n")
    return dataclasses.replace(
        plan, processes=(collector, *plan.processes), files=(*plan.files, config)
    )


def _digest(model: Model) -> str:
    """The model without file positions or its path: the same network, the same digest."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = dataclasses.fields(value)
            return [
                plain(getattr(value, f.name)) for f in fields if f.name not in ("pos", "source")
            ]
        if isinstance(value, dict):
            return [[plain(k), plain(v)] for k, v in value.items()]
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return repr(value)

    return hashlib.sha256(json.dumps(plain(model)).encode()).hexdigest()[:16]
