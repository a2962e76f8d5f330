"""Static all-pairs reachability (`netemu reach`) against real probes of a sample.

The static side answers every cell of an N-instance scenario on three ports from the model;
the packet side brings a small scenario of the same shape up and probes a sample of its
cells, which gives the cost of one real probe. The ratio is what answering the whole matrix
with packets would cost over answering it statically. The sample's answers must agree.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.scenario_gen import scenario  # noqa: E402
from netemu.explain import reach  # noqa: E402
from netemu.explain.crosscheck import compare, up  # noqa: E402
from netemu.explain.index import ModelIndex  # noqa: E402
from netemu.explain.static import explain  # noqa: E402
from netemu.model import load_model_text  # noqa: E402
from netemu.probe.engine import ProbeSpec, probe  # noqa: E402

PORTS: list[tuple[reach.Protocol, int | None]] = [("tcp", 22), ("tcp", 80), ("tcp", 443)]


def static_all_pairs(n: int) -> dict[str, Any]:
    model, _ = load_model_text(scenario(n, f"bx{n}"))
    t = time.perf_counter()
    m = reach.matrix(model, traffic=PORTS)
    diagonal = len(set(m.sources) & set(m.destinations))  # an instance to itself: no cell
    cells = sum(sum(map(len, m.grid(k))) - diagonal for k in range(len(PORTS)))
    took = time.perf_counter() - t
    return {"instances": n, "cells": cells, "seconds": took, "walks": m.walks}


def probed_sample(n: int, count: int) -> dict[str, Any]:
    model, _ = load_model_text(scenario(n, "bxs"))
    names = [*model.instances, *model.internet_hosts]
    specs = [
        ProbeSpec(names[i % len(names)], names[(i * 7 + 1) % len(names)], *PORTS[i % 3])
        for i in range(count)
    ]
    specs = [s for s in specs if s.source != s.destination]
    with up(scenario(n, "bxs"), "bxs") as running:
        t = time.perf_counter()
        kernel = probe(running, specs)
        took = time.perf_counter() - t
        ix = ModelIndex(running)
        disagree = sum(
            bool(compare(k, explain(running, s, ix))) for s, k in zip(specs, kernel, strict=False)
        )
    return {"probes": len(specs), "seconds": took, "disagreements": disagree}


def measure(n: int, sample_instances: int, sample_probes: int) -> dict[str, Any]:
    s = static_all_pairs(n)
    p = probed_sample(sample_instances, sample_probes)
    per_probe = p["seconds"] / p["probes"]
    return {
        "static": s,
        "sample": p,
        "probe_ms": per_probe * 1000,
        "probing_all_s": per_probe * s["cells"],
        "ratio": per_probe * s["cells"] / s["seconds"],
    }


if __name__ == "__main__":
    r = measure(1000, 20, 60)
    print(
        f"static all-pairs, 1000 instances x 3 ports: {r['static']['cells']} cells in "
        f"{r['static']['seconds']:.2f} s; a real probe costs {r['probe_ms']:.1f} ms "
        f"({r['sample']['probes']} sampled, {r['sample']['disagreements']} disagreements), "
        f"so probing every cell would take {r['probing_all_s']:.0f} s: {r['ratio']:.0f}x"
    )
