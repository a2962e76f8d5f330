"""Command line: argument parsing and printing only; the work happens in lifecycle and probe."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, NoReturn

from netemu import i18n, lifecycle
from netemu.driver import state as st
from netemu.errors import ExitStatus, NetemuError, Problem, ScenarioInvalid, UsageError
from netemu.model import Model, load_model
from netemu.model.lookup import by_id
from netemu.probe import report
from netemu.probe.engine import ProbeSpec
from netemu.probe.expect import Outcome
from netemu.render import topology

if TYPE_CHECKING:
    from netemu.probe.command import CommandOutcome


def _print_problems(problems: Sequence[Problem]) -> None:
    for p in problems:
        print(p, file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    model, warnings = load_model(args.file)
    _print_problems(warnings)
    print(
        f"{args.file}: scenario '{model.name}' is valid: {len(model.vpcs)} VPC(s), "
        f"{len(model.subnets)} subnet(s), {len(model.instances)} instance(s)"
    )
    return ExitStatus.OK


def cmd_up(args: argparse.Namespace) -> int:
    model, warnings = lifecycle.up(args.file, lifecycle.KernelDriver())
    _print_problems(warnings)
    print(f"scenario '{model.name}' is up")
    for inst in model.instances.values():
        public = f"  public {inst.public_ip}" if inst.public_ip else ""
        public += f"  ipv6 {inst.ipv6_address}" if inst.ipv6_address else ""
        print(
            f"  {inst.name:<14} {inst.id}  private {inst.private_ip or '-'}{public}  [{inst.state}]"
        )
        for e in model.enis_of(inst.name):  # a multi-homed instance's ENIs (ref 9.20)
            if e.device_index or e.secondary_private_ips:
                addrs = " ".join(str(ip) for ip in e.private_ips)
                public = f"  public {e.public_ip}" if e.device_index and e.public_ip else ""
                print(f"    eth{e.device_index} {e.id}  private {addrs}{public}")
    for nat in model.nat_gateways.values():
        print(
            f"  {nat.name:<14} {nat.id}  private {nat.eni.private_ip}  elastic {nat.eni.public_ip}"
        )
    for host in model.internet_hosts.values():
        six = f"  ipv6 {host.ipv6}" if host.ipv6 else ""
        print(f"  {host.name:<14} internet host  {host.ip}{six}")
    return ExitStatus.OK


def cmd_down(args: argparse.Namespace) -> int:
    driver = lifecycle.KernelDriver()
    driver.check_host()
    if args.all:
        removed, unrecorded = lifecycle.down_all(driver, args.force_unrecorded)
        print(f"removed: {', '.join(removed) if removed else 'nothing was up'}")
        if unrecorded and args.force_unrecorded:
            print(f"removed unrecorded namespaces: {', '.join(unrecorded)}")
        elif unrecorded:
            print(
                f"netemu: left in place, no scenario records them: {', '.join(unrecorded)}; "
                "remove them with `netemu down --all --force-unrecorded`",
                file=sys.stderr,
            )
        return ExitStatus.OK
    if args.force_unrecorded:
        raise UsageError("--force-unrecorded goes with --all")
    if not args.target:
        raise UsageError("say which scenario: netemu down NAME|FILE, or netemu down --all")
    name = lifecycle.resolve_name(args.target)
    lifecycle.down(name, driver)
    print(f"scenario '{name}' is down")
    return ExitStatus.OK


def cmd_status(args: argparse.Namespace) -> int:
    names = [lifecycle.current(args.name)] if args.name else st.running()
    states = [s for s in (st.load(n) for n in names) if s]
    if args.json:
        print(
            json.dumps(
                {
                    "scenarios": [
                        {
                            **s.summary,
                            "name": s.scenario,
                            "complete": s.complete,
                            "source": s.source,
                            "namespaces": s.namespaces,
                            "nat_gateway_counters": _nat_counters(s),
                        }
                        for s in states
                    ]
                },
                indent=2,
            )
        )
        return ExitStatus.OK
    if not states:
        print("no scenario is up")
    for s in states:
        flag = "" if s.complete else "  (incomplete: run `netemu down` to clean up)"
        print(f"{s.scenario}  from {s.source}{flag}")
        for name, i in s.summary.get("instances", {}).items():
            public = i["public_ip"] or "-"
            row = f"{name:<14} {i['private_ip']:<15} {public:<15} {i['state']:<8}"
            print(f"  instance     {row} {i['namespace']}  {i.get('id', '')}")
        for name, e in s.summary.get("network_interfaces", {}).items():
            row = f"{name:<14} {' '.join(e['private_ips']):<15} {e['public_ip'] or '-':<15}"
            print(f"  eni          {row} {'':<8} {e['instance']} eth{e['device_index']}  {e['id']}")
        for name, g in s.summary.get("nat_gateways", {}).items():
            row = f"{name:<14} {g['private_ip']:<15} {g['public_ip'] or '-':<15} {'':<8}"
            print(f"  nat_gateway  {row} {g['namespace']}  {g.get('id', '')}")
            counted = _nat_counters(s).get(name, {})
            if counted:
                print("               " + "  ".join(f"{k} {v}" for k, v in counted.items()))
        for name, h in s.summary.get("internet_hosts", {}).items():
            print(f"  host         {name:<14} {'-':<15} {h['ip']:<15} {'':<8} {h['namespace']}")
    return ExitStatus.OK


def _nat_counters(s: st.State) -> dict[str, dict[str, int]]:
    """Live CloudWatch-like counters of each NAT gateway (render.nat_gateway, ref 6.8, 6.12)."""
    from netemu.driver import counters

    out = {}
    for name, g in s.summary.get("nat_gateways", {}).items():
        try:
            out[name] = counters.read(g["namespace"])
        except OSError:  # the namespace is gone (an incomplete scenario)
            out[name] = {}
    return out


def cmd_exec(args: argparse.Namespace) -> int:
    from netemu.driver import mountns

    name = lifecycle.current(args.scenario)
    model = lifecycle.running_model(name)
    args.target = by_id(model, args.target)
    ns = topology.endpoint_ns(model, args.target)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError("give a command after --, e.g. netemu exec web -- ip addr")
    # The endpoint's own resolv.conf and host name, in mount and UTS namespaces of this
    # process only; the host's /etc is untouched.
    mountns.enter_endpoint(ns, st.state_dir(name), args.target)
    return _exec(command, args.target)


def _exec(argv: list[str], where: str) -> int:
    """Replace this process with `argv`; if that fails, say so in one line and exit as a
    shell would: 127 when there is no such command, 126 when it cannot be run."""
    try:
        os.execvp(argv[0], argv)
    except FileNotFoundError:
        print(f"netemu: {argv[0]}: command not found (in {where})", file=sys.stderr)
        return 127
    except OSError as e:
        print(f"netemu: {argv[0]}: cannot run it (in {where}): {e.strerror}", file=sys.stderr)
        return 126
    return ExitStatus.OK  # not reached


def cmd_ssh(args: argparse.Namespace) -> int:
    from netemu.driver import mountns
    from netemu.services import ssh_client

    opts = _ssh_options(args)
    name = lifecycle.current(opts.scenario)
    model = lifecycle.running_model(name)
    opts.target = by_id(model, opts.target)
    opts.jump = by_id(model, opts.jump) if opts.jump else None
    opts.source = by_id(model, opts.source) if opts.source else None
    ssh = ssh_client.command(
        model, st.state_dir(name), opts.target, opts.source, opts.jump, opts.command
    )
    hops = [opts.target, *([opts.jump] if opts.jump else [])]
    for lacking in ssh_client.lacking_ssh(model, hops):
        print(f"netemu: warning: {lacking} runs no ssh server (services: [ssh])", file=sys.stderr)
    mountns.enter_endpoint(ssh.ns, st.state_dir(name), ssh.source)
    return _exec(list(ssh.argv), ssh.source)  # the exit status is ssh's


def _ssh_options(args: argparse.Namespace) -> argparse.Namespace:
    """Options may also follow TARGET (`netemu ssh db --jump web -- cmd`), where argparse's
    REMAINDER has swallowed them: take them from there, up to `--`."""
    rest: list[str] = args.rest
    cut = rest.index("--") if "--" in rest else len(rest)
    late = argparse.ArgumentParser(prog="netemu ssh", add_help=False)
    late.add_argument("-s", "--scenario", default=args.scenario)
    late.add_argument("--from", dest="source", default=args.source)
    late.add_argument("--jump", default=args.jump)
    opts, unknown = late.parse_known_args(rest[:cut])
    if unknown and cut < len(rest):
        raise UsageError(f"netemu ssh: unexpected {' '.join(unknown)} before --")
    opts.target = args.target
    opts.command = unknown + rest[cut + 1 :]
    return opts


def _spec(args: argparse.Namespace, model: Model) -> ProbeSpec:
    spec = _spec4(args, model)
    if getattr(args, "ipv6", False) or ":" in spec.destination:  # probe.ipv6
        return dataclasses.replace(spec, family=6)
    return spec


def _spec4(args: argparse.Namespace, model: Model) -> ProbeSpec:
    source, destination = by_id(model, args.source), by_id(model, args.destination)
    if getattr(args, "size", None) is not None:  # a real TCP download (probe.transfer)
        if args.tcp is None or args.source_port is not None:
            raise UsageError("--size is a TCP download: give --tcp PORT and no --source-port")
        return ProbeSpec(source, destination, "tcp", args.tcp, None, args.size)
    if args.tcp is not None:
        return ProbeSpec(source, destination, "tcp", args.tcp, args.source_port)
    if args.udp is not None:
        return ProbeSpec(source, destination, "udp", args.udp, args.source_port)
    return ProbeSpec(source, destination, "icmp", None, args.source_port)


def cmd_probe(args: argparse.Namespace) -> int:
    from netemu.probe.engine import probe

    model = lifecycle.running_model(lifecycle.current(args.scenario))
    (result,) = probe(model, [_spec(args, model)])
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        lang = i18n.lang_of(args)
        for line in [report.verdict(result), *report.because(result)]:
            print(i18n.line(line, lang))
    return ExitStatus.OK if result.result == "reachable" else ExitStatus.CHECKS_FAILED


def cmd_test(args: argparse.Namespace) -> int:
    from netemu.explain import commands as explain_commands
    from netemu.probe import command, expect, junit

    model, warnings = load_model(args.file)
    _print_problems(warnings)
    if args.static:  # judged by the model alone: no root, no kernel (netemu.explain)
        outcomes = explain_commands.outcomes(model)
        if not args.json:
            print(f"{model.name}: modelled, no packets were sent")
        return _report_outcomes(args, model, outcomes, [], modelled=True)
    driver = lifecycle.KernelDriver()
    was_up = model.name in st.running()
    if was_up:
        running = st.load(model.name)
        if running and running.source != os.path.abspath(args.file):
            raise UsageError(
                f"scenario '{model.name}' is already up from {running.source}; "
                f"run `netemu down {model.name}` first or give this one another name"
            )
        model = lifecycle.running_model(model.name)
    else:
        lifecycle.up(args.file, driver)
    try:
        outcomes = expect.run(model)
        commands = command.run(model, st.state_dir(model.name))  # expectations with `run:`
    finally:
        if not was_up and not args.keep:
            lifecycle.down(model.name, driver)
    if args.cross_check:
        if args.junit:
            junit.write(args.junit, model.name, outcomes)
        return explain_commands.print_cross_check(args, model, outcomes, commands)
    return _report_outcomes(args, model, outcomes, commands)


def _report_outcomes(
    args: argparse.Namespace,
    model: Model,
    outcomes: list[Outcome],
    commands: list[CommandOutcome],
    modelled: bool = False,
) -> int:
    from netemu.explain import commands as explain_commands
    from netemu.probe import junit

    failed = sum(not o.ok for o in outcomes) + sum(not c.ok for c in commands)
    total = len(outcomes) + len(commands)
    if args.junit:
        junit.write(args.junit, model.name, outcomes)
    if args.html:
        from netemu.views import html

        html.write(args.html, model, outcomes)
    if args.json:
        doc = {
            "scenario": model.name,
            "passed": total - failed,
            "failed": failed,
            "results": [o.to_json() for o in outcomes],
            **({"commands": [c.to_json() for c in commands]} if commands else {}),
        }
        if modelled:  # `run:` expectations and downloads need the kernel: said so
            doc |= {"modelled": True, "not_run": explain_commands.not_run(model)}
        print(json.dumps(doc, indent=1))
    else:
        lang = i18n.lang_of(args)
        for o in outcomes:
            for line in report.outcome_lines(o):
                print(i18n.line(line, lang))
        for c in commands:
            for line in c.lines():
                print(i18n.line(line, lang))
        if modelled and explain_commands.not_run(model):
            n = explain_commands.not_run(model)
            print(f"{model.name}: {n} expectation(s) (`run:`, `size:`) need the kernel, not run")
        print(
            i18n.text("test.summary", lang, name=model.name, passed=total - failed, failed=failed)
        )
    return ExitStatus.CHECKS_FAILED if failed else ExitStatus.OK


def cmd_stop_start(args: argparse.Namespace) -> int:
    target: Literal["running", "stopped"] = "stopped" if args.command == "stop" else "running"
    name = lifecycle.current(args.scenario)
    instance = by_id(lifecycle.running_model(name), args.instance)
    inst = lifecycle.set_instance_state(name, instance, target, lifecycle.KernelDriver())
    public = f", public {inst.public_ip}" if inst.public_ip else ", no public IP"
    print(f"instance '{inst.name}' is {inst.state}: private {inst.private_ip or '-'}{public}")
    return ExitStatus.OK


def cmd_apply(args: argparse.Namespace) -> int:
    from netemu.ops import apply

    changes, warnings = apply.apply_file(args.file, args.dry_run, lifecycle.KernelDriver())
    _print_problems(warnings)
    if args.json:
        print(json.dumps(changes.to_json(), indent=1))
        return ExitStatus.OK
    for line in apply.report(changes):
        print(line)
    return ExitStatus.OK


def cmd_logs(args: argparse.Namespace) -> int:
    from netemu.services import logs

    name = lifecycle.current(args.scenario)
    model = lifecycle.running_model(name)
    topology.endpoint_ns(model, args.target)  # an unknown target is a usage error
    found = logs.of(model, st.state_dir(name), args.target)
    if not found:
        print(f"{args.target}: no user data or service logs")
    for title, text in found:
        print(f"== {title}")
        print(text.rstrip("\n"))
    return ExitStatus.OK


def cmd_verify(args: argparse.Namespace) -> int:
    from netemu import verify
    from netemu.render import render

    driver = lifecycle.KernelDriver()
    driver.check_host()
    name = lifecycle.current(args.name)
    state = st.load(name)
    model = lifecycle.running_model(name)
    differences = verify.verify(model, render(model), state.pids if state else [])
    if args.json:
        print(json.dumps({"scenario": name, **verify.report(differences)}, indent=1))
    else:
        for d in differences:
            print(d)
        if differences:
            print(f"{name}: {len(differences)} difference(s) between the kernel and the plan")
        else:
            print(f"{name}: the kernel holds exactly what the plan asks for")
    return ExitStatus.CHECKS_FAILED if differences else ExitStatus.OK


def cmd_serve(args: argparse.Namespace) -> int:
    from netemu.serve import server

    lifecycle.KernelDriver().check_host()
    opts = server.Options(args.host, args.port, args.region, args.name, args.source, args.state)
    server.run(opts, lambda url: print(f"serving EC2 API on {url}", flush=True))
    return ExitStatus.OK


Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    """Every command: the ones defined here and the other modules' own."""
    p, sub, add = _core_parser()
    _register_others(sub, add)
    return p


