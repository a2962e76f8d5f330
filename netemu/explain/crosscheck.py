"""Model versus packets: the same probe answered statically and by the kernel, compared.

`compare` says how two answers differ (verdict, reason code, leg, component; with `strict`
also direction, rule and the source the destination saw). `python -m
netemu.explain.crosscheck` (`make crosscheck`) runs random scenarios and probes through
both and writes every disagreement, shrunk to a minimal scenario, to a folder. Needs root.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from netemu.errors import NetemuError, ScenarioInvalid
from netemu.explain import codes, fuzz
from netemu.explain.index import ModelIndex
from netemu.explain.result import StaticResult
from netemu.explain.static import explain
from netemu.explain.walk import NAT_PORT_NOTE
from netemu.model.types import Model
from netemu.probe.engine import ProbeResult, ProbeSpec


def compare(kernel: ProbeResult, static: StaticResult, strict: bool = False) -> list[str]:
    """Every way the two answers differ; empty when they agree."""
    diffs: list[str] = []
    if _nat_port_chance(kernel, static):
        return diffs
    if kernel.result != static.result:
        return [f"verdict: kernel {kernel.result}, model {static.result}"]
    k, s = kernel.reason, static.reason
    if kernel.result == "blocked":
        if s is not None and not static.recognisable:
            # The kernel drops such packets without naming a rule (codes.TABLE).
            if k is not None:
                diffs.append(f"reason: kernel {k.code} at {k.component}, model {s.code} (unnamed)")
            return diffs
        if k is None or s is None:
            return [f"reason: kernel {k.code if k else None}, model {s.code if s else None}"]
        fields = ["code", "leg", "component"] + (["direction", "rule"] if strict else [])
        for f in fields:
            a, b = getattr(k, f), getattr(s, f)
            if f == "code":
                a, b = codes.canonical(a), codes.canonical(b)
            if a != b:
                diffs.append(f"{f}: kernel {a}, model {b}")
    elif strict and kernel.seen_source != static.seen_source:
        diffs.append(f"seen_source: kernel {kernel.seen_source}, model {static.seen_source}")
    return diffs


def _nat_port_chance(kernel: ProbeResult, static: StaticResult) -> bool:
    """The kernel's NAT gateway picked its port at random (6.8) and the model judged the
    range's first port: when only a network ACL on the reply leg tells the two apart, the
    answers are the same ACL's, at two ports."""
    if NAT_PORT_NOTE not in static.notes or kernel.result == static.result:
        return False
    blocked = static.reason if static.result == "blocked" else kernel.reason
    return (
        blocked is not None
        and blocked.code == codes.SUBNET_ACL_RESTRICTION
        and blocked.leg == "reply"
    )


# A probe decides by its deadline; a process starved of CPU on a busy host (load above 10
# on two cores was seen) wakes after it and reports a timeout. Disagreements are therefore
# probed again, alone, up to twice.
RETRIES = 2
RETRY_TIMEOUT = 3.0


def _key(r: ProbeResult) -> tuple[object, ...]:
    x = r.reason
    return (r.result, x.code if x else None, x.component if x else None, x.leg if x else None)


def describe(spec: ProbeSpec) -> str:
    what = "icmp" if spec.protocol == "icmp" else f"{spec.protocol}/{spec.port}"
    sport = f" from port {spec.source_port}" if spec.source_port else ""
    return f"{spec.source} -> {spec.destination} {what}{sport}"


@contextmanager
def up(text: str, name: str) -> Iterator[Model]:
    """The scenario given as YAML text, built in the kernel for the duration."""
    from netemu import lifecycle

    driver = lifecycle.KernelDriver()
    with tempfile.TemporaryDirectory(prefix="netemu-xc-") as d:
        path = os.path.join(d, f"{name}.yaml")
        with open(path, "w") as f:
            f.write(text)
        model, _ = lifecycle.up(path, driver)
        try:
            yield model
        finally:
            lifecycle.down(model.name, driver)


@dataclass
class Checked:
    spec: ProbeSpec
    kernel: ProbeResult
    static: StaticResult  # the AWS answer, what `explain` says
    as_kernel: StaticResult  # the model's account of what netemu's kernel does
    differences: list[str]  # between the kernel and the model's account of it
    retried: ProbeResult | None = None  # the first kernel answer, when it was probed again

    @property
    def known(self) -> bool:
        """The AWS answer differs from the kernel's by a documented design difference."""
        return _key(self.as_kernel) != _key(self.static)


def check(model: Model, specs: list[ProbeSpec], strict: bool) -> list[Checked]:
    """Probe `specs` in the running `model` and explain each; compare. A disagreement is
    probed again, alone and with a longer timeout: a verdict that changes was a probe that
    timed out on a busy host, and only the later answer counts (`retried`)."""
    from netemu.probe.engine import probe

    kernel = probe(model, specs, timeout=2.0)
    ix = ModelIndex(model)
    out = []
    for spec, k in zip(specs, kernel, strict=True):
        s = explain(model, spec, ix)
        sk = explain(model, spec, ix, as_kernel=True) if s.kernel_differs else s
        out.append(Checked(spec, k, s, sk, compare(k, sk, strict)))
    for c in out:
        for _ in range(RETRIES):
            if not c.differences:
                break
            (again,) = probe(model, [c.spec], timeout=RETRY_TIMEOUT)
            c.retried = c.retried or c.kernel
            c.kernel, c.differences = again, compare(again, c.as_kernel, strict)
    return out


