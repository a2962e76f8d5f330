"""Golden tests: each shipped scenario renders to exactly the plan stored beside this file.

A change that alters the kernel objects of a shipped scenario shows up here as a diff of
plain JSON. After checking the diff is intended, regenerate with
`NETEMU_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_render_golden.py`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from netemu.model import load_model
from netemu.render import render

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
SCENARIOS = sorted((ROOT / "scenarios" / "book").glob("*.yaml"))


def plan_json(path: Path) -> dict[str, Any]:
    model, _ = load_model(str(path.relative_to(ROOT)))
    plan = dataclasses.asdict(render(model))
    # File contents are long; their names and sizes are enough to notice a change here,
    # the renderers' own unit tests check what is inside.
    plan["files"] = [
        {"path": f["path"], "mode": f["mode"], "lines": f["content"].count("\n")}
        for f in plan["files"]
    ]
    return plan


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_renders_to_its_golden_plan(
    scenario: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    # The interpreter and checkout paths differ between machines; the plan's shape does not.
    text = json.dumps(plan_json(scenario), sort_keys=True)
    text = text.replace(sys.executable, "<python>").replace(str(ROOT), "<checkout>")
    got = json.loads(text)
    golden = GOLDEN / f"{scenario.stem}.json"
    if os.environ.get("NETEMU_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert golden.exists(), (
        f"no golden plan {golden.name}: review the plan, then write it with "
        "NETEMU_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_render_golden.py"
    )
    assert got == json.loads(golden.read_text())