def _register_others(sub: argparse._SubParsersAction[argparse.ArgumentParser], add: Add) -> None:
    from netemu import lab
    from netemu.explain import commands as explain_commands
    from netemu.interop import commands as interop_commands
    from netemu.views import commands as views

    lab.register(sub, add)  # netemu lab list|start|hint|check|solution|stop
    views.register(sub, add)  # netemu schema|graph|ui|flowlogs
    interop_commands.register(sub, add)  # netemu import, netemu export
    explain_commands.register(add, _port)  # netemu explain, netemu reach


def _core_parser() -> tuple[
    argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser], Add
]:
    """The commands defined in this module."""
    p = argparse.ArgumentParser(
        prog="netemu", description="AWS VPC networking, built for real in one Linux kernel."
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=fn)
        return sp

    add(
        "validate", cmd_validate, "check a scenario against AWS rules; touches nothing"
    ).add_argument("file")
    add("up", cmd_up, "build a scenario in the kernel").add_argument("file")
    d = add("down", cmd_down, "remove everything a scenario created")
    d.add_argument("target", nargs="?", metavar="NAME|FILE")
    d.add_argument("--all", action="store_true", help="remove every scenario netemu recorded")
    d.add_argument(
        "--force-unrecorded",
        action="store_true",
        help="with --all: also remove ne-* namespaces that no scenario records",
    )
    s = add("status", cmd_status, "show what is running")
    s.add_argument("name", nargs="?")
    s.add_argument("--json", action="store_true")
    e = add("exec", cmd_exec, "run a command inside an instance, NAT gateway or internet host")
    e.add_argument("-s", "--scenario")
    e.add_argument("target")
    e.add_argument("command", nargs=argparse.REMAINDER)
    sh = add("ssh", cmd_ssh, "log in with the real ssh client and the scenario's key pair")
    sh.usage = "netemu ssh [-s NAME] TARGET [--from HOST] [--jump BASTION] [-- CMD...]"
    sh.add_argument("-s", "--scenario")
    sh.add_argument("target", metavar="TARGET", help="instance, internet host or address")
    sh.add_argument(
        "--from", dest="source", metavar="HOST", help="where ssh runs (default: an internet host)"
    )
    sh.add_argument("--jump", metavar="BASTION", help="log in through this host (ssh -J)")
    sh.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    pr = add("probe", cmd_probe, "send one real probe and say what happened to it")
    pr.add_argument("-s", "--scenario")
    pr.add_argument("source", metavar="FROM")
    pr.add_argument("destination", metavar="TO")
    kind = pr.add_mutually_exclusive_group(required=True)
    kind.add_argument("--tcp", type=_port, metavar="PORT")
    kind.add_argument("--udp", type=_port, metavar="PORT")
    kind.add_argument("--icmp", action="store_true")
    pr.add_argument("--source-port", type=_port, metavar="PORT")
    pr.add_argument(
        "-6", dest="ipv6", action="store_true", help="to the destination's IPv6 address"
    )
    pr.add_argument(
        "--size", type=_size, metavar="BYTES", help="download BYTES over a real TCP connection"
    )
    pr.add_argument("--json", action="store_true")
    i18n.add_option(pr)
    for verb, what in (
        ("stop", "stop an instance (its auto public IP is released)"),
        ("start", "start a stopped instance (it gets a new auto public IP)"),
    ):
        ss = add(verb, cmd_stop_start, what)
        ss.add_argument("-s", "--scenario")
        ss.add_argument("instance")
    t = add("test", cmd_test, "run a scenario's expectations (bringing it up and down if needed)")
    t.add_argument("file")
    i18n.add_option(t)
    t.add_argument("--json", action="store_true")
    t.add_argument("--junit", metavar="PATH")
    t.add_argument("--html", metavar="PATH", help="a self-contained HTML report with the diagram")
    t.add_argument("--keep", action="store_true", help="leave the scenario up afterwards")
    ap = add(
        "apply", cmd_apply, "change a running scenario to match FILE, in place (AWS semantics)"
    )
    ap.add_argument("file")
    ap.add_argument("--dry-run", action="store_true", help="print the changes, touch nothing")
    ap.add_argument("--json", action="store_true")
    judged = t.add_mutually_exclusive_group()
    judged.add_argument(
        "--static", action="store_true", help="judge by the model alone (no root, no packets)"
    )
    judged.add_argument(
        "--cross-check",
        action="store_true",
        help="judge by packets and by the model; any disagreement fails",
    )
    lg = add("logs", cmd_logs, "show the output of an instance's user data and servers")
    lg.add_argument("-s", "--scenario")
    lg.add_argument("target", metavar="TARGET")
    v = add("verify", cmd_verify, "check the live kernel state against the scenario's plan")
    v.add_argument("name", nargs="?", metavar="NAME")
    v.add_argument("--json", action="store_true")
    se = add("serve", cmd_serve, "the EC2 API on localhost; every call lands in the kernel")
    se.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    se.add_argument("--port", type=_listen_port, default=4566)
    se.add_argument("--region", default="us-east-1")
    se.add_argument("--name", default="api", help="the scenario name of the account")
    se.add_argument("--from", dest="source", metavar="FILE", help="internet hosts from FILE")
    se.add_argument("--state", metavar="DIR", help="where acknowledged calls are kept")
    return p, sub, add


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (1-65535)")
    return value