def _checked_with_retry(d: fuzz.Data, specs: list[ProbeSpec], strict: bool) -> list[Checked] | None:
    """Build, probe, compare; a failed build (a loaded host can time out DHCP) is tried
    once more, then reported and skipped."""
    for attempt in (1, 2):
        try:
            with up(fuzz.to_yaml(d), d["name"]) as running:
                return check(running, specs, strict)
        except NetemuError as e:
            print(f"  could not build the scenario (try {attempt}): {str(e).splitlines()[0]}")
    return None


def _still_disagrees(d: fuzz.Data, spec: ProbeSpec, strict: bool) -> bool:
    try:
        model = fuzz.load(d)
    except ScenarioInvalid:
        return False
    names = {*model.instances, *model.internet_hosts, *model.nat_gateways}
    if spec.source not in names or (
        spec.destination[0].isalpha() and spec.destination not in names
    ):
        return False
    with up(fuzz.to_yaml(d), d["name"]) as running:
        (c,) = check(running, [spec], strict)
    return bool(c.differences)


def shrink(d: fuzz.Data, holds: Callable[[fuzz.Data], bool], budget: int = 80) -> fuzz.Data:
    """Take objects and rules out of `d` while `holds` (the disagreement) stays true:
    greedy, at most `budget` tries, each try one object or rule fewer."""
    tries, progress = 0, True
    while progress and tries < budget:
        progress, i = False, 0
        candidates = fuzz.variants(d)
        while i < len(candidates) and tries < budget:
            tries += 1
            if holds(candidates[i]):
                # Keep the smaller one and go on from the same place; a later pass
                # retries what only became removable after it.
                d, progress = candidates[i], True
                candidates = fuzz.variants(d)
            else:
                i += 1
    return d


def write_finding(folder: str, n: int, d: fuzz.Data, c: Checked) -> str:
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"disagreement-{n}.yaml")
    s = c.spec
    expect: dict[str, object] = {"from": s.source, "to": s.destination, "result": c.kernel.result}
    if s.protocol == "icmp":
        expect["icmp"] = True
    else:
        expect[s.protocol] = s.port
    if s.source_port:
        expect["source_port"] = s.source_port
    head = "".join(f"# {line}\n" for line in c.differences)
    head += f"# kernel: {json.dumps(c.kernel.reason.to_json() if c.kernel.reason else None)}\n"
    head += f"# model:  {json.dumps(c.static.reason.to_json() if c.static.reason else None)}\n"
    with open(path, "w") as f:
        f.write(head + fuzz.to_yaml({**d, "expect": [expect]}))
    return path


def run(
    scenarios: int, probes: int, seed: int, folder: str, strict: bool, shrink_budget: int
) -> int:
    started = time.monotonic()
    total = disagreements = known = unbuilt = flaky = 0
    tally: dict[str, int] = {}
    for i in range(scenarios):
        d, model = fuzz.generate(seed + i, name="xc")
        specs = fuzz.probes(model, seed + i, probes)
        checked = _checked_with_retry(d, specs, strict)
        if checked is None:
            unbuilt += 1
            continue
        total += len(checked)
        for c in checked:
            key = c.kernel.result + (f" {c.kernel.reason.code}" if c.kernel.reason else "")
            tally[key] = tally.get(key, 0) + 1
        bad = [c for c in checked if c.differences]
        for c in checked:
            if c.retried is not None and not c.differences:
                flaky += 1
                print(f"  probe timed out once, agreed when probed again: {describe(c.spec)}")
            if c.known:
                known += 1
                why = c.static.kernel_differs[0] if c.static.kernel_differs else ""
                print(f"  known difference: {describe(c.spec)}: {why}")
        for c in bad[:1]:  # one finding per scenario is shrunk; the rest are counted
            small = (
                shrink(
                    d,
                    functools.partial(_still_disagrees, spec=c.spec, strict=strict),
                    shrink_budget,
                )
                if shrink_budget
                else d
            )
            path = write_finding(folder, disagreements, small, c)
            print(f"  DISAGREE seed {seed + i}: {describe(c.spec)}: {'; '.join(c.differences)}")
            print(f"    minimized scenario: {path}", flush=True)
        for c in bad[1:]:
            print(f"  DISAGREE seed {seed + i}: {describe(c.spec)}: {'; '.join(c.differences)}")
        disagreements += len(bad)
        print(
            f"scenario {i + 1}/{scenarios} (seed {seed + i}): {len(checked)} probes, "
            f"{len(bad)} disagreements",
            flush=True,
        )
    took = time.monotonic() - started
    print(
        f"crosscheck: {total} probes over {scenarios} scenarios, {disagreements} disagreements, "
        f"{known} known differences (docs/aws-decisions.md),"
    )
    if flaky:
        print(f"  {flaky} probe(s) agreed only when probed a second time (a busy host)")
    if unbuilt:
        print(f"  {unbuilt} scenario(s) could not be built (see the errors above) and were skipped")
    print(
        f"  {took:.0f} s; kernel verdicts: "
        + ", ".join(f"{k} {v}" for k, v in sorted(tally.items()))
    )
    return 1 if disagreements else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="crosscheck", description=__doc__)
    ap.add_argument("-n", "--scenarios", type=int, default=20)
    ap.add_argument("-m", "--probes", type=int, default=50, help="probes per scenario")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--out", default="crosscheck-findings", help="folder for minimized scenarios")
    ap.add_argument(
        "--strict", action="store_true", help="also compare direction, rule, seen_source"
    )
    ap.add_argument("--shrink", type=int, default=80, help="shrinking budget (0: do not shrink)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("crosscheck: needs root (it builds each scenario in the kernel)", file=sys.stderr)
        return 3
    print(
        f"crosscheck: seed {args.seed}, {args.scenarios} scenarios x {args.probes} probes",
        flush=True,
    )
    return run(args.scenarios, args.probes, args.seed, args.out, args.strict, args.shrink)


if __name__ == "__main__":
    sys.exit(main())
