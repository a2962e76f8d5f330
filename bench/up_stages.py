"""Where the time and the CPU of `netemu up` go, stage by stage: wall time, netemu's own CPU
(user and system) and the CPU of the children it reaped (the DHCP clients), per stage of
the build, for the generated scenario of bench/scenario_gen.py. With two cores, the CPU
of a stage divided by two is the least wall time any overlap could give it.

Usage: python -m bench.up_stages [N]   (root; inside a private network namespace)
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench import scenario_gen
from netemu import lifecycle
from netemu.driver import kernel
from netemu.errors import NetemuError

Row = tuple[str, float, float, float, float]  # stage, wall, user, system, children


def _sample() -> tuple[float, float, float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic(), me.ru_utime, me.ru_stime, kids.ru_utime + kids.ru_stime


def _timed(rows: list[Row], stage: str, f: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before = _sample()
        try:
            return f(*args, **kwargs)
        finally:
            after = _sample()
            wall, user, system, children = (a - b for a, b in zip(after, before, strict=True))
            rows.append((stage, wall, user, system, children))

    return wrapper


def main(n: int) -> None:
    rows: list[Row] = []
    driver = lifecycle.KernelDriver()
    for owner, name, stage in (
        (lifecycle, "render", "render the plan"),
        (kernel, "_make_namespaces", "namespaces (sysctls, lo)"),
        (kernel, "_build", "build (links, addresses, rules)"),
        (kernel, "run_processes", "processes (dnsmasq, DHCP)"),
        (driver, "verify", "verify"),
    ):
        setattr(owner, name, _timed(rows, stage, getattr(owner, name)))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bstages.yaml")
        with open(path, "w") as f:
            f.write(scenario_gen.scenario(n, name="bstages"))
        start = _sample()
        lifecycle.up(path, driver)
        w, u, s, c = (a - b for a, b in zip(_sample(), start, strict=True))
        rows.append(("up, in all (in-process)", w, u, s, c))
        lifecycle.down("bstages", driver)
    print(f"{'stage':34} {'wall':>7} {'user':>7} {'system':>7} {'children':>9}")
    for stage, wall, user, system, children in rows:
        print(f"{stage:34} {wall:7.2f} {user:7.2f} {system:7.2f} {children:9.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.up_stages", description=__doc__)
    parser.add_argument("n", nargs="?", type=int, default=1000, help="instances (1000)")
    try:
        main(parser.parse_args().n)
    except NetemuError as e:  # not root, a scenario too big for this host, ...
        sys.exit(f"bench.up_stages: {e}")
