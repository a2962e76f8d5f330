"""Random junk, as text or as scenario-shaped YAML, ends in a Model or ScenarioInvalid only."""

from __future__ import annotations

import contextlib
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netemu.errors import ScenarioInvalid
from netemu.model import load_model_text
from netemu.scenario import load_text

KEYS = [
    "name", "region", "vpcs", "internet_gateways", "subnets", "route_tables", "nat_gateways",
    "security_groups", "network_acls", "instances", "internet", "expect", "cidr", "vpc",
    "default", "azs", "dns_hostnames", "default_security_group", "default_network_acl",
    "subnet", "az", "public_ip_on_launch", "route_table", "network_acl", "main", "routes",
    "destination", "internet_gateway", "nat_gateway", "instance", "blackhole", "elastic_ip",
    "private_ip", "ingress", "egress", "protocol", "port", "ports", "icmp_type", "icmp_code",
    "security_group", "description", "rule", "action", "public_ip", "security_groups",
    "services", "source_dest_check", "state", "public_pool", "hosts", "ip", "from", "to",
    "tcp", "udp", "icmp", "result", "reason", "seen_source", "source_port",
    "main", "web", "db", "igw", "nat", "a", "pub", "x",
]  # fmt: skip
VALUES = [
    "10.0.0.0/16", "10.0.0.0/24", "10.0.0.5", "172.31.0.0/16", "0.0.0.0/0", "203.0.113.7",
    "198.51.100.10", "10.0.0.1/16", "tcp", "udp", "icmp", "all", "-1", "auto", "ssh", "http",
    "tcp:80", "udp:53", "a", "b", "main", "web", "igw", "nat", "pub", "default", "allow",
    "deny", "reachable", "blocked", "running", "stopped", "1024-65535", "70000", "nat",
    "public_ip", "ENI_SG_RULES_MISMATCH", "us-east-1a", "é", "\x07", "",
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(VALUES),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
    st.text(max_size=8),
)


def _tree(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), children, max_size=5),
    )


trees = st.recursive(scalars, _tree, max_leaves=40)
scenario_like = st.dictionaries(st.sampled_from(KEYS), trees, max_size=8)


def _accepts_or_rejects(text: str) -> None:
    try:
        load_model_text(text)
    except ScenarioInvalid as e:
        assert e.problems, "ScenarioInvalid must carry at least one problem"
        for p in e.problems:
            str(p).encode("utf-8")  # printable by the CLI


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text_only_raises_scenario_invalid(text: str) -> None:
    _accepts_or_rejects(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_like)
def test_random_scenario_shaped_yaml_only_raises_scenario_invalid(data: dict[str, Any]) -> None:
    _accepts_or_rejects(yaml.safe_dump(data, allow_unicode=True))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_as_text_only_raise_scenario_invalid(data: bytes) -> None:
    with contextlib.suppress(ScenarioInvalid):
        load_text(data.decode("latin-1"))


def _mutations() -> st.SearchStrategy[str]:
    with open("tests/unit/data/webdb.yaml", encoding="utf-8") as f:
        lines = f.read().splitlines()
    return st.lists(
        st.tuples(st.integers(0, len(lines) - 1), st.sampled_from([*VALUES, "[", "{", ":", "- "])),
        min_size=1,
        max_size=4,
    ).map(lambda edits: _apply(lines, edits))


def _apply(lines: list[str], edits: list[tuple[int, str]]) -> str:
    out = list(lines)
    for index, value in edits:
        line = out[index]
        if ":" in line:  # replace a value, keeping the key
            key = line.split(":", 1)[0]
            out[index] = f"{key}: {value}"
        else:
            out[index] = line + value
    return "\n".join(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_mutated_webdb_only_raises_scenario_invalid(text: str) -> None:
    _accepts_or_rejects(text)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


with open("tests/unit/data/webdb.yaml", encoding="utf-8") as _f:
    WEBDB = yaml.safe_load(_f)
PATHS = _paths(WEBDB)


def _replaced(edits: list[tuple[tuple[Any, ...], Any, bool]]) -> str:
    data = yaml.safe_load(yaml.safe_dump(WEBDB))
    for path, value, delete in edits:
        parent = data
        try:
            for step in path[:-1]:
                parent = parent[step]
            if delete and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit changed the shape
    return yaml.safe_dump(data, allow_unicode=True)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), trees, st.booleans()), min_size=1, max_size=3))
def test_webdb_with_random_values_only_raises_scenario_invalid(
    edits: list[tuple[tuple[Any, ...], Any, bool]],
) -> None:
    _accepts_or_rejects(_replaced(edits))
