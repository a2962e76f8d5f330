"""AWS ids accepted wherever a name is: `netemu probe i-0abc… web` means instance web."""

from __future__ import annotations

from netemu.model.types import Model


def by_id(model: Model, ref: str) -> str:
    """The name of the instance, NAT gateway, ENI owner, subnet, VPC or table whose AWS id
    is `ref`; `ref` itself when it is a name already or no object has that id."""
    if ref in model.instances or ref in model.nat_gateways or ref in model.internet_hosts:
        return ref
    for inst in model.instances.values():
        if ref in (inst.id, inst.eni.id):
            return inst.name
    for nat in model.nat_gateways.values():
        if ref in (nat.id, nat.eni.id):
            return nat.name
    for objects in (model.subnets, model.vpcs, model.route_tables, model.network_acls):
        for obj in objects.values():
            if obj.id == ref:
                return obj.name
    return ref
