"""Stopping and starting instances of a running scenario (ref 9.2, 9.3).

A stopped instance keeps its ENI and private address (9.2); an auto-assigned public IPv4
is released at stop and a new one given at start, while an elastic IP stays (9.3). What
changed is kept as overrides in the state file, applied on top of the scenario each time the
running model is read, and the kernel follows by reloading the affected rules atomically.
"""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address
from typing import Any, Literal

from netemu.driver import state as st
from netemu.errors import UsageError
from netemu.model.types import Instance, Model


def apply_overrides(model: Model, overrides: dict[str, dict[str, Any]]) -> Model:
    """The model as stop/start left it: each override sets an instance's state and public IP."""
    if not overrides:
        return model
    instances = dict(model.instances)
    for name, o in overrides.items():
        inst = instances.get(name)
        if inst is None:
            continue
        public = IPv4Address(o["public_ip"]) if o.get("public_ip") else None
        eni = dataclasses.replace(inst.eni, public_ip=public)
        instances[name] = dataclasses.replace(inst, state=o["state"], eni=eni)
    return dataclasses.replace(model, instances=instances)


def _next_public_ip(model: Model, released: IPv4Address | None) -> IPv4Address:
    """A new auto-assigned public IP: the lowest free pool address other than the one the
    instance just gave back, so that the change is visible as on AWS."""
    used = {e.public_ip for e in model.enis() if e.public_ip}
    used |= {h.ip for h in model.internet_hosts.values()}
    if released:
        used.add(released)
    # Imported here: the validators (and the YAML parser behind them) are not needed by
    # the commands that only read a running scenario (`netemu probe`, issue 21).
    from netemu.model.validate_enis import pool_addresses

    for ip in pool_addresses(model.public_pool, used):
        return ip
    raise UsageError(f"public_pool {model.public_pool} has no free address left")


def change(
    model: Model, state: st.State, name: str, target: Literal["running", "stopped"]
) -> tuple[Model, Instance]:
    """The model after `name` goes to `target`; records the override in `state`."""
    inst = model.instances.get(name)
    if inst is None:
        raise UsageError(f"no instance named '{name}' (instances: {', '.join(model.instances)})")
    if inst.state == target:
        raise UsageError(f"instance '{name}' is already {target}")
    public = inst.eni.public_ip
    if not inst.eni.elastic_ip:
        if target == "stopped":
            public = None
        elif public is not None or state.overrides.get(name, {}).get("had_public_ip", False):
            released = state.overrides.get(name, {}).get("released")
            public = _next_public_ip(model, IPv4Address(released) if released else public)
    override = dict(state.overrides.get(name, {}))
    if target == "stopped" and not inst.eni.elastic_ip:
        override["had_public_ip"] = inst.eni.public_ip is not None
        override["released"] = str(inst.eni.public_ip) if inst.eni.public_ip else None
    override.update(state=target, public_ip=str(public) if public else None)
    state.overrides[name] = override
    new_model = apply_overrides(model, {name: override})
    return new_model, new_model.instances[name]
