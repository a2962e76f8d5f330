"""`make bench`: netemu's speed against baselines measured in the same run.

Prints a table of ratios and writes bench/results.json. `--quick` runs every section at
N=10 with short measurements (the smoke run in `make test`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import apply_bench, datapath, probe_cli  # noqa: E402
from bench import explain as static_reach  # noqa: E402
from bench.scenario_gen import scenario  # noqa: E402

PY = sys.executable


def _netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "netemu.cli", *args], capture_output=True, text=True, check=False
    )


def _timed(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    out = _netemu(*args)
    return time.perf_counter() - t, out


def _mem_available_kb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def up_down(n: int, workdir: str) -> dict[str, Any]:
    """netemu up/down of N instances, with peak memory of the netemu process and the
    kernel memory each instance costs."""
    path = os.path.join(workdir, f"b{n}.yaml")
    with open(path, "w") as f:
        f.write(scenario(n, f"b{n}"))
    before = _mem_available_kb()
    t = time.perf_counter()
    child = subprocess.Popen(
        [PY, "-m", "netemu.cli", "up", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(child.pid, 0)
    up = time.perf_counter() - t
    if status != 0:
        raise SystemExit(
            f"netemu up of {n} instances failed: {child.stderr.read() if child.stderr else ''}"
        )
    held_kb = before - _mem_available_kb()
    down, out = _timed("down", f"b{n}")
    if out.returncode != 0:
        raise SystemExit(f"netemu down failed: {out.stderr}")
    return {
        "up_s": up,
        "down_s": down,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "kernel_kb_per_instance": held_kb / n,
    }


def floor(n: int) -> dict[str, float]:
    """The floor as processes of their own, like `netemu up` and `netemu down`: both sides
    pay an interpreter's start (before issue 21 the floor's `down` was timed inside its
    process, netemu's as a process)."""

    def child(*args: str) -> tuple[float, dict[str, float]]:
        t = time.perf_counter()
        out = subprocess.run(
            [PY, "-m", "bench.floor", str(n), *args],
            capture_output=True, text=True, cwd=ROOT, check=True,
        )  # fmt: skip
        return time.perf_counter() - t, json.loads(out.stdout)

    up, inside_up = child("--keep")
    down, inside_down = child("--down")
    return {
        "up": up,
        "down": down,
        "up_in_process": inside_up["up"],
        "down_in_process": inside_down["down"],
    }


