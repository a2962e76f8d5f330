"""`netemu import` and `netemu export`: argument parsing, files, messages; the work is pure."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from netemu.errors import ExitStatus, Problem, ScenarioInvalid, UsageError
from netemu.interop import sources, write_yaml
from netemu.interop.nodes import to_node
from netemu.interop.notes import Note
from netemu.interop.to_scenario import describe_to_scenario
from netemu.model import load_model
from netemu.model.resolve import default_name, resolve
from netemu.model.types import Model

Adder = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def register(sub: Any, add: Adder) -> None:
    i = add("import", cmd_import, "make a scenario from describe-* JSON, Terraform or a live API")
    i.usage = (
        "netemu import SOURCE... -o OUT [--name NAME] [--strict] [--internet NAME=IP]...\n"
        "       netemu import --endpoint-url URL [--region R] [--profile P] -o OUT ..."
    )
    i.add_argument("sources", nargs="*", metavar="SOURCE", help="files or folders of JSON")
    i.add_argument("-o", "--output", required=True, metavar="OUT", help="scenario file to write")
    i.add_argument("--name", help="scenario name (default: from OUT)")
    i.add_argument("--strict", action="store_true", help="fail on anything not emulated")
    i.add_argument(
        "--internet",
        action="append",
        default=[],
        metavar="NAME=IP",
        help="an internet host (default: internet=198.51.100.10)",
    )
    i.add_argument(
        "--expect-from",
        metavar="FILE",
        help="copy the expect list and internet hosts of this scenario",
    )
    i.add_argument("--endpoint-url", metavar="URL", help="read live through the EC2 API")
    i.add_argument("--region", help="Region (default: from the data, else us-east-1)")
    i.add_argument("--profile", help="AWS profile for --endpoint-url")
    e = add("export", cmd_export, "write a scenario as describe-* JSON, scenario YAML or Terraform")
    e.add_argument("target", metavar="NAME|FILE")
    e.add_argument("--format", required=True, choices=("describe", "scenario", "terraform"))
    e.add_argument("-o", "--output", required=True, metavar="PATH")


def _hosts(options: Sequence[str]) -> list[tuple[str, str]]:
    hosts = []
    for option in options:
        name, sep, ip = option.partition("=")
        if not sep or not name or not ip:
            raise UsageError(f"--internet {option!r}: write NAME=IP, e.g. mirror=198.51.100.20")
        hosts.append((name, ip))
    return hosts


def cmd_import(args: argparse.Namespace) -> int:
    notes: list[Note] = []
    region: str | None
    if args.endpoint_url or (not args.sources and args.profile):
        from netemu.interop.endpoint_read import read_live

        if args.sources:
            raise UsageError("give SOURCE files or --endpoint-url, not both")
        data, notes, region = read_live(args.endpoint_url, args.region, args.profile)
        origin = f"the EC2 API at {args.endpoint_url or 'AWS'} ({region})"
    elif args.sources:
        data, notes, region_hint = sources.load(args.sources)
        region = args.region or region_hint
        origin = ", ".join(args.sources)
    else:
        raise UsageError("give SOURCE files or folders, or --endpoint-url URL")
    extra = load_model(args.expect_from)[0] if args.expect_from else None
    hosts = _hosts(args.internet) or (
        [(h.name, str(h.ip)) for h in extra.internet_hosts.values() if not h.aws_service]
        if extra
        else []
    )
    name = args.name or default_name(args.output)
    scenario, more = describe_to_scenario(data, name, region, hosts, origin)
    notes += more
    if extra is not None:
        _take_expectations(scenario, extra)
    try:
        resolve(to_node(scenario, args.output), args.output)
    except ScenarioInvalid as e:  # the account breaks a rule netemu checks: say what, no file
        raise ScenarioInvalid([_imported(p) for p in e.problems]) from None
    for n in notes:
        if n.severity != "added":
            label = "error" if args.strict and n.severity == "unsupported" else n.severity
            print(f"netemu import: {label}: {write_yaml.printable(str(n))}", file=sys.stderr)
    unsupported = [n for n in notes if n.severity == "unsupported"]
    if args.strict and unsupported:
        print(
            f"{len(unsupported)} item(s) not emulated (--strict); nothing written", file=sys.stderr
        )
        return ExitStatus.INVALID_INPUT
    _write(args.output, write_yaml.dump(scenario, write_yaml.header(origin, notes)))
    counts = ", ".join(
        f"{len(scenario.get(k) or {})} {k}" for k in ("vpcs", "subnets", "instances")
    )
    print(f"wrote {args.output}: scenario '{name}' with {counts}; {len(unsupported)} not emulated")
    return ExitStatus.OK


def _imported(p: Problem) -> Problem:
    return Problem(None, f"the imported scenario: {p.message}", p.severity, "netemu import")


def _take_expectations(scenario: dict[str, Any], extra: Model) -> None:
    from netemu.interop.export_scenario import expectation, internet_of

    scenario["internet"] = internet_of(extra)
    if extra.expectations:
        scenario["expect"] = [expectation(x) for x in extra.expectations]


def _write(path: str, text: str) -> None:
    """Whole or not at all: a temporary file in the same folder, then a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".netemu-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


def _model_of(target: str) -> Model:
    if os.path.isfile(target):
        return load_model(target)[0]
    from netemu import lifecycle

    return lifecycle.running_model(lifecycle.current(target))


def cmd_export(args: argparse.Namespace) -> int:
    model = _model_of(args.target)
    if args.format == "describe":
        from netemu.interop.export_describe import model_to_describe

        calls = model_to_describe(model)
        try:
            os.makedirs(args.output, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot make folder {args.output}: {e.strerror or e}") from None
        for call, doc in calls.items():
            # what `aws ec2 describe-<what> --output json` prints: 4 spaces, UTF-8
            text = json.dumps(doc, indent=4, ensure_ascii=False) + "\n"
            _write(os.path.join(args.output, f"{call}.json"), text)
        print(f"wrote {len(calls)} describe-* files to {args.output}")
    elif args.format == "scenario":
        from netemu.interop.export_scenario import model_to_scenario

        head = [f"Exported by `netemu export` from {model.source}."]
        _write(args.output, write_yaml.dump(model_to_scenario(model), head))
        print(f"wrote {args.output}")
    else:
        from netemu.interop.export_terraform import model_to_terraform

        _write(args.output, model_to_terraform(model))
        print(f"wrote {args.output}")
    return ExitStatus.OK
