"""The scale curve for docs/benchmarks.md: `up`, `down`, memory and probe rate at 10, 100,
1,000 and 3,000 instances, and the largest generated scenario this host's capacity check
admits.

Usage: python bench/scale.py [SIZES...] [--no-capacity]   (default 10 100 1000 3000; root;
`python bench/scale.py 0` gives only the largest scenario)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.run import _netemu, up_down  # noqa: E402
from bench.scenario_gen import scenario  # noqa: E402
from netemu import capacity  # noqa: E402
from netemu.errors import HostUnsupported, ScenarioInvalid  # noqa: E402
from netemu.model import load_model_text  # noqa: E402
from netemu.render import render  # noqa: E402

EXPECTATIONS = 1000


def probe_rate(n: int, workdir: str) -> float:
    """Expectations judged per second by `netemu test` on a running scenario of n instances."""
    name = f"sc{n}"
    path = os.path.join(workdir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(scenario(n, name, expectations=EXPECTATIONS))
    assert _netemu("up", path).returncode == 0
    try:
        t = time.perf_counter()
        out = _netemu("test", path, "--json")
        took = time.perf_counter() - t
    finally:
        _netemu("down", name)
    doc = json.loads(out.stdout)
    assert doc["failed"] == 0, doc
    return EXPECTATIONS / took


def largest() -> tuple[int, str]:
    """The largest generated scenario this host admits: by `up`'s capacity check
    (netemu.capacity: memory, namespaces, mounts, process ids, files), or by the scenario
    loader's bound on a file's size (netemu.scenario.MAX_NODES, a guard against hostile
    input), whichever comes first. Returns the size and which of the two bound it."""

    def fits(n: int) -> str | None:
        """None if n instances fit, else what refuses them."""
        try:
            model, _ = load_model_text(scenario(n, "cap", subnets=max(10, n // 250)))
        except ScenarioInvalid:
            return "scenario loader (MAX_NODES)"
        try:
            capacity.check(model, render(model))
        except HostUnsupported as e:
            return f"capacity check: {e}"
        return None

    lo, hi = 1000, 2000
    while (why := fits(hi)) is None:
        lo, hi = hi, hi * 2
    while hi - lo > 250:
        mid = (lo + hi) // 2
        refused = fits(mid)
        if refused is None:
            lo = mid
        else:
            hi, why = mid, refused
    return lo, why


def main(sizes: list[int], capacity_check: bool = True) -> None:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="netemu-scale-") as workdir:
        os.chmod(workdir, 0o755)
        for n in sizes:
            r = up_down(n, workdir)
            rate = probe_rate(n, workdir)
            rows.append({"n": n, **r, "expectations_per_s": rate})
            print(
                f"{n:>5} instances  up {r['up_s']:6.2f} s  down {r['down_s']:5.2f} s  "
                f"peak RSS {r['peak_rss_mb']:4.0f} MB  kernel {r['kernel_kb_per_instance']:4.0f} "
                f"kB/instance  probes {rate:6.0f}/s",
                flush=True,
            )
            with open(os.path.join(ROOT, "bench", "scale.json"), "w") as f:
                json.dump({"rows": rows}, f, indent=1)
    if not capacity_check:
        return
    cap, why = largest()
    print(f"largest generated scenario admitted here: about {cap} instances; bound by {why}")
    with open(os.path.join(ROOT, "bench", "scale.json"), "w") as f:
        json.dump({"rows": rows, "largest": cap, "bound_by": why}, f, indent=1)


if __name__ == "__main__":
    # python bench/scale.py 0: only the capacity result; --no-capacity: only the curve
    args = [a for a in sys.argv[1:] if a != "--no-capacity"]
    main(
        [int(a) for a in args if int(a) > 0] if args else [10, 100, 1000, 3000],
        "--no-capacity" not in sys.argv,
    )