def mininet(n: int) -> float | None:
    if not shutil.which("mn"):
        return None
    t = time.perf_counter()
    out = subprocess.run(
        [
            "mn",
            "--switch",
            "lxbr",
            "--controller",
            "none",
            "--topo",
            f"single,{n}",
            "--test",
            "none",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - t
    return took if out.returncode == 0 else None


def expectations(workdir: str, count: int) -> dict[str, Any]:
    path = os.path.join(workdir, "expect.yaml")
    with open(path, "w") as f:
        f.write(scenario(20, "bexpect", expectations=count))
    assert _netemu("up", path).returncode == 0
    try:
        took, out = _timed("test", path, "--json")
    finally:
        _netemu("down", "bexpect")
    doc = json.loads(out.stdout)
    return {"seconds": took, "passed": doc["passed"], "failed": doc["failed"], "count": count}


def _peak_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="N=10 and short runs: a smoke test")
    ap.add_argument("--json", default=os.path.join(ROOT, "bench", "results.json"))
    args = ap.parse_args()
    sizes = [10] if args.quick else [10, 100, 1000]
    seconds = 1 if args.quick else 5
    results: dict[str, Any] = {"sizes": {}}
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="netemu-bench-") as workdir:
        for n in sizes:
            ours, base, mn = up_down(n, workdir), floor(n), mininet(n)
            results["sizes"][n] = {"netemu": ours, "floor": base, "mininet_up_s": mn}
            rows.append(
                (
                    f"up {n}",
                    f"{ours['up_s']:.2f} s",
                    f"floor {base['up']:.2f} s",
                    f"{ours['up_s'] / base['up']:.2f}x floor",
                )
            )
            if mn:
                rows.append(
                    (
                        f"up {n} vs mininet",
                        f"{ours['up_s']:.2f} s",
                        f"mininet {mn:.2f} s",
                        f"{ours['up_s'] / mn:.2f}x mininet",
                    )
                )
            rows.append(
                (
                    f"down {n}",
                    f"{ours['down_s']:.2f} s",
                    f"floor {base['down']:.2f} s",
                    f"{ours['down_s'] / max(base['down'], 1e-3):.1f}x floor",
                )
            )
            rows.append(
                (
                    f"memory {n}",
                    f"{ours['peak_rss_mb']:.0f} MB peak",
                    f"{ours['kernel_kb_per_instance']:.0f} kB kernel/instance",
                    "",
                )
            )
        count = 20 if args.quick else 2000
        e = expectations(workdir, count)
        results["expectations"] = e
        rows.append(
            (
                f"test {count} expectations",
                f"{e['seconds']:.2f} s ({count / e['seconds']:.0f}/s)",
                f"{e['passed']} passed {e['failed']} failed",
                "target <= 2 s (>= 1000/s)",
            )
        )
        pc = probe_cli.measure(3 if args.quick else 10)
        results["probe_cli"] = pc
        rows.append(
            (
                "netemu probe CLI, 1 reachable TCP probe",
                f"{pc['probe_s']:.2f} s (cpu {pc['probe_cpu_s']:.2f} s)",
                f"python start {pc['python_s']:.2f} s",
                "target <= 0.25 s",
            )
        )
        n_apply = sizes[-1]
        ap = apply_bench.measure(n_apply, workdir)
        results["apply"] = {n_apply: ap}
        rows += apply_bench.rows(n_apply, ap)
        big = 100 if args.quick else 1000
        sr = static_reach.measure(big, 10 if args.quick else 20, 20 if args.quick else 60)
        results["static_reach"] = sr
        rows.append(
            (
                f"reach {big} x 3 ports (static)",
                f"{sr['static']['seconds']:.2f} s",
                f"probe {sr['probe_ms']:.1f} ms/cell, {sr['sample']['disagreements']} disagree",
                f"{sr['ratio']:.0f}x probing; target < 2 s",
            )
        )
        dp = datapath.measure(seconds)
        results["datapath"] = dp
        rows.append(
            (
                "TCP through SG+ACL+router+IGW",
                f"{dp['netemu_tcp_gbps']:.2f} Gbit/s",
                f"bare veth {dp['bare_tcp_gbps']:.2f} Gbit/s",
                f"{dp['netemu_tcp_gbps'] / dp['bare_tcp_gbps']:.2f} of bare",
            )
        )
        rows.append(
            (
                "UDP 64 B through the same",
                f"{dp['netemu_udp_pps'] / 1e3:.0f} kpps",
                f"bare veth {dp['bare_udp_pps'] / 1e3:.0f} kpps",
                f"{dp['netemu_udp_pps'] / dp['bare_udp_pps']:.2f} of bare",
            )
        )
        rows.append(
            (
                "SG with 1000 CIDR rules, UDP 64 B",
                f"{dp['sg1000_udp_pps'] / 1e3:.0f} kpps",
                f"1 rule {dp['sg1_udp_pps'] / 1e3:.0f} kpps",
                f"{dp['sg1000_udp_pps'] / dp['sg1_udp_pps']:.2f} of 1 rule",
            )
        )
        fl = dp["flowlog"]  # with and without, alternating runs (datapath.flow_log_cost)
        rows.append(
            (
                "flow logs on (VPC, 1 s windows), UDP 64 B",
                f"{fl['udp_pps'] / 1e3:.0f} kpps",
                f"off {fl['plain_udp_pps'] / 1e3:.0f} kpps",
                f"{fl['udp_ratio']:.2f} of off (target >= 0.90)",
            )
        )
        rows.append(
            (
                "flow logs on, TCP",
                f"{fl['tcp_gbps']:.2f} Gbit/s",
                f"off {fl['plain_tcp_gbps']:.2f} Gbit/s",
                f"{fl['tcp_ratio']:.2f} of off (target >= 0.90)",
            )
        )
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(width[i]) for i, c in enumerate(r)))
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    print(f"(written to {args.json}; peak RSS of this process {_peak_rss_mb()} MB)")


if __name__ == "__main__":
    main()
