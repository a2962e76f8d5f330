"""Whatever JSON a describe-* file holds, import answers with a scenario or a clear refusal,
never a traceback (project rule: bad input is a message and exit 2)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netemu.errors import ScenarioInvalid
from netemu.interop import describe_to_scenario, model_to_describe
from netemu.interop.describe_read import add_document
from netemu.interop.nodes import to_node
from netemu.interop.sources import describe_data
from netemu.interop.terraform_read import terraform_to_data
from netemu.interop.write_yaml import dump, header
from netemu.model import load_model, load_model_text
from netemu.model.resolve import resolve

ROOT = Path(__file__).resolve().parents[2]
BASE = describe_data(model_to_describe(load_model(str(ROOT / "scenarios/book/webdb.yaml"))[0]))
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.text(max_size=12)
    | st.sampled_from(["10.0.0.0/8", "-1", "tcp", "vpc-1", "", "0.0.0.0/0", "igw-x"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


PATHS = [p for p in _paths(BASE) if len(p) >= 2]


def _import(data: dict[str, Any]) -> None:
    checked: dict[str, list[dict[str, Any]]] = {}
    add_document(checked, json.loads(json.dumps(data)), "fuzz.json")
    scenario, notes = describe_to_scenario(checked, "fuzz")
    model, _ = resolve(to_node(scenario, "fuzz.yaml"), "fuzz.yaml")
    # what is written reads back as the same scenario
    again, _ = load_model_text(dump(scenario, header("fuzz", notes)), "fuzz.yaml")
    assert model_to_describe(again) == model_to_describe(model)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), JUNK, st.booleans()), min_size=1, max_size=3))
def test_a_mangled_snapshot_is_imported_or_refused_never_crashes(
    edits: list[tuple[tuple[Any, ...], Any, bool]],
) -> None:
    data = copy.deepcopy(BASE)
    for path, junk, delete in edits:
        parent: Any = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if delete and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = junk
        except (KeyError, IndexError, TypeError):
            continue
    try:
        _import(data)
    except ScenarioInvalid as e:
        assert e.problems and all(p.message for p in e.problems)


TF_BASE = json.loads((ROOT / "tests/unit/data/interop/terraform/state-webdb.json").read_text())
TF_PATHS = [p for p in _paths(TF_BASE) if len(p) >= 2]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TF_PATHS), JUNK), min_size=1, max_size=3))
def test_a_mangled_terraform_state_is_imported_or_refused_never_crashes(
    edits: list[tuple[tuple[Any, ...], Any]],
) -> None:
    data = copy.deepcopy(TF_BASE)
    for path, junk in edits:
        parent: Any = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = junk
        except (KeyError, IndexError, TypeError):
            continue
    try:
        found, _ = terraform_to_data(data, "tf.json")
        scenario, _ = describe_to_scenario(found, "fuzz")
        resolve(to_node(scenario, "fuzz.yaml"), "fuzz.yaml")
    except ScenarioInvalid as e:
        assert e.problems and all(p.message for p in e.problems)
