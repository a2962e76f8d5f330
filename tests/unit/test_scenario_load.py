"""netemu.scenario: YAML -> Nodes with positions; every bad file becomes a Problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from netemu.errors import Problem, ScenarioInvalid
from netemu.model import load_model_text
from netemu.scenario import MAX_FILE_BYTES, Node, load, load_text
from tests.unit.problems import at as _at


def _yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _problem(text: str) -> Problem:
    with pytest.raises(ScenarioInvalid) as caught:
        load_text(_yaml(text), "s.yaml")
    assert len(caught.value.problems) == 1, caught.value
    return caught.value.problems[0]


def test_positions_of_keys_and_values_are_one_based() -> None:
    root = load_text(
        _yaml("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
    """)
    )
    assert isinstance(root.value, dict)
    vpcs = root.value["vpcs"]
    assert vpcs.key_pos is not None and (vpcs.key_pos.line, vpcs.key_pos.col) == (1, 1)
    assert isinstance(vpcs.value, dict)
    main = vpcs.value["main"]
    assert main.key_pos is not None and (main.key_pos.line, main.key_pos.col) == (2, 3)
    assert isinstance(main.value, dict)
    cidr = main.value["cidr"]
    assert (cidr.pos.line, cidr.pos.col) == (2, 16)
    assert cidr.key_pos is not None and (cidr.key_pos.line, cidr.key_pos.col) == (2, 10)
    assert (cidr.value, cidr.tag) == ("10.0.0.0/16", "str")


def test_scalars_keep_their_text_and_yaml_type() -> None:
    root = load_text("a: 0x1F\nb: yes\nc: '22'\nd: 1:30\ne:\n")
    assert isinstance(root.value, dict)
    got = {k: (n.value, n.tag) for k, n in root.value.items()}
    assert got == {
        "a": ("0x1F", "int"),
        "b": ("yes", "bool"),
        "c": ("22", "str"),
        "d": ("1:30", "int"),  # YAML 1.1 sexagesimal; the resolver refuses it as a port
        "e": ("", "null"),
    }


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    p = _problem("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
          main: {cidr: 10.1.0.0/16}
    """)
    assert _at(p) == "3:3"
    assert "duplicate key 'main' (first at line 2)" in p.message


def test_yaml_syntax_error_reports_yamls_position() -> None:
    p = _problem("""
        vpcs:
          main: {cidr: 10.0.0.0/16
        subnets: {}
    """)
    assert p.message.startswith("YAML syntax error")
    assert p.pos is not None and p.pos.line == 3


def test_tab_indentation_is_a_syntax_error_not_an_exception() -> None:
    p = _problem("vpcs:\n\tmain: 1\n")
    assert _at(p) == "2:1"
    assert "YAML syntax error" in p.message


def test_control_character_is_reported_with_position() -> None:
    p = _problem("name: a\x01b\n")
    assert _at(p) == "1:8"
    assert "U+0001" in p.message


def test_alias_bomb_is_stopped_by_the_node_budget() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(ScenarioInvalid) as caught:
        load_text("\n".join(lines))
    assert "after expanding aliases" in caught.value.problems[0].message


def test_recursive_alias_is_refused() -> None:
    p = _problem("a: &x [1, *x]\n")
    assert "recursive YAML alias" in p.message


def test_aliases_and_merge_keys_are_expanded() -> None:
    model, _ = load_model_text(
        _yaml("""
        vpcs:
          main: {cidr: 10.0.0.0/16}
        subnets:
          a: &sub {vpc: main, cidr: 10.0.1.0/24, az: b}
          b: {<<: *sub, cidr: 10.0.2.0/24}
        """)
    )
    assert model.subnets["b"].az == "us-east-1b"
    assert str(model.subnets["b"].cidr) == "10.0.2.0/24"


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    p = _problem("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nesting deeper than" in p.message


def test_custom_tags_are_refused_and_never_constructed() -> None:
    p = _problem("name: !!python/object/apply:os.system ['true']\n")
    assert _at(p) == "1:7"
    assert "custom YAML tags" in p.message


def test_second_document_is_an_error() -> None:
    p = _problem("a: 1\n---\nb: 2\n")
    assert "YAML syntax error" in p.message


def test_empty_text_gives_a_null_node() -> None:
    node = load_text("# nothing\n")
    assert isinstance(node, Node) and node.tag == "null"


def test_non_utf8_file_is_refused_with_position(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ScenarioInvalid) as caught:
        load(str(path))
    p = caught.value.problems[0]
    assert _at(p) == "1:10"
    assert "not valid UTF-8" in p.message


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 10))
    with pytest.raises(ScenarioInvalid) as caught:
        load(str(path))
    assert "larger than" in caught.value.problems[0].message


def test_missing_file_is_a_problem_not_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        load(str(tmp_path / "nope.yaml"))
    p = caught.value.problems[0]
    assert "cannot read the scenario file" in p.message
    assert str(p).startswith(str(tmp_path / "nope.yaml") + ": error:")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: x\n")
    node = load(str(path))
    assert isinstance(node.value, dict) and node.value["name"].value == "x"