def _listen_port(text: str) -> int:
    """A port to listen on; 0: any free one (the first line of output names it)."""
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0-65535; 0: any free one)")
    return value


def _size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000_000:
        raise argparse.ArgumentTypeError(f"{text} is not a size (1-10000000 bytes)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, sub, add = _core_parser()
    if not argv or argv[0] not in sub.choices:
        # Only then: the other modules' commands cost a tenth of a second of imports, most
        # of `netemu probe`'s start (issue 21).
        _register_others(sub, add)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ScenarioInvalid as e:
        _print_problems(e.problems)
        print(f"{len(e.problems)} problem(s) found; nothing was changed", file=sys.stderr)
        return ExitStatus.INVALID_INPUT
    except NetemuError as e:
        print(f"netemu: {e}", file=sys.stderr)
        return int(e.exit_status)
    except KeyboardInterrupt:
        print("netemu: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `netemu test … | head`: the reader left, nothing to report
        sys.stderr.close()
        return ExitStatus.OK


def run() -> NoReturn:
    """The `netemu` command: `main`, then an exit that skips the interpreter's teardown.
    Freeing a thousand-instance model and plan object by object, and libnftables
    contexts one at a time, took 130-190 ms after an `apply` had finished (issue 12); at
    exit the kernel releases everything the process holds in one go. Every file netemu
    writes is closed by then; only the standard streams may hold buffered output."""
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)  # a profiler or coverage writes its results at teardown
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
