"""`netemu probe` as a user runs it: the wall time of one reachable TCP probe from the
command line (issue 21: target 0.25 s), against the interpreter's own start in the same run.

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
BOOK = "scenarios/book/webdb.yaml"


def _wall(*argv: str) -> float:
    t = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=False, env=ENV)
    return time.perf_counter() - t


def measure(runs: int = 10) -> dict[str, float]:
    subprocess.run([PY, "-m", "netemu.cli", "up", BOOK], capture_output=True, check=True)
    try:
        _wall(PY, "-m", "netemu.cli", "probe", "web", "db", "--tcp", "22")  # caches bytecode
        probe = [_wall(PY, "-m", "netemu.cli", "probe", "web", "db", "--tcp", "22")
                 for _ in range(runs)]  # fmt: skip
        bare = [_wall(PY, "-c", "pass") for _ in range(runs)]
    finally:
        subprocess.run([PY, "-m", "netemu.cli", "down", "webdb"], capture_output=True)
    return {"probe_s": statistics.median(probe), "python_s": statistics.median(bare)}


if __name__ == "__main__":
    r = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
    print(
        f"netemu probe CLI (one reachable tcp probe)  {r['probe_s']:.2f} s  "
        f"python start {r['python_s']:.2f} s  target <= 0.25 s"
    )
