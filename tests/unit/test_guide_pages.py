"""The guide without root: both languages have the same pages and the same commands in the
same order, every stage scenario validates, every lab a page points at exists, the README
links both languages near its top, and the doctest matcher notices drift."""

from __future__ import annotations

import re

import pytest

from netemu.lab_catalog import all_labs
from netemu.model import load_model
from tests.guidedoc import GUIDE, ROOT, matches, pages, steps

SCENARIOS = sorted((GUIDE / "scenarios").glob("*.yaml"))
STAGES = 10  # the stages the issue lists, one page each, and the same with the AWS CLI
AWS_CLI_PAGE = "10-aws-cli.md"


def test_both_languages_have_the_same_pages_and_an_index() -> None:
    en = [p.name for p in pages("en")]
    ja = [p.name for p in pages("ja")]
    assert en == ja
    assert len(en) == STAGES
    assert (GUIDE / "en" / "README.md").is_file() and (GUIDE / "ja" / "README.md").is_file()


@pytest.mark.parametrize("name", [p.name for p in pages("en")])
def test_both_languages_run_the_same_commands_in_the_same_order(name: str) -> None:
    en = [s.comparable for s in steps(GUIDE / "en" / name)]
    ja = [s.comparable for s in steps(GUIDE / "ja" / name)]
    assert en == ja
    if name == AWS_CLI_PAGE:
        assert any(c.startswith("aws ec2 ") for c in en), "the API page calls aws ec2"
        assert any(re.match(r"sudo netemu serve .*&$", c) for c in en), "against netemu serve"
    else:
        assert any("netemu apply" in c for c in en), "each stage applies its scenario"
    assert any(re.search(r"netemu (probe|ssh|exec|test)", c) for c in en), "and watches packets"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_page_has_the_four_parts_and_points_at_an_existing_lab(lang: str) -> None:
    labs = {lab.number for lab in all_labs()}
    for page in pages(lang):
        text = page.read_text(encoding="utf-8")
        assert len(re.findall(r"^## [1-4]\. ", text, re.M)) == 4, page
        pointed = set(re.findall(r"netemu lab start (\d\d)", text))
        assert pointed and pointed <= labs, page


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_every_stage_scenario_validates(path: object) -> None:
    model, _ = load_model(str(path))
    assert model.name in ("guide", "guide1")


def test_the_pages_use_only_the_shipped_stage_files() -> None:
    used = {
        m
        for lang in ("en", "ja")
        for page in pages(lang)
        for s in steps(page)
        for m in re.findall(r"docs/guide/scenarios/(stage\d\d\.yaml)", s.command)
    }
    assert used == {p.name for p in SCENARIOS}


def test_readme_links_the_guide_in_both_languages_on_its_first_screen() -> None:
    top = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:25])
    assert "docs/guide/ja/README.md" in top and "docs/guide/en/README.md" in top


def test_the_matcher_takes_ellipsis_and_whitespace_runs_and_catches_drift() -> None:
    assert matches('{"port": ..., "path": "/"}', '{"port": 41234, "path": "/"}')
    assert matches("eth0@...  UP  10.0.0.4/24", "eth0@if7    UP             10.0.0.4/24 \n")
    assert matches("...\nlast line", "first\nsecond\nlast line")
    assert not matches("REACHABLE", "BLOCKED")
    assert not matches("a\nb", "a\nb\nc")
    assert not matches("", "unexpected output")


def test_a_variable_one_command_sets_is_there_for_the_next() -> None:
    from tests.guidedoc import Shell, Step

    shell = Shell()
    try:
        assert shell.run(Step("t", 1, "VPC=$(echo vpc-1)", ""))[1] == 0
        assert shell.run(Step("t", 2, "export REGION=ap-northeast-1", ""))[1] == 0
        out, status = shell.run(Step("t", 3, 'echo $VPC; sh -c "echo \\$REGION"', ""))
        assert (out, status) == ("vpc-1\nap-northeast-1\n", 0)
        assert shell.run(Step("t", 4, "false", ""))[1] == 1
    finally:
        shell.close()
