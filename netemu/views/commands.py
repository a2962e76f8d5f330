"""Command lines of the views: `netemu schema`, `graph`, `ui` and `flowlogs` (contract 6.1)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from netemu.errors import ExitStatus, UsageError
from netemu.model.types import Model

if TYPE_CHECKING:
    from netemu.probe.engine import ProbeResult
    from netemu.views.graph import Overlay

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def cmd_schema(args: argparse.Namespace) -> int:
    from netemu.model.schema import schema_text

    print(schema_text(), end="")
    return ExitStatus.OK


def model_of(target: str, running: bool) -> Model:
    """FILE or NAME -> Model; with `running`, the scenario must be up (the running copy)."""
    from netemu import lifecycle
    from netemu.model import load_model

    if os.path.isfile(target):
        model, _ = load_model(target)
        if not running:
            return model
        target = model.name
    elif not running and "." in target:
        raise UsageError(f"{target}: no such file (or name of a running scenario)")
    return lifecycle.running_model(lifecycle.current(target))


def overlay_of(result: ProbeResult) -> Overlay:
    from netemu.probe import report
    from netemu.views.graph import Overlay

    r = result.reason
    drop = f"{r.code} at {r.component}" + (f" {r.direction}" if r.direction else "") if r else None
    return Overlay(tuple(result.hops), result.result == "reachable", report.verdict(result), drop)


def cmd_graph(args: argparse.Namespace) -> int:
    from netemu.views import graph

    overlay = None
    if args.path:
        from netemu.cli import _spec
        from netemu.probe.engine import probe

        if args.tcp is None and args.udp is None and not args.icmp:
            raise UsageError("--path FROM TO needs the traffic: --tcp P, --udp P or --icmp")
        model = model_of(args.target, running=True)
        args.source, args.destination = args.path
        (result,) = probe(model, [_spec(args, model)])
        overlay = overlay_of(result)
    else:
        model = model_of(args.target, running=False)
    graph.write(model, args.output, overlay)
    print(f"wrote {args.output}" + (f" ({overlay.title})" if overlay else ""))
    return ExitStatus.OK


def cmd_ui(args: argparse.Namespace) -> int:
    from netemu import lifecycle
    from netemu.views import ui

    name = lifecycle.current(args.name)
    lifecycle.running_model(name)  # refuses a scenario that is not completely up
    try:
        httpd = ui.server(name, args.port)
    except OSError as e:
        raise UsageError(f"cannot listen on {ui.HOST}:{args.port}: {e.strerror or e}") from None
    print(f"netemu ui: scenario {name} on http://{ui.HOST}:{args.port}/ (Ctrl-C stops it)")
    sys.stdout.flush()
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
    return ExitStatus.OK


def register(sub: Any, add: Add) -> None:
    """Adds the view commands to netemu's parser (cli.build_parser)."""
    from netemu.cli import _port
    from netemu.flowlogs import show

    show.register(add("flowlogs", show.cmd_flowlogs, "VPC Flow Log records (AWS's format)"))
    add("schema", cmd_schema, "print the JSON Schema of the scenario format (for editors)")
    g = add("graph", cmd_graph, "draw a scenario (svg, png, Graphviz dot or Mermaid)")
    g.add_argument("target", metavar="FILE|NAME")
    g.add_argument("-o", "--output", required=True, metavar="OUT.svg|png|dot|mmd")
    g.add_argument("--path", nargs=2, metavar=("FROM", "TO"), help="overlay a real probe (root)")
    kind = g.add_mutually_exclusive_group()
    kind.add_argument("--tcp", type=_port, metavar="PORT")
    kind.add_argument("--udp", type=_port, metavar="PORT")
    kind.add_argument("--icmp", action="store_true")
    g.add_argument("--source-port", type=_port, metavar="PORT")
    u = add("ui", cmd_ui, "a web view of a running scenario on 127.0.0.1")
    u.add_argument("name", nargs="?", metavar="NAME")
    u.add_argument("--port", type=_port, default=8080)
