"""Interoperation with AWS tooling: import `describe-*` JSON, Terraform and live EC2; export back.

The pure entry points, for other modules (the EC2 endpoint) and tests:
- describe_to_scenario(data) -> (scenario dict, notes)
- describe_to_model(data) -> (Model, notes)
- model_to_describe(model) -> {"describe-vpcs": {"Vpcs": [...]}, ...}
"""

from __future__ import annotations

from netemu.interop.export_describe import model_to_describe
from netemu.interop.notes import Note
from netemu.interop.to_model import describe_to_model
from netemu.interop.to_scenario import describe_to_scenario

__all__ = ["Note", "describe_to_model", "describe_to_scenario", "model_to_describe"]
