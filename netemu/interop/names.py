"""Scenario names for imported objects: the Name tag made valid and unique, else the AWS id."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from netemu.model.types import Service
from netemu.model.validate_fields import NAME_RE

# Not AWS attributes: kept as tags so that export then import gives back the same scenario.
SERVICES_TAG = "netemu:services"  # services run inside an instance
USER_DATA_TAG = "netemu:user_data"  # an instance's user data, base64 (UserData is an attribute)
IDLE_TIMEOUT_TAG = "netemu:idle_timeout"  # a NAT gateway's idle timeout when not 350 s
_BAD = re.compile(r"[^A-Za-z0-9_-]+")


def tag(obj: Mapping[str, Any], key: str = "Name") -> str | None:
    """A tag's value from `Tags` (or `TagSet`, used by ENIs, ref 11.9)."""
    for t in obj.get("Tags") or obj.get("TagSet") or []:
        if isinstance(t, dict) and t.get("Key") == key and isinstance(t.get("Value"), str):
            return str(t["Value"])
    return None


def clean(text: str) -> str:
    """Text made into a valid object name (letters, digits, '-', '_'; at most 32)."""
    name = _BAD.sub("-", text.strip()).strip("-_")
    return name[:32].rstrip("-_")


class Namer:
    """Hands out names unique within a namespace (e.g. instances, NAT gateways and internet
    hosts share one: expectations refer to all three by name)."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self.taken: set[str] = set(reserved)

    def name(self, wanted: str | None, fallback: str, forbidden_prefix: str = "") -> str:
        base = clean(wanted) if wanted else ""
        if not base or (forbidden_prefix and base.startswith(forbidden_prefix)):
            base = clean(fallback)
        if not NAME_RE.fullmatch(base):
            base = ("x" + base)[:32] if base else "x"
        name, n = base, 2
        while name in self.taken:
            suffix = f"-{n}"
            name = base[: 32 - len(suffix)] + suffix
            n += 1
        self.taken.add(name)
        return name


def service_text(s: Service) -> str:
    """A service without options as the scenario (and the netemu:services tag) writes it."""
    return s.kind if s.kind in ("ssh", "http", "nginx") else f"{s.kind}:{s.port}"


def service_spec(s: Service) -> str | dict[str, dict[str, str]]:
    """A service as the scenario writes it: a real server with options is a mapping."""
    return {s.kind: dict(s.settings)} if s.settings else service_text(s)


def services_tag(services: tuple[Service, ...]) -> str:
    """The netemu:services tag: `ssh,http,tcp:3306`, or JSON when a server has options."""
    specs = [service_spec(s) for s in services]
    if all(isinstance(x, str) for x in specs):
        return ",".join(str(x) for x in specs)
    return json.dumps(specs, separators=(",", ":"), sort_keys=True)


def services_of_tag(value: str) -> list[Any]:
    if value.lstrip().startswith("["):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, list) else []
    return [s.strip() for s in value.split(",") if s.strip()]
