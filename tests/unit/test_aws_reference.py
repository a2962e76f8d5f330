"""Every `ref N.M` that netemu's messages, code, docs and tests cite resolves in
docs/aws-reference.md, and every fact there names the AWS page it comes from (issue 11)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
REFERENCE = ROOT / "docs" / "aws-reference.md"
CITED = re.compile(r"\bref(?: section)? (\d+(?:\.\d+)?)\b")


def _defined() -> tuple[set[str], dict[str, str]]:
    text = REFERENCE.read_text()
    sections = set(re.findall(r"^## (\d+)\. ", text, re.M))
    facts = dict(re.findall(r'^- <a id="ref-(\d+\.\d+)"></a>(.*)$', text, re.M))
    return sections, facts


def _cited() -> dict[str, set[str]]:
    """Number -> the files citing it: `ref N.M` / `ref section N` in text, and the `ref`
    argument of every `aws(rule, ref)` message in the code."""
    out: dict[str, set[str]] = {}
    files = [*ROOT.joinpath("netemu").rglob("*.py"), *ROOT.joinpath("docs").glob("*.md")]
    files += ROOT.joinpath("tests").rglob("test_*.py")  # tests cite facts as `ref N.M` too
    for path in [*files, ROOT / "README.md"]:
        if path == REFERENCE:
            continue
        text = path.read_text()
        for number in CITED.findall(text):
            out.setdefault(number, set()).add(path.name)
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "aws"
                and len(node.args) == 2
                and isinstance(node.args[1], ast.Constant)
            ):
                for number in str(node.args[1].value).split(","):  # "4.1, 4.2"
                    out.setdefault(number.strip(), set()).add(path.name)
    return out


def test_every_cited_reference_is_defined() -> None:
    sections, facts = _defined()
    cited = _cited()
    assert len(cited) > 30  # the collection works: messages cite dozens of facts
    missing = {n: sorted(w) for n, w in cited.items() if n not in facts and n not in sections}
    assert missing == {}


def test_every_fact_names_its_aws_source() -> None:
    _, facts = _defined()
    assert len(facts) > 100
    unsourced = [
        n for n, text in facts.items() if "https://" not in text and not n.startswith("14.")
    ]
    assert unsourced == []
