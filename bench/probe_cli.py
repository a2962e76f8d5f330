"""`netemu probe` as a user runs it: the wall time of one reachable TCP probe from the
command line (issue 21: target 0.25 s), against the interpreter's own start in the same run,
alternating the two so both see the same load. CPU time (user + system of the child) is
printed too: on a shared machine it moves much less than the wall time.

Usage: python -m bench.probe_cli [RUNS]   (root)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

PY = sys.executable
# As a user's machine runs it: with compiled bytecode cached (this VM's environment sets
# PYTHONDONTWRITEBYTECODE, which makes every start compile all of netemu again).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOK = os.path.join(ROOT, "scenarios", "book", "webdb.yaml")
PROBE = (PY, "-m", "netemu.cli", "probe", "web", "db", "--tcp", "22")


def _run(*argv: str) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `argv`."""
    t = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed (status {status})")
    return wall, usage.ru_utime + usage.ru_stime


def measure(runs: int = 10) -> dict[str, float]:
    subprocess.run([PY, "-m", "netemu.cli", "up", BOOK], capture_output=True, check=True)
    try:
        _run(*PROBE)  # caches bytecode and the running model (driver/model_cache.py)
        probe, bare = [], []
        for _ in range(runs):
            probe.append(_run(*PROBE))
            bare.append(_run(PY, "-c", "pass"))
    finally:
        subprocess.run([PY, "-m", "netemu.cli", "down", "webdb"], capture_output=True)
    med = statistics.median
    return {
        "probe_s": med(w for w, _ in probe),
        "probe_cpu_s": med(c for _, c in probe),
        "python_s": med(w for w, _ in bare),
        "python_cpu_s": med(c for _, c in bare),
    }


if __name__ == "__main__":
    r = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
    print(
        f"netemu probe CLI (one reachable tcp probe)  {r['probe_s']:.2f} s "
        f"(cpu {r['probe_cpu_s']:.2f} s)  python start {r['python_s']:.2f} s "
        f"(cpu {r['python_cpu_s']:.2f} s)  target <= 0.25 s"
    )
