"""Scenario -> Model: AWS defaults applied, every address fixed, validated.

The entry points import the resolver lazily: netemu.errors imports netemu.model.types, and
the resolver imports netemu.errors, so an eager import here would be circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netemu.model.types import Model

if TYPE_CHECKING:
    from netemu.errors import Problem
    from netemu.scenario import Node

__all__ = ["Model", "load_model", "load_model_text", "resolve"]


def load_model(path: str) -> tuple[Model, list[Problem]]:
    """Load, resolve and validate a scenario file.

    Returns the Model and its warnings; raises ScenarioInvalid carrying every problem.
    """
    from netemu.model.resolve import load_model as impl

    return impl(path)


def load_model_text(text: str, path: str = "<test>") -> tuple[Model, list[Problem]]:
    """load_model for inline YAML text (tests)."""
    from netemu.model.resolve import load_model_text as impl

    return impl(text, path)


def resolve(raw: Node, path: str) -> tuple[Model, list[Problem]]:
    """A raw scenario (from netemu.scenario.load) -> (Model, warnings) or ScenarioInvalid."""
    from netemu.model.resolve import resolve as impl

    return impl(raw, path)
