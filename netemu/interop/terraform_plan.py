"""Values of a Terraform resource, with a plan's unknowns filled in.

In `terraform show -json` of a plan, values known only after apply (ids, addresses) are
absent. Ids are derived from the resource address, like `vpc-` + hash, and an attribute
that refers to another resource (`vpc_id = aws_vpc.main.id`) is resolved through the
plan's `configuration` to that resource's (derived) id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

Json = dict[str, Any]
_PREFIX = {
    "aws_vpc": "vpc",
    "aws_default_vpc": "vpc",
    "aws_subnet": "subnet",
    "aws_default_subnet": "subnet",
    "aws_route_table": "rtb",
    "aws_default_route_table": "rtb",
    "aws_internet_gateway": "igw",
    "aws_nat_gateway": "nat",
    "aws_eip": "eipalloc",
    "aws_security_group": "sg",
    "aws_default_security_group": "sg",
    "aws_network_acl": "acl",
    "aws_default_network_acl": "acl",
    "aws_instance": "i",
    "aws_network_interface": "eni",
    "aws_vpc_peering_connection": "pcx",
    "aws_vpc_endpoint": "vpce",
    "aws_egress_only_internet_gateway": "eigw",
}
_INDEX = re.compile(r"\[[^\]]*\]")


def derived_id(resource_type: str, address: str) -> str:
    prefix = _PREFIX.get(resource_type, "r")
    return f"{prefix}-{hashlib.sha256(address.encode()).hexdigest()[:17]}"


class Resolver:
    def __init__(self, plan: Mapping[str, Any] | None, resources: list[Mapping[str, Any]]) -> None:
        self.plan = plan
        self.by_address = {str(r["address"]): r for r in resources}
        self.expressions: dict[str, Mapping[str, Any]] = {}  # config address -> expressions
        if plan is not None:
            root = (plan.get("configuration") or {}).get("root_module") or {}
            for prefix, module in _modules(root, ""):
                for res in module.get("resources") or []:
                    self.expressions[prefix + str(res["address"])] = res.get("expressions") or {}

    def values(self, r: Mapping[str, Any]) -> Json:
        v: Json = dict(r.get("values") or {})
        address = str(r["address"])
        if not v.get("id"):
            v["id"] = derived_id(str(r["type"]), address)
        if self.plan is None:
            return v
        exprs = self.expressions.get(_INDEX.sub("", address), {})
        for key, expr in exprs.items():
            if v.get(key) in (None, "", []):
                resolved = self._resolve(expr, address)
                if resolved is not None:
                    v[key] = resolved
        return v

    def _resolve(self, expr: Any, address: str) -> Any:
        if isinstance(expr, list):  # a list of references: [aws_security_group.web.id, ...]
            ids = [self._resolve(e, address) for e in expr]
            return [i for i in ids if isinstance(i, str)] or None
        if not isinstance(expr, dict):
            return None
        for ref in expr.get("references") or []:
            target = self._target(str(ref), address)
            if target is not None:
                return target
        return None

    def _target(self, ref: str, address: str) -> str | None:
        """`aws_vpc.main.id` -> the id of aws_vpc.main, in the referring module; a counted
        target takes the referring resource's index (`aws_subnet.public[count.index]`)."""
        module = address[: address.rfind("aws_")] if "aws_" in address else ""
        base = ref.removesuffix(".id")
        index = re.search(r"\[[^\]]*\]$", address)  # the referring resource's own index
        for candidate in (module + base, module + base + (index[0] if index else "")):
            r = self.by_address.get(candidate)
            if r is not None:
                found = (r.get("values") or {}).get("id")
                return str(found) if found else derived_id(str(r["type"]), candidate)
        return None


def _modules(module: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield prefix, module
    for name, call in (module.get("module_calls") or {}).items():
        yield from _modules(call.get("module") or {}, f"{prefix}module.{name}.")
