"""`netemu flowlogs`: the records a running scenario's collector wrote, as AWS prints them."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from collections.abc import Iterator

from netemu.errors import ExitStatus, UsageError
from netemu.flowlogs import records
from netemu.model.types import Model


def eni_ids(model: Model, wanted: str) -> set[str]:
    """--eni X: an ENI id, or the instance or NAT gateway that owns it."""
    found = {e.id for e in model.enis() if wanted in (e.id, e.owner)}
    if not found:
        names = ", ".join(e.owner for e in model.enis())
        raise UsageError(f"--eni {wanted}: no ENI by that id or owner (owners: {names})")
    return found


def _lines(path: str, follow: bool) -> Iterator[str]:
    while not os.path.exists(path):
        if not follow:
            return
        time.sleep(0.2)
    with open(path) as f:
        pending = ""  # the start of a line the collector is still writing
        while True:
            pending += f.readline()
            if pending.endswith("\n"):
                yield pending
                pending = ""
            elif follow:
                time.sleep(0.2)
            else:
                return


def read(state_dir: str, follow: bool = False) -> Iterator[records.Record]:
    for line in _lines(os.path.join(state_dir, records.RECORDS), follow):
        yield json.loads(line)


def _windows(state_dir: str) -> int:
    try:
        with open(os.path.join(state_dir, records.WINDOWS)) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def close_window(state_dir: str, timeout: float = 5.0) -> bool:
    """Ask the scenario's collector to close its window now and wait until it has written
    it, so the reader sees everything so far.
    False when there is no collector to ask."""
    from netemu.flowlogs.collector import CLOSE_WINDOW

    try:
        with open(os.path.join(state_dir, records.READY)) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"netemu.flowlogs" not in f.read():
                return False  # the pid is someone else's now; never signal it
    except (OSError, ValueError):
        return False
    before = _windows(state_dir)
    os.kill(pid, CLOSE_WINDOW)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _windows(state_dir) > before:
            return True
        time.sleep(0.02)
    return False


def copy_out(state_dir: str, target: str) -> int:
    """Copies the AWSLogs tree (as AWS writes it to S3) to `target`; the number of files."""
    source = os.path.join(state_dir, records.DIR, "AWSLogs")
    if not os.path.isdir(source):
        return 0
    shutil.copytree(source, os.path.join(target, "AWSLogs"), dirs_exist_ok=True)
    return sum(len(files) for _, _, files in os.walk(source))


def cmd_flowlogs(args: argparse.Namespace) -> int:
    from netemu import lifecycle
    from netemu.driver import state as st

    name = lifecycle.current(args.scenario)
    model = lifecycle.running_model(name)
    if not model.flow_logs:
        raise UsageError(f"scenario '{name}' has no flow_logs (scenario key, docs/flow-logs.md)")
    state_dir = st.state_dir(name)
    close_window(state_dir)  # AWS's interval is a maximum: show what happened until now
    if args.copy_to:
        count = copy_out(state_dir, args.copy_to)
        print(f"copied {count} file(s) to {os.path.join(args.copy_to, 'AWSLogs')}")
        return ExitStatus.OK
    only = eni_ids(model, args.eni) if args.eni else None
    for r in read(state_dir, args.follow):
        if only is not None and r.get("interface-id") not in only:
            continue
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print(records.line(r, records.fields_of(model, r.get("flow-log", ""))), flush=True)
    return ExitStatus.OK


def register(add_parser: argparse.ArgumentParser) -> None:
    add_parser.add_argument("-s", "--scenario")
    add_parser.add_argument("--eni", metavar="X", help="an ENI id, or its instance or NAT gateway")
    add_parser.add_argument("--follow", action="store_true", help="keep printing new records")
    add_parser.add_argument("--json", action="store_true")
    add_parser.add_argument(
        "--copy-to", metavar="DIR", help="copy the gzip files (AWS's S3 layout) to DIR/AWSLogs"
    )
