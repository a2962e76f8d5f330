"""`netemu lab …`: troubleshooting labs on the command line (parsing and printing only).

A lab is a broken scenario with a story. `lab start` copies it into a working directory and
brings it up; the user edits the copy; `lab check` applies the edited copy to the running
lab in place (`netemu apply`, so unrelated connections stay up) and grades it
with the lab's own checks (scenarios/labs/NN-name/checks.yaml, never the copy's `expect`, so
they cannot be edited away); `lab hint`, `lab solution` and `lab stop` do what they say.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from netemu import i18n, lifecycle
from netemu import lab_session as ls
from netemu.errors import ExitStatus, Problem, UsageError
from netemu.lab_catalog import Guide, Lab, all_labs, find, labs_root, solution_diff
from netemu.model.types import Model
from netemu.probe import junit, report

Command = Callable[[argparse.Namespace], int]
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]


def register(sub: object, add: AddCommand) -> None:
    """Add `netemu lab` and its subcommands to the parser; `add` is cli.build_parser's
    helper for a top-level command (`sub` is accepted so command groups register alike)."""
    del sub
    parent = add("lab", _no_verb, "troubleshooting labs: start one, fix it, get it checked")
    verbs = parent.add_subparsers(dest="lab_command", metavar="VERB")

    def verb(name: str, fn: Command, text: str) -> argparse.ArgumentParser:
        p = verbs.add_parser(name, help=text, description=text)
        p.set_defaults(func=fn)
        return p

    lst = verb("list", cmd_list, "list the labs")
    lst.add_argument("--json", action="store_true")
    st = verb("start", cmd_start, "copy a lab's broken scenario into a directory and bring it up")
    st.add_argument("name", metavar="NAME", help="e.g. 03, 03-nat-in-private or nat-in-private")
    st.add_argument("--dir", help="working directory (default ./netemu-lab-NAME)")
    st.add_argument("--force", action="store_true", help="start over, overwriting your copy")
    h = verb("hint", cmd_hint, "show the next hint, or hint N")
    h.add_argument("number", nargs="?", type=int, metavar="N")
    c = verb(
        "check",
        cmd_check,
        "apply your edited scenario in place and run the lab's checks (exit 0: all pass)",
    )
    c.add_argument("--json", action="store_true")
    c.add_argument("--junit", metavar="PATH")
    c.add_argument(
        "--down", action="store_true", help="bring it down afterwards (for grading many copies)"
    )
    verb("solution", cmd_solution, "show the reference fix as a diff, and the explanation")
    verb("stop", cmd_stop, "bring the lab down; your scenario file stays")
    for p in (h, c, verbs.choices["solution"], verbs.choices["stop"]):
        p.add_argument("--dir", help="the lab's working directory (default: found from here)")
    for p in verbs.choices.values():
        i18n.add_option(p)


def _no_verb(args: argparse.Namespace) -> int:
    raise UsageError("say what to do: netemu lab list|start|hint|check|solution|stop")


def _title(lab: Lab, lang: str = i18n.DEFAULT) -> str:
    title = lab.guide(lang).title
    return title.split(":", 1)[1].strip() if title.lower().startswith("lab") else title


def _guide(lab: Lab, lang: str) -> Guide:
    """The lab's guide in `lang`; a visible note first when it is not translated yet."""
    guide = lab.guide(lang)
    if guide.lang != lang:
        print(i18n.text("lab.untranslated", lang, language=lang), end="\n\n")
    return guide


def cmd_list(args: argparse.Namespace) -> int:
    labs = all_labs()
    lang = i18n.lang_of(args)
    if args.json:
        rows = [{"name": lab.name, "title": _title(lab)} for lab in labs]
        print(json.dumps({"labs": rows}, indent=1))
        return ExitStatus.OK
    if not labs:
        print(i18n.text("lab.none", lang, root=labs_root()))
    for lab in labs:
        mark = "" if lab.guide(lang).lang == lang else "  (English)"
        print(f"{lab.name:<34} {_title(lab, lang)}{mark}")
    return ExitStatus.OK


