"""Helpers the validation tests share: the errors a scenario text yields, and where."""

from __future__ import annotations

import textwrap

import pytest

from netemu.errors import Problem, ScenarioInvalid
from netemu.model import load_model_text


def errors(text: str) -> list[Problem]:
    """Every error (not warning) of a scenario that must be refused."""
    with pytest.raises(ScenarioInvalid) as caught:
        load_model_text(textwrap.dedent(text).lstrip("\n"))
    return [p for p in caught.value.problems if p.severity == "error"]


def one(text: str) -> Problem:
    """The single error of a scenario with exactly one thing wrong."""
    found = errors(text)
    assert len(found) == 1, "\n".join(str(e) for e in found)
    return found[0]


def at(p: Problem) -> str:
    """`line:col` of a problem."""
    assert p.pos is not None
    return f"{p.pos.line}:{p.pos.col}"
