"""JUnit XML for CI: one test case per expectation, named like `client -> web tcp/22 reachable`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from netemu.probe.expect import Outcome


def write(path: str, scenario: str, outcomes: list[Outcome]) -> None:
    failures = sum(not o.ok for o in outcomes)
    total_ms = sum(o.result.elapsed_ms for o in outcomes)
    suite = ET.Element(
        "testsuite",
        name=f"netemu.{scenario}",
        tests=str(len(outcomes)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{total_ms / 1000:.3f}",
    )
    for o in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"netemu.{scenario}",
            name=o.title,
            time=f"{o.result.elapsed_ms / 1000:.3f}",
        )
        if not o.ok:
            failure = ET.SubElement(case, "failure", message=o.why, type="ExpectationFailed")
            failure.text = json.dumps(o.to_json(), indent=1)
    tree = ET.ElementTree(suite)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
