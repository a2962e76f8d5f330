"""`netemu apply` on a running N-instance scenario: one security-group rule changed, and a
no-op apply, each against the same scenario's `up` time measured in the same run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from bench.scenario_gen import scenario

PY = sys.executable
RULE = "      - {protocol: tcp, port: 80, cidr: 10.0.0.0/16}\n"
EXTRA = "      - {protocol: tcp, port: 443, cidr: 0.0.0.0/0}\n"
EXTRA2 = "      - {protocol: tcp, port: 8443, cidr: 0.0.0.0/0}\n"


def _netemu(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    out = subprocess.run([PY, "-m", "netemu.cli", *args], capture_output=True, text=True,
                         check=False)  # fmt: skip
    return time.perf_counter() - t, out


def _elapsed_ms(out: subprocess.CompletedProcess[str]) -> float:
    """The time `apply` itself reports (--json): the change, without the interpreter's
    start and the file's parsing."""
    import json

    return float(json.loads(out.stdout)["elapsed_ms"])


def measure(n: int, workdir: str) -> dict[str, Any]:
    name = f"ba{n}"
    path = os.path.join(workdir, f"{name}.yaml")
    text = scenario(n, name)
    with open(path, "w") as f:
        f.write(text)
    up, out = _netemu("up", path)
    if out.returncode != 0:
        raise SystemExit(f"netemu up failed: {out.stderr}")
    try:
        with open(path, "w") as f:
            f.write(text.replace(RULE, RULE + EXTRA))
        one, out = _netemu("apply", path, "--json")
        if out.returncode != 0:
            raise SystemExit(f"netemu apply failed: {out.stderr}")
        one_inside = _elapsed_ms(out)
        noop, out = _netemu("apply", path, "--json")
        noop_inside = _elapsed_ms(out)
        in_process = _in_process(
            name, path, text.replace(RULE, RULE + EXTRA), text.replace(RULE, RULE + EXTRA + EXTRA2)
        )
        _, out = _netemu("verify", name)
        if out.returncode != 0:
            raise SystemExit(f"netemu verify failed after apply: {out.stdout}")
    finally:
        _netemu("down", name)
    return {
        "up_s": up,
        "one_rule_s": one,
        "one_rule_inside_ms": one_inside,
        "noop_s": noop,
        "noop_inside_ms": noop_inside,
        "one_rule_in_process_ms": in_process * 1000,
    }


def _in_process(name: str, path: str, was: str, text: str, repeats: int = 7) -> float:
    """Rules changed through `apply_model` with the running model and plan held in memory,
    as the EC2 API endpoint does: no interpreter start, no re-reading of the running
    scenario. One rule is added, then removed again, `repeats` times; the median of those
    applies. Each new model is built before the clock starts, as the API builds it from
    the call."""
    import statistics

    from netemu import lifecycle
    from netemu.model import load_model
    from netemu.ops import apply
    from netemu.render import render

    current = lifecycle.running_model(name)
    running = apply.Running(current, render(current))
    took = []
    for i in range(repeats):
        with open(path, "w") as f:
            f.write(text if i % 2 == 0 else was)
        wanted, _ = load_model(path)
        t = time.perf_counter()
        result = apply.apply_model(wanted, name, running=running)
        took.append(time.perf_counter() - t)
        running = result.running
        assert [c.action for c in result.changes] == ["authorize" if i % 2 == 0 else "revoke"], (
            result.changes
        )
    return statistics.median(took)


def rows(n: int, r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    up = r["up_s"]
    return [
        (
            f"apply 1 SG rule, {n} instances",
            f"{r['one_rule_s'] * 1000:.0f} ms ({r['one_rule_inside_ms']:.0f} ms inside)",
            f"up {up:.2f} s",
            f"{r['one_rule_s'] / up:.1%} of up (target <= 2 %, <= 100 ms)",
        ),
        (
            f"apply 1 SG rule in-process (API), {n}",
            f"{r['one_rule_in_process_ms']:.0f} ms",
            f"up {up:.2f} s",
            f"{r['one_rule_in_process_ms'] / 1000 / up:.1%} of up (target <= 2 %, <= 100 ms)",
        ),
        (
            f"apply no-op, {n} instances",
            f"{r['noop_s'] * 1000:.0f} ms ({r['noop_inside_ms']:.0f} ms inside)",
            f"up {up:.2f} s",
            f"{r['noop_s'] / up:.1%} of up (target <= 10 %)",
        ),
    ]


if __name__ == "__main__":
    import json
    import tempfile

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix="netemu-bench-apply-") as d:
        os.chmod(d, 0o755)
        result = measure(n, d)
    for row in rows(n, result):
        print("  ".join(row))
    print(json.dumps(result))
