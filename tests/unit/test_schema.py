"""`netemu schema`: the JSON Schema holds exactly the keys the validator accepts.

The validator's key lists are read from its source (every `check_keys` call in
netemu/model/), so a key added to the validator and not to the schema, or the other way
round, fails here. Shipped scenarios must satisfy the schema and carry its editor line.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from netemu.cli import main
from netemu.model.schema import schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "netemu" / "model"
SHIPPED = sorted(
    [
        *(ROOT / "scenarios" / "book").glob("*.yaml"),
        *(ROOT / "scenarios" / "labs").glob("*/scenario.yaml"),
        *(ROOT / "scenarios" / "labs").glob("*/solution.yaml"),
    ]
)

KeySet = tuple[frozenset[str], frozenset[str]]  # (allowed, required)


def _value(module: Any, node: ast.expr) -> tuple[str, ...]:
    if isinstance(node, ast.IfExp):  # conditionally required: the schema requires neither
        both = set(_value(module, node.body)) & set(_value(module, node.orelse))
        return tuple(sorted(both))
    if isinstance(node, ast.Name):
        return tuple(getattr(module, node.id))
    if isinstance(node, ast.Call) and isinstance(node.args[0], ast.Name):  # tuple(BOUNDS)
        return tuple(getattr(module, node.args[0].id))
    return tuple(ast.literal_eval(node))


def _call_key_sets(module: Any, args: list[ast.expr]) -> set[KeySet]:
    """One call's (allowed, required); a call indexing dicts of key lists by a variable
    (`SERVER_KEYS[kind]`) stands for every entry of the dicts."""
    if isinstance(args[0], ast.Subscript) and isinstance(args[0].value, ast.Name):
        allowed_of = getattr(module, args[0].value.id)
        required_of: dict[str, tuple[str, ...]] = {}
        if len(args) > 1 and isinstance(args[1], ast.Subscript):
            required_of = getattr(module, args[1].value.id)  # type: ignore[attr-defined]
        return {(frozenset(allowed_of[k]), frozenset(required_of.get(k, ()))) for k in allowed_of}
    allowed = _value(module, args[0])
    required = _value(module, args[1]) if len(args) > 1 else ()
    return {(frozenset(allowed), frozenset(required))}


def validator_key_sets() -> set[KeySet]:
    """(allowed, required) of every check_keys call in the validator's source."""
    found: set[KeySet] = set()
    for path in MODEL.glob("*.py"):
        module = importlib.import_module(f"netemu.model.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check_keys":
                found |= _call_key_sets(module, node.args[4:6])
    return found


def schema_key_sets(s: Any, out: set[KeySet] | None = None) -> set[KeySet]:
    """(properties, required) of every closed object in the schema."""
    out = set() if out is None else out
    if isinstance(s, dict):
        if s.get("additionalProperties") is False and "properties" in s:
            out.add((frozenset(s["properties"]), frozenset(s.get("required", ()))))
        for v in s.values():
            schema_key_sets(v, out)
    elif isinstance(s, list):
        for v in s:
            schema_key_sets(v, out)
    return out


def test_schema_objects_are_exactly_the_validators_key_lists() -> None:
    assert schema_key_sets(schema()) == validator_key_sets()


def test_every_validator_key_list_is_found_in_the_source() -> None:
    # guards the AST reading itself: the top level, instances and flow logs are among them
    allowed = {a for a, _ in validator_key_sets()}
    assert any({"vpcs", "flow_logs", "expect"} <= a for a in allowed)
    assert any({"subnet", "services"} <= a for a in allowed)
    assert len(allowed) >= 15


def _check(s: dict[str, Any], value: Any, where: str) -> list[str]:
    """A small JSON Schema checker for the keywords the schema uses."""
    errors: list[str] = []
    if "anyOf" in s:
        if all(_check(alt, value, where) for alt in s["anyOf"]):
            errors.append(f"{where}: matches no alternative")
        return errors
    if "enum" in s and value not in s["enum"]:
        errors.append(f"{where}: {value!r} not in {s['enum']}")
    kinds = s.get("type")
    if kinds is not None:
        names = kinds if isinstance(kinds, list) else [kinds]
        py = {
            "object": dict,
            "array": list,
            "string": str,
            "boolean": bool,
            "null": type(None),
            "integer": int,
            "number": (int, float),
        }
        ok = any(
            isinstance(value, py[n]) and not (n in ("integer", "number") and value is True)
            for n in names
        )
        if not ok:
            return [*errors, f"{where}: {value!r} is not {names}"]
    if isinstance(value, str) and "pattern" in s and not re.search(s["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {s['pattern']}")
    if isinstance(value, dict):
        props = s.get("properties", {})
        for key in s.get("required", ()):
            if key not in value:
                errors.append(f"{where}: missing {key}")
        for key, v in value.items():
            if "propertyNames" in s:
                errors += _check(s["propertyNames"], key, f"{where}/{key} (name)")
            if key in props:
                errors += _check(props[key], v, f"{where}/{key}")
            elif s.get("additionalProperties") is False:
                errors.append(f"{where}: unknown key {key}")
            elif isinstance(s.get("additionalProperties"), dict):
                errors += _check(s["additionalProperties"], v, f"{where}/{key}")
    if isinstance(value, list) and isinstance(s.get("items"), dict):
        for i, v in enumerate(value):
            errors += _check(s["items"], v, f"{where}/{i}")
    return errors


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_scenario_satisfies_the_schema_and_names_it(path: Path) -> None:
    import yaml

    assert _check(schema(), yaml.safe_load(path.read_text()), "") == []
    first = path.read_text().splitlines()[0]
    target = first.removeprefix("# yaml-language-server: $schema=")
    assert first != target, "the first line names the schema for editors"
    assert (path.parent / target).resolve() == ROOT / "scenarios" / "scenario.schema.json"


def test_schema_flags_a_typo_the_validator_also_refuses() -> None:
    doc = {"vpcs": {"main": {"cidr": "10.0.0.0/16", "cidr_blok": "x"}}}
    assert _check(schema(), doc, "") == ["/vpcs/main: unknown key cidr_blok"]


def test_shipped_schema_file_is_what_netemu_schema_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == schema_text()
    assert printed == (ROOT / "scenarios" / "scenario.schema.json").read_text()
    assert json.loads(printed)["properties"]["flow_logs"]["additionalProperties"]["required"] == [
        "resource"
    ]
