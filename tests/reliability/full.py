"""The full form of the reliability tests (`make reliability`), with figures.

- crash safety: 100 `netemu up` killed with SIGKILL at stratified random points of the
  build, each followed by `netemu down --all` (or `down NAME` when other people's
  scenarios are up); 30 interrupted with SIGINT and 10 with SIGTERM, which must roll back
  by themselves;
- soak: 50 cycles of up / test / down of the contract's web-and-DB example and 20 of the
  book's, in this process: namespaces, processes, descriptors and memory after each;
- verify: its cost on a scenario of 200 instances;
- crosscheck: 200 random scenarios x 50 random probes answered by the model (netemu
  explain) and by the kernel, every disagreement shrunk to a scenario file;
- then every test under tests/reliability with NETEMU_RELIABILITY=full: five times the
  hostile-input examples, 40 valid generated scenarios up and down, 10 racing rounds.

Usage: python tests/reliability/full.py [--quick] [--only=crash|soak|verify|crosscheck|tests]...
(--quick: a tenth of the counts; --only: just those parts)
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import relkit  # noqa: E402
import test_soak  # noqa: E402

from netemu import lifecycle, verify  # noqa: E402
from netemu.render import render  # noqa: E402


def _q(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else 0
    return (
        f"min {values[0]:.2f} median {statistics.median(values):.2f} "
        f"p90 {p90 or values[-1]:.2f} max {values[-1]:.2f}"
    )


def crash(directory: str, kills: int, interrupts: int, terms: int) -> bool:
    print(f"== crash safety ({kills} SIGKILL, {interrupts} SIGINT, {terms} SIGTERM)", flush=True)
    path = relkit.write(directory, relkit.scenario("rl-crash"), "rl-crash.yaml")
    timing = relkit.time_up(path, "rl-crash")
    print(
        f"  uninterrupted up: state claimed at {timing.claimed_s:.2f} s, "
        f"done at {timing.done_s:.2f} s after the process started"
    )
    ok = True
    rng = random.Random()
    for sig, count in ((signal.SIGKILL, kills), (signal.SIGINT, interrupts),
                       (signal.SIGTERM, terms)):  # fmt: skip
        if not count:
            continue
        t0 = time.monotonic()
        trials = relkit.signal_trials(path, "rl-crash", count, sig, rng)
        left = [t for t in trials if t.left]
        rolled_back = sum(not t.finished for t in trials)
        print(
            f"  {sig.name}: {len(trials)} trials in {time.monotonic() - t0:.1f} s; signal at "
            f"{_q([t.at_s for t in trials])} s; namespaces present "
            f"{min(t.namespaces for t in trials)}-{max(t.namespaces for t in trials)}, "
            f"processes present {min(t.processes for t in trials)}-"
            f"{max(t.processes for t in trials)}"
        )
        if sig == signal.SIGKILL:
            print(f"    down after the kill: {_q([t.down_s for t in trials])} s")
        else:
            codes = sorted({t.rc for t in trials}, key=str)
            print(
                f"    exit codes {codes}; rolled back by itself: {rolled_back}/{len(trials)} "
                "(the others came after `up` had finished: verified, then brought down)"
            )
        finished = sum(t.finished for t in trials)
        triggers = [t.trigger for t in trials if not t.finished]
        print(
            f"    sent once the build had made: {', '.join(triggers[:6])}, ... "
            f"({finished} came after `up` had finished)"
        )
        print(f"    trials that left something: {len(left)}")
        for t in left[:5]:
            print(f"      {t}")
        ok &= not left
    return ok


def soak(directory: str, cycles: int, book_cycles: int) -> bool:
    ok = True
    for name, count, book, expectations in (
        ("rl-soak", cycles, False, 5),
        ("rl-soakb", book_cycles, True, 8),
    ):
        which = "scenarios/book/webdb.yaml" if book else "the contract's example (adjusted)"
        print(f"== soak: {count} cycles of up / test / down of {which}", flush=True)
        path = relkit.webdb(directory, name, book=book)
        cycles_run = relkit.soak(path, count, report=True)
        settled = cycles_run[1:] or cycles_run
        total = [c.up_s + c.test_s + c.down_s for c in cycles_run]
        print(f"  cycle time: {_q(total)} s; up {_q([c.up_s for c in cycles_run])} s")
        print(
            f"  RSS of this process: first {cycles_run[0].rss_kib / 1024:.1f} MiB, after cycle 2 "
            f"{settled[0].rss_kib / 1024:.1f} MiB, last {cycles_run[-1].rss_kib / 1024:.1f} MiB "
            f"(growth after warm-up {(settled[-1].rss_kib - settled[0].rss_kib) / 1024:.2f} MiB)"
        )
        print(
            f"  descriptors: {sorted({c.fds for c in cycles_run})}; child processes (zombies "
            f"of killed daemons): {sorted({c.children for c in cycles_run})}; cycles that left "
            f"something: {sum(bool(c.left) for c in cycles_run)}; failed expectations: "
            f"{sum(c.failed for c in cycles_run)}"
        )
        try:
            test_soak.check(cycles_run, expectations)
        except AssertionError as e:
            print(f"  FAILED: {e}")
            ok = False
    return ok


def verify_cost(directory: str, instances: int) -> bool:
    sys.path.insert(0, relkit.ROOT)
    from bench.scenario_gen import scenario

    print(f"== verify on {instances} instances", flush=True)
    path = relkit.write(directory, scenario(instances, name="rl-big"), "rl-big.yaml")
    driver = lifecycle.KernelDriver()
    t0 = time.monotonic()
    model, _ = lifecycle.up(path, driver)
    up_s = time.monotonic() - t0
    try:
        plan = render(model)
        t1 = time.monotonic()
        differences = verify.verify(model, plan)
        v_s = time.monotonic() - t1
    finally:
        lifecycle.down(model.name, driver)
    print(
        f"  up (verify included) {up_s:.2f} s; verify alone {v_s:.2f} s for "
        f"{len(plan.namespaces)} namespaces ({1000 * v_s / len(plan.namespaces):.2f} ms each); "
        f"differences: {len(differences)}"
    )
    return not differences


def crosscheck(directory: str, scenarios: int, probes: int) -> bool:
    from netemu.explain import crosscheck as xc

    print(f"== crosscheck ({scenarios} scenarios x {probes} probes)", flush=True)
    seed = random.randrange(100000)
    findings = os.path.join(directory, "crosscheck-findings")
    return xc.run(scenarios, probes, seed, findings, strict=True, shrink_budget=40) == 0


def pytest_full() -> bool:
    print("== tests/reliability with NETEMU_RELIABILITY=full", flush=True)
    env = {**os.environ, "NETEMU_RELIABILITY": "full"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            HERE,
            "-k",
            "not sigkill and not soak",
        ],
        cwd=relkit.ROOT,
        env=env,
        check=False,
    )
    return run.returncode == 0


def main() -> int:
    quick = "--quick" in sys.argv
    only = [a.removeprefix("--only=") for a in sys.argv if a.startswith("--only=")]
    scale = 0.1 if quick else 1.0
    if os.geteuid() != 0:
        print("reliability: needs root (it builds namespaces)", file=sys.stderr)
        return 3
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rl-full-") as d:
        os.chmod(d, 0o755)
        parts = {
            "crash": lambda: crash(d, int(100 * scale), int(30 * scale), int(10 * scale)),
            "soak": lambda: soak(d, max(2, int(50 * scale)), max(2, int(20 * scale))),
            "verify": lambda: verify_cost(d, int(200 * scale) or 20),
            "crosscheck": lambda: crosscheck(d, int(200 * scale), 50),
            "tests": pytest_full,
        }
        results = {what: run() for what, run in parts.items() if not only or what in only}
    left = relkit.leftovers()
    results["nothing left"] = not left
    for line in left:
        print(f"  left: {line}")
    print(f"== reliability: {time.monotonic() - started:.0f} s")
    for what, ok in results.items():
        print(f"  {what:<13} {'ok' if ok else 'FAILED'}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