def cmd_start(args: argparse.Namespace) -> int:
    lab = find(args.name)
    directory = Path(args.dir) if args.dir else ls.default_dir(lab)
    session, model = ls.start(lab, directory, args.force, lifecycle.KernelDriver())
    lang = i18n.lang_of(args)
    guide = _guide(lab, lang)
    print(guide.title, end="\n\n")
    print(guide.story, end="\n\n")
    print(i18n.text("lab.goal", lang), guide.goal, sep="\n", end="\n\n")
    print(i18n.text("lab.up", lang, name=model.name, path=session.path))
    _print_addresses(model, lang)
    print("\n" + i18n.text("lab.next", lang, path=session.path, hints=len(guide.hints)))
    return ExitStatus.OK


def _print_addresses(model: Model, lang: str) -> None:
    for inst in model.instances.values():
        public = f"  public {inst.public_ip}" if inst.public_ip else ""
        print(f"  {inst.name:<12} private {inst.private_ip or '-'}{public}")
    for nat in model.nat_gateways.values():
        print(f"  {nat.name:<12} " + i18n.text("lab.nat", lang, ip=nat.eni.public_ip))
    for host in model.internet_hosts.values():
        print(f"  {host.name:<12} " + i18n.text("lab.host", lang, ip=host.ip))


def cmd_hint(args: argparse.Namespace) -> int:
    session = ls.locate(args.dir)
    lang = i18n.lang_of(args)
    if session.find_lab().guide(lang).lang != lang:
        print(i18n.text("lab.untranslated", lang, language=lang), end="\n\n")
    h, total = ls.hint(session, args.number, lang)
    print(i18n.text("lab.hint", lang, number=h.number, total=total, title=h.title), end="\n\n")
    print(h.text)
    if h.number == total:
        print("\n" + i18n.text("lab.last_hint", lang))
    return ExitStatus.OK


def cmd_check(args: argparse.Namespace) -> int:
    session = ls.locate(args.dir)
    run = ls.check(session, lifecycle.KernelDriver(), keep_up=not args.down)
    if args.junit:
        junit.write(args.junit, session.lab, run.outcomes)
    if args.json:
        print(json.dumps(_check_json(run), indent=1))
        return ExitStatus.CHECKS_FAILED if run.failed else ExitStatus.OK
    _print_problems(run.warnings)
    lang = i18n.lang_of(args)
    for o in run.outcomes:
        for line in report.outcome_lines(o):
            print(i18n.line(line, lang))
    total = len(run.outcomes)
    if run.failed:
        passed = total - run.failed
        print(i18n.text("lab.not_fixed", lang, lab=session.lab, passed=passed, total=total))
        return ExitStatus.CHECKS_FAILED
    print(i18n.text("lab.fixed", lang, lab=session.lab, total=total))
    return ExitStatus.OK


def _check_json(run: ls.CheckRun) -> dict[str, Any]:
    s = run.session
    return {
        "lab": s.lab,
        "scenario": s.scenario,
        "file": str(s.path),
        "passed": len(run.outcomes) - run.failed,
        "failed": run.failed,
        "solved": s.solved,
        "hints_shown": s.hints_shown,
        "solution_shown": s.solution_shown,
        "checks_run": s.checks_run,
        "warnings": [str(w) for w in run.warnings],
        "results": [{"check": o.title, **o.to_json()} for o in run.outcomes],
    }


def cmd_solution(args: argparse.Namespace) -> int:
    session = ls.locate(args.dir)
    lab = session.find_lab()
    lang = i18n.lang_of(args)
    guide = _guide(lab, lang)
    ls.mark_solution_shown(session)
    print(i18n.text("lab.solution", lang, title=guide.title), end="\n\n")
    print(solution_diff(lab))
    print(i18n.text("lab.explanation", lang), end="\n\n")
    print(guide.explanation)
    return ExitStatus.OK


def cmd_stop(args: argparse.Namespace) -> int:
    session = ls.locate(args.dir)
    lang = i18n.lang_of(args)
    key = "lab.down" if ls.stop(session, lifecycle.KernelDriver()) else "lab.was_down"
    print(i18n.text(key, lang, name=session.scenario, path=session.path))
    return ExitStatus.OK


def _print_problems(problems: Sequence[Problem]) -> None:
    for p in problems:
        print(p, file=sys.stderr)
