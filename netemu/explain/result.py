"""A static answer in the shape of a probe result, plus Reachability Analyzer's paths.

StaticResult is a ProbeResult, so everything that judges, prints or writes probe results
(probe/expect.py, probe/report.py, probe/junit.py) takes it unchanged; its JSON adds
`"modelled": true`, the forward and return path components and the explanations (13.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netemu.explain.walk import Hop
from netemu.probe.engine import ProbeResult


@dataclass
class StaticResult(ProbeResult):
    source_port: int | None = None
    forward_path: list[Hop] = field(default_factory=list)
    return_path: list[Hop] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recognisable: bool = True  # could a probe name the drop (False: the kernel is silent)
    kernel_differs: list[str] = field(default_factory=list)  # known, documented differences

    def explanations(self) -> list[dict[str, Any]]:
        """Reachability Analyzer's Explanations: the blocking stage (13.2)."""
        r = self.reason
        if r is None:
            return []
        return [
            {
                "explanation_code": r.code,
                "direction": r.direction,
                "component": r.component,
                "rule": r.rule,
                "leg": r.leg,
            }
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "modelled": True,
            "hops_observed": False,  # contract 6.3: nothing here was seen on a wire
            "source_port": self.source_port,
            "network_path_found": self.result == "reachable",
            "forward_path": [h.to_json(i + 1) for i, h in enumerate(self.forward_path)],
            "return_path": [h.to_json(i + 1) for i, h in enumerate(self.return_path)],
            "explanations": self.explanations(),
            "notes": self.notes,
            "kernel_differs": self.kernel_differs,
        }
