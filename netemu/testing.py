"""A running scenario as an object, for tests: bring up, probe, exec, bring down.

Used by the pytest plugin (netemu.pytest_plugin) and by netemu's own kernel tests.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Literal

from netemu import lifecycle
from netemu.driver import mountns
from netemu.driver.state import state_dir
from netemu.model.types import Model
from netemu.probe import expect
from netemu.probe.engine import ProbeResult, ProbeSpec, probe
from netemu.probe.expect import Outcome
from netemu.render.topology import endpoint_ns


def spec(
    source: str,
    destination: str,
    tcp: int | None = None,
    udp: int | None = None,
    icmp: bool = False,
    source_port: int | None = None,
) -> ProbeSpec:
    """The probe a test asks for with `tcp=PORT`, `udp=PORT` or `icmp=True`."""
    proto: Literal["tcp", "udp", "icmp"]
    if tcp is not None:
        proto, port = "tcp", tcp
    elif udp is not None:
        proto, port = "udp", udp
    elif icmp:
        proto, port = "icmp", None
    else:
        raise ValueError("give tcp=PORT, udp=PORT or icmp=True")
    return ProbeSpec(source, destination, proto, port, source_port)


class Running:
    def __init__(self, model: Model) -> None:
        self.model = model

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
    ) -> ProbeResult:
        """One real probe; e.g. `probe("client", "web", tcp=22).result == "reachable"`."""
        (result,) = probe(
            self.model, [spec(source, destination, tcp, udp, icmp, source_port)], timeout
        )
        return result

    def expectations(self, timeout: float = 1.0) -> list[Outcome]:
        """The scenario's own `expect` list, run as real probes and judged."""
        return expect.run(self.model, timeout)

    def exec(
        self, target: str, *command: str, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside an instance, NAT gateway or internet host, seeing its own
        /etc/resolv.conf and host name (netemu.driver.mountns)."""
        ns = endpoint_ns(self.model, target)
        return subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            preexec_fn=mountns.preexec(ns, state_dir(self.model.name), target),
        )


@contextlib.contextmanager
def running(path: str) -> Iterator[Running]:
    driver = lifecycle.KernelDriver()
    model, _ = lifecycle.up(path, driver)
    try:
        yield Running(model)
    finally:
        lifecycle.down(model.name, driver)


@contextlib.contextmanager
def running_text(text: str, filename: str = "scenario.yaml") -> Iterator[Running]:
    """Bring up a scenario given as YAML text (written to a temporary file)."""
    with tempfile.TemporaryDirectory(prefix="netemu-") as d:
        path = os.path.join(d, filename)
        with open(path, "w") as f:
            f.write(text)
        with running(path) as r:
            yield r
