"""What `netemu apply` does with VPC endpoints, in AWS terms (Create, Modify,
DeleteVpcEndpoints; ref 17.1-17.3); the kernel side is the endpoint's cable and routes
(render.vpc_endpoints), which the plan diff makes."""

from __future__ import annotations

from netemu.model.types import Model
from netemu.ops.words import Change, _c


def changes(old: Model, new: Model) -> list[Change]:
    out: list[Change] = []
    for name, ep in new.vpc_endpoints.items():
        res = f"vpc_endpoint:{name}"
        was = old.vpc_endpoints.get(name)
        what = f"{ep.vpc_endpoint_type.lower()} vpc endpoint {name} ({ep.service_name})"
        if was is None or (was.vpc, was.service_name, was.vpc_endpoint_type) != (
            ep.vpc,
            ep.service_name,
            ep.vpc_endpoint_type,
        ):
            if was is not None:
                out.append(_c("delete", res, f"delete vpc endpoint {name}"))
            out.append(_c("create", res, f"create {what} in vpc {ep.vpc}"))
            continue
        for kind, before, after in (
            ("route table", was.route_table_ids, ep.route_table_ids),
            ("subnet", was.subnet_ids, ep.subnet_ids),
        ):
            for x in after:
                if x not in before:
                    out.append(_c("modify", res, f"modify vpc endpoint {name}: add {kind} {x}"))
            for x in before:
                if x not in after:
                    out.append(_c("modify", res, f"modify vpc endpoint {name}: remove {kind} {x}"))
        if (was.security_group_ids, was.private_dns_enabled) != (
            ep.security_group_ids,
            ep.private_dns_enabled,
        ):
            out.append(_c("modify", res, f"modify vpc endpoint {name}: groups, private DNS"))
    for name in old.vpc_endpoints:
        if name not in new.vpc_endpoints:
            out.append(_c("delete", f"vpc_endpoint:{name}", f"delete vpc endpoint {name}"))
    return out
