"""`netemu test --html`: a self-contained report (no external resources) with the diagram
and each expectation's verdict, path and reason. Outcomes are built by hand here; the
kernel test runs the real command."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from netemu.model import load_model
from netemu.probe.engine import ProbeResult, ProbeSpec
from netemu.probe.expect import Outcome
from netemu.probe.reason import Reason
from netemu.views import html

ROOT = Path(__file__).resolve().parents[2]


def outcomes() -> tuple[html.Model, list[Outcome]]:
    model, _ = load_model(str(ROOT / "scenarios" / "book" / "webdb.yaml"))
    ok, bad = model.expectations[0], model.expectations[1]
    reached = ProbeResult(
        ProbeSpec(ok.source, ok.destination, ok.protocol, ok.port),
        "198.51.100.10", "203.0.113.1", "reachable", "198.51.100.10", 40000,
        None, ["internet_host:internet", "internet", "internet_gateway:igw"], 3,
    )  # fmt: skip
    reason = Reason("ENI_SG_RULES_MISMATCH", "ingress", "security_group:default", None,
                    "request", "security_group:default ingress no rule matches")  # fmt: skip
    blocked = ProbeResult(
        ProbeSpec(bad.source, bad.destination, bad.protocol, bad.port),
        "198.51.100.10", "172.30.1.10", "blocked", None, None, reason,
        ["internet_host:internet", "internet", "internet_gateway:igw"], 5,
    )  # fmt: skip
    return model, [Outcome(ok, reached, True, ""), Outcome(bad, blocked, False, "expected x")]


def test_report_lists_every_expectation_with_verdict_path_and_reason() -> None:
    model, done = outcomes()
    doc = html.document(model, done, diagrams=False)
    assert "1 passed, 1 failed" in doc
    assert doc.count('<span class="PASS">') == 1 and doc.count('<span class="FAIL">') == 1
    assert "ENI_SG_RULES_MISMATCH" in doc and "expected x" in doc
    assert "internet_host:internet → internet → internet_gateway:igw" in doc


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_report_is_self_contained_with_inline_svg(tmp_path: Path) -> None:
    model, done = outcomes()
    out = tmp_path / "r.html"
    html.write(str(out), model, done)
    doc = out.read_text()
    assert doc.count("<svg") == 1 + len(done)  # the scenario, then each path drawn
    assert "<?xml" not in doc
    assert not re.search(r'(src|href)="(https?:)?//', doc), "nothing is fetched"
    assert "#D1242F" in doc.upper()  # the blocked path is drawn in red
