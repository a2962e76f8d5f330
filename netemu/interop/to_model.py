"""describe-* data -> a resolved Model in one call (for `netemu serve` and tests); pure."""

from __future__ import annotations

from collections.abc import Sequence

from netemu.interop.nodes import to_node
from netemu.interop.notes import Note
from netemu.interop.to_scenario import Data, describe_to_scenario
from netemu.model.resolve import resolve
from netemu.model.types import Model


def describe_to_model(
    data: Data,
    name: str | None = None,
    region: str | None = None,
    internet: Sequence[tuple[str, str]] = (),
    source: str = "<describe>",
) -> tuple[Model, list[Note]]:
    """The Model of an account's describe-* data and the import notes; ScenarioInvalid
    (every problem, each naming its object and AWS id) when it breaks a rule netemu checks."""
    scenario, notes = describe_to_scenario(data, name, region, internet, source)
    model, _ = resolve(to_node(scenario, source), source)
    return model, notes
