"""`netemu explain`, `netemu reach` and the static halves of `netemu test` (parsing and
printing only; the answers come from netemu.explain)."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from netemu.errors import ExitStatus, UsageError
from netemu.explain import reach as reach_mod
from netemu.explain import report
from netemu.explain.crosscheck import compare
from netemu.explain.index import ModelIndex
from netemu.explain.static import explain, not_run, outcomes
from netemu.model import load_model
from netemu.model.types import Model
from netemu.probe import report as probe_report
from netemu.probe.command import CommandOutcome
from netemu.probe.engine import ProbeSpec
from netemu.probe.expect import Outcome, judge, spec_of

__all__ = ["not_run", "outcomes", "print_cross_check", "register"]

Command = Callable[[argparse.Namespace], int]
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]


def model_of(target: str) -> Model:
    """A scenario file (no root needed), or the name of a running scenario."""
    if os.path.isfile(target) or target.endswith((".yaml", ".yml")):
        model, warnings = load_model(target)
        for w in warnings:
            print(w, file=sys.stderr)
        return model
    from netemu import lifecycle

    return lifecycle.running_model(lifecycle.current(target))


def register(add: AddCommand, port: Callable[[str], int]) -> None:
    e = add("explain", cmd_explain, "the verdict and path from the model alone (no packets)")
    e.add_argument("target", metavar="FILE|NAME")
    e.add_argument("source", metavar="FROM")
    e.add_argument("destination", metavar="TO")
    kind = e.add_mutually_exclusive_group(required=True)
    kind.add_argument("--tcp", type=port, metavar="PORT")
    kind.add_argument("--udp", type=port, metavar="PORT")
    kind.add_argument("--icmp", action="store_true")
    e.add_argument("--source-port", type=port, metavar="PORT")
    e.add_argument("-6", dest="ipv6", action="store_true", help="to the IPv6 address")
    e.add_argument("--json", action="store_true")
    r = add("reach", cmd_reach, "all-pairs reachability from the model (no packets)")
    r.add_argument("target", metavar="FILE|NAME")
    r.add_argument("--from", dest="sources", action="append", metavar="X")
    r.add_argument("--to", dest="destinations", action="append", metavar="Y")
    r.add_argument("--tcp", type=port, action="append", metavar="PORT")
    r.add_argument("--udp", type=port, action="append", metavar="PORT")
    r.add_argument("--icmp", action="store_true")
    out = r.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", action="store_true")
    r.add_argument(
        "--packets", action="store_true", help="confirm every cell with a real probe (root)"
    )


def cmd_explain(args: argparse.Namespace) -> int:
    model = model_of(args.target)
    if args.tcp is not None:
        spec = ProbeSpec(args.source, args.destination, "tcp", args.tcp, args.source_port)
    elif args.udp is not None:
        spec = ProbeSpec(args.source, args.destination, "udp", args.udp, args.source_port)
    else:
        spec = ProbeSpec(args.source, args.destination, "icmp", None, args.source_port)
    if args.ipv6:
        spec = dataclasses.replace(spec, family=6)  # explain.ipv6
    result = explain(model, spec)
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print("\n".join(report.lines(result)))
    return ExitStatus.OK if result.result == "reachable" else ExitStatus.CHECKS_FAILED


def print_cross_check(
    args: argparse.Namespace, model: Model, kernel: list[Outcome], commands: list[CommandOutcome]
) -> int:
    """`netemu test --cross-check`: both answers side by side; fails on any disagreement.
    `run:` expectations have no modelled answer; they are judged by the kernel alone."""
    ix = ModelIndex(model)
    rows: list[dict[str, Any]] = []
    disagree = failed = 0
    for o in kernel:
        if o.expectation.size is not None:  # a download: the kernel alone judges it
            failed += not o.ok
            if not args.json:
                print(f"KERNEL   {'PASS' if o.ok else 'FAIL'}  {o.title} (size: not modelled)")
            continue
        s = explain(model, spec_of(o.expectation), ix)
        sk = explain(model, spec_of(o.expectation), ix, as_kernel=True) if s.kernel_differs else s
        diffs = compare(o.result, sk)
        mo = judge(model, o.expectation, s)
        disagree += bool(diffs)
        failed += not o.ok
        rows.append(
            {"kernel": o.to_json(), "model": mo.to_json(), "agree": not diffs, "differences": diffs}
        )
        if not args.json:
            mark = "AGREE   " if not diffs else "DISAGREE"
            verdict = "PASS" if o.ok else "FAIL"
            reason = f" ({o.result.reason.code})" if o.result.reason else ""
            print(f"{mark} {verdict}  {o.title}{reason}")
            if diffs or not o.ok:
                for d in diffs:
                    print(f"  {d}")
                print(f"  kernel: {probe_report.verdict(o.result)}")
                for line in probe_report.because(o.result):
                    print(f"  {line}")
                for line in report.lines(s):
                    print(f"  model: {line}")
    failed += sum(not c.ok for c in commands)
    total = len(kernel) + len(commands)
    if args.json:
        doc = {
            "scenario": model.name,
            "passed": total - failed,
            "failed": failed,
            "disagreements": disagree,
            "results": rows,
            **({"commands": [c.to_json() for c in commands]} if commands else {}),
        }
        print(json.dumps(doc, indent=1))
    else:
        for c in commands:
            for line in c.lines():
                print(line)
        print(
            f"{model.name}: {total - failed} passed, {failed} failed, "
            f"{disagree} disagreement(s) between the kernel and the model"
        )
    return ExitStatus.CHECKS_FAILED if failed or disagree else ExitStatus.OK


def _traffic(args: argparse.Namespace) -> list[tuple[reach_mod.Protocol, int | None]]:
    t: list[tuple[reach_mod.Protocol, int | None]] = [("tcp", p) for p in args.tcp or []]
    t += [("udp", p) for p in args.udp or []]
    if args.icmp:
        t.append(("icmp", None))
    return t or list(reach_mod.DEFAULT_PORTS)


def cmd_reach(args: argparse.Namespace) -> int:
    model = model_of(args.target)
    known = {*model.instances, *model.internet_hosts}
    for name in (args.sources or []) + (args.destinations or []):
        if name not in known:
            raise UsageError(f"no instance or internet host named '{name}'")
    m = reach_mod.matrix(model, args.sources, args.destinations, _traffic(args))
    confirmed: dict[tuple[int, int, int], list[str]] = {}
    if args.packets:
        confirmed = _confirm(args.target, model, m)
    label = [("icmp" if p is None else f"{proto}/{p}") for proto, p in m.traffic]
    rows = []
    for k in range(len(m.traffic)):
        for i, row in enumerate(m.grid(k)):
            for j, cell in enumerate(row):
                if cell is None:
                    continue
                x = cell.reason
                rows.append(
                    {
                        "from": m.sources[i],
                        "to": m.destinations[j],
                        "traffic": label[k],
                        "result": cell.result,
                        "code": x.code if x else None,
                        "component": x.component if x else None,
                        "leg": x.leg if x else None,
                        **(
                            {
                                "packets": "agree"
                                if not confirmed[(i, j, k)]
                                else "; ".join(confirmed[(i, j, k)])
                            }
                            if args.packets
                            else {}
                        ),
                    }
                )
    if args.json:
        print(json.dumps({"scenario": model.name, "modelled": True, "cells": rows}, indent=1))
    elif args.csv:
        w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["from"])
        w.writeheader()
        w.writerows(rows)
    else:
        _print_grids(m, label)
        if args.packets:
            bad = sum(bool(v) for v in confirmed.values())
            print(f"packets: {len(confirmed)} cells probed, {bad} disagree with the model")
            for (i, j, k), diffs in confirmed.items():
                if diffs:
                    print(f"  {m.sources[i]} -> {m.destinations[j]} {label[k]}: {'; '.join(diffs)}")
    if args.packets and any(confirmed.values()):
        return ExitStatus.CHECKS_FAILED
    return ExitStatus.OK


def _print_grids(m: reach_mod.Matrix, label: list[str]) -> None:
    """One grid per traffic kind: `ok` reachable, else the blocking code's initials."""
    width = max([len(d) for d in m.destinations] + [6])
    side = max([len(s) for s in m.sources] + [4])
    print("modelled (no packets were sent): ok = reachable, else the blocking code")
    for k, what in enumerate(label):
        print(f"\n{what:<{side}}  " + " ".join(f"{d:>{width}}" for d in m.destinations))
        for i, row in enumerate(m.grid(k)):
            cells = []
            for cell in row:
                if cell is None:
                    cells.append("-")
                elif cell.result == "reachable":
                    cells.append("ok")
                else:
                    code = cell.reason.code if cell.reason else "?"
                    cells.append("".join(w[0] for w in code.split("_")))
            print(f"{m.sources[i]:<{side}}  " + " ".join(f"{c:>{width}}" for c in cells))
    codes = sorted({c.reason.code for c in m.answers.values() if c and c.reason})
    if codes:
        print("\n" + ", ".join(f"{''.join(w[0] for w in c.split('_'))} = {c}" for c in codes))


