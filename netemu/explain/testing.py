"""A scenario judged by the model alone, for tests on hosts without root (pytest plugin).

It offers the same `probe()` as netemu.testing.Running, answered by `explain` instead of
packets; every answer says `"modelled": true`. Nothing runs inside instances, so `exec()`
refuses with a clear message.
"""

from __future__ import annotations

from typing import Any

from netemu.errors import HostUnsupported
from netemu.explain.index import ModelIndex
from netemu.explain.result import StaticResult
from netemu.explain.static import explain, outcomes
from netemu.model.types import Model
from netemu.probe.expect import Outcome
from netemu.testing import spec


class Modelled:
    modelled = True

    def __init__(self, model: Model) -> None:
        self.model = model
        self._index = ModelIndex(model)

    def probe(
        self,
        source: str,
        destination: str,
        *,
        tcp: int | None = None,
        udp: int | None = None,
        icmp: bool = False,
        source_port: int | None = None,
        timeout: float = 1.0,
    ) -> StaticResult:
        """The modelled answer; e.g. `probe("client", "web", tcp=22).result`."""
        del timeout  # nothing is sent
        s = spec(source, destination, tcp, udp, icmp, source_port)
        return explain(self.model, s, self._index)

    def expectations(self) -> list[Outcome]:
        """The scenario's own `expect` list, judged by the model."""
        return outcomes(self.model)

    def exec(self, target: str, *command: str, **_: Any) -> Any:
        raise HostUnsupported(
            f"cannot run {' '.join(command) or 'a command'} in {target}: the scenario is "
            "modelled, not built (running commands needs root)"
        )