def _confirm(
    target: str, model: Model, m: reach_mod.Matrix
) -> dict[tuple[int, int, int], list[str]]:
    """Probe every cell for real; the differences per cell (empty: the kernel agrees)."""
    cells = [
        (i, j, k)
        for k in range(len(m.traffic))
        for i in range(len(m.sources))
        for j in range(len(m.destinations))
        if m.cell(i, j, k) is not None
    ]
    specs = [
        ProbeSpec(m.sources[i], m.destinations[j], m.traffic[k][0], m.traffic[k][1])
        for i, j, k in cells
    ]
    ix = ModelIndex(model)
    from netemu.driver import state as st
    from netemu.probe.engine import probe

    def run(running: Model) -> dict[tuple[int, int, int], list[str]]:
        out = {}
        for cell, spec, k in zip(cells, specs, probe(running, specs), strict=True):
            s = explain(running, spec, ix, as_kernel=True)
            out[cell] = compare(k, s)
        return out

    from netemu import lifecycle

    if model.name in st.running():
        return run(lifecycle.running_model(model.name))
    if not os.path.isfile(target):
        raise UsageError(f"scenario '{target}' is not up")
    driver = lifecycle.KernelDriver()
    running, _ = lifecycle.up(target, driver)
    try:
        return run(running)
    finally:
        lifecycle.down(running.name, driver)
