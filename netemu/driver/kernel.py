"""Plan -> kernel: namespaces, veth cables, addresses, routes, rules and nftables, in-process.

Links, addresses, routes and rules go through batched rtnetlink (driver.build), nftables
in one transaction per namespace. Nothing is created in the host's own namespace.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from netemu.driver import build, halves, lease, netns, nft_contexts, process, readiness, tasks
from netemu.errors import KernelError
from netemu.render import arp
from netemu.render.names import NFT_TABLE
from netemu.render.plan import File, Namespace, Plan, Process, Ruleset

LOGS = "logs"  # under the state directory: one log per daemon, one for all tasks
TASKS_LOG = "tasks.log"  # the output of every one-shot task, under its name (driver.tasks)


def load_ruleset(rs: Ruleset, replace: bool = False) -> None:
    """Load a namespace's ruleset in one transaction; with `replace`, the old table goes in
    the same transaction, so no packet ever sees a half-loaded ruleset.

    Connection tracking timeout policies (render.conntrack) are the exception: the JSON
    parser of libnftables 1.0.6 drops their `policy` (fixed upstream by "parser_json: Wrong
    check in json_parse_ct_timeout_policy()"), so they follow in a text transaction, and
    the rules naming them in a third. Until then new connections get the namespace's
    default timeouts; every filtering rule is in place from the first transaction."""
    commands = list(rs.commands)
    policies = [c for c in commands if "ct timeout" in c.get("add", {})]
    # Rules naming a policy wait for it only when it is made here (a change of chains,
    # driver.nft_delta, names policies the table already holds).
    users = (
        [c for c in commands if "rule" in c.get("add", {}) and _names_policy(c)] if policies else []
    )
    first = [c for c in commands if c not in policies and c not in users]
    if replace:
        for family in arp.ALL_FAMILIES:  # arp, netdev: render.arp
            table = {"family": family, "name": NFT_TABLE}
            first = [{"add": {"table": table}}, {"delete": {"table": table}}, *first]
    with netns.entered(rs.ns):
        nft = nft_contexts.context(rs.ns)
        nft.set_json_output(True)
        rc, _out, err = nft.json_cmd({"nftables": first})
        if rc == 0 and policies:
            rc, _out, err = nft.cmd(
                "\n".join(_policy_text(c["add"]["ct timeout"]) for c in policies)
            )
        if rc == 0 and users:
            rc, _out, err = nft.json_cmd({"nftables": users})
    if rc != 0:
        nft_contexts.forget(rs.ns)  # whatever its cache holds, the next load starts afresh
        raise KernelError(
            f"nftables refused the ruleset for {rs.ns}: {err.strip()}\n"
            + json.dumps(rs.json())[:2000]
        )


def _names_policy(value: object) -> bool:
    if isinstance(value, dict):
        return "ct timeout" in value or any(_names_policy(v) for v in value.values())
    if isinstance(value, list):
        return any(_names_policy(v) for v in value)
    return False


_POLICY_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_POLICY_STATES = {"established", "unreplied", "replied"}


def _policy_text(obj: dict[str, object]) -> str:
    """`add ct timeout ...` in nft's text syntax, from netemu's own names and integers only
    (render.conntrack): nothing from a scenario reaches this text unchecked."""
    name, proto, policy = obj["name"], obj["protocol"], obj["policy"]
    if not (isinstance(name, str) and _POLICY_NAME.fullmatch(name)):
        raise ValueError(f"not a timeout policy name of netemu's: {name!r}")
    if proto not in ("tcp", "udp") or not isinstance(policy, dict):
        raise ValueError(f"not a timeout policy of netemu's: {obj!r}")
    states = []
    for state, seconds in policy.items():
        if state not in _POLICY_STATES or type(seconds) is not int:
            raise ValueError(f"not a timeout policy of netemu's: {policy!r}")
        states.append(f"{state} : {seconds}")
    return (
        f"add ct timeout inet {NFT_TABLE} {name} {{ protocol {proto}; l3proto ip; "
        f"policy = {{ {', '.join(states)} }}; }}"
    )


def apply(plan: Plan, created: list[str], workdir: str, pids: list[int]) -> None:
    """Build everything in `plan`. Each namespace made is appended to `created` before it is
    configured, and each daemon started to `pids`, so the caller can roll back whatever
    exists if this raises. Files and logs go to `workdir`."""
    indexes = build.ifindexes(plan)
    try:
        # First, while no other thread exists: a forked copy may make half of them.
        _make_namespaces(plan, created)
        # A second thread fills the state directory meanwhile: on the reference machine
        # each new file or directory there costs about a millisecond of CPU (ext4 /run),
        # and a thousand instances need a thousand directories (each one's /etc).
        with ThreadPoolExecutor(max_workers=1) as pool:
            files = pool.submit(_prepare_state, plan, workdir)
            _build(plan, indexes)
            files.result()
        run_processes(plan, workdir, pids)
    except KernelError:
        raise
    except Exception as e:  # netlink and OS errors carry no context of their own
        raise KernelError(f"{type(e).__name__}: {e}") from e


def _make_namespaces(plan: Plan, created: list[str]) -> None:
    """Every namespace of the plan, each appended to `created` once it exists."""
    if halves.worth_it(len(plan.namespaces)):  # a thousand instances: 0.3 s of 1.7 s saved
        (mine, error), other = halves.shared(plan.namespaces, _make)
        if isinstance(other, halves.CopyFailed):  # what it made is unknown: what exists
            theirs = {ns.name for ns in plan.namespaces[1::2]}
            other = [n for n in netns.list_names("") if n in theirs], other
        created += mine + other[0]
        error = error or other[1]
    else:
        mine, error = _make(plan.namespaces)
        created += mine
    if error is not None:
        raise error  # an OSError keeps its errno: capacity.exhausted reads it


def _build(plan: Plan, indexes: build.Indexes) -> None:
    """The rest, inside the namespaces: links, late sysctls, addresses and routes, rules."""
    build.links(plan, indexes)
    for ns in plan.namespaces:
        if ns.late_sysctls:
            with netns.entered(ns.name):
                for key, value in ns.late_sysctls:
                    for path in glob.glob(f"/proc/sys/{key}"):
                        netns.write_sysctl(path.removeprefix("/proc/sys/"), value)
    build.configure(plan, indexes)
    for rs in plan.rulesets:
        load_ruleset(rs)


def _make(namespaces: Sequence[Namespace]) -> tuple[list[str], Exception | None]:
    """Each namespace with its sysctls and loopback up: the names made, and what stopped
    the rest (returned, not raised, so that a forked copy's names come back with it)."""
    made: list[str] = []
    try:
        for ns in namespaces:
            netns.create(ns.name)
            made.append(ns.name)
            with netns.entered(ns.name):
                for key, value in ns.sysctls:
                    netns.write_sysctl(key, value)
                build.loopback_up(ns.name)
    except Exception as e:
        return made, e
    return made, None


def _prepare_state(plan: Plan, workdir: str) -> None:
    """The plan's files, the log directory and the directories processes write into."""
    write_files(plan.files, workdir)
    os.makedirs(os.path.join(workdir, LOGS), exist_ok=True)
    for p in plan.processes:
        for d in p.dirs:
            os.makedirs(os.path.join(workdir, d), exist_ok=True)


def reload(before: Plan, after: Plan, workdir: str, pids: list[int] | None = None) -> None:
    """Bring a running scenario from `before` to `after`: routes that differ, every ruleset
    that differs, every file that differs (daemons such as the metadata service re-read
    theirs), and the processes only one plan has (a stopped instance's servers are stopped
    by PID, a started one's started again); `pids` follows them."""
    changed = set(after.files) - set(before.files)
    write_files(changed, workdir)
    _tell_readers(after, {f.path for f in changed}, workdir)
    pids = [] if pids is None else pids
    try:
        _stop_daemons([p for p in before.processes if p not in after.processes], workdir, pids)
        build.reroute(before, after)
        old = {rs.ns: rs for rs in before.rulesets}
        for rs in after.rulesets:
            if old.get(rs.ns) != rs:
                load_ruleset(rs, replace=True)
        new = tuple(p for p in after.processes if p not in before.processes)
        if new:
            run_processes(dataclasses.replace(after, processes=new), workdir, pids)
    except KernelError:
        raise
    except Exception as e:
        raise KernelError(f"{type(e).__name__}: {e}") from e


def _stop_daemons(gone: list[Process], workdir: str, pids: list[int]) -> None:
    """Each daemon whose ready file holds its pid (mariadbd, nginx and the like)."""
    for p in gone:
        if p.wait or p.ready_file is None:
            continue
        path = os.path.join(workdir, p.ready_file)
        pid = readiness.pid_in(path)
        if pid is None:
            continue
        readiness.stop_group(pid)
        if pid in pids:
            pids.remove(pid)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _tell_readers(plan: Plan, changed: set[str], workdir: str) -> None:
    """Signal each daemon that rereads its files on a signal (dnsmasq: SIGHUP) and names
    a changed one in its arguments."""
    for p in plan.processes:
        if p.reread_signal is None or p.ready_file is None:
            continue
        if not any(f"{{state}}/{path}" in arg for path in changed for arg in p.argv):
            continue
        gone = (FileNotFoundError, ValueError, ProcessLookupError)
        with contextlib.suppress(*gone), open(os.path.join(workdir, p.ready_file)) as f:
            os.kill(int(f.read().strip()), p.reread_signal)


def write_files(files: Iterable[File], workdir: str) -> None:
    """Write each file whole under a temporary name, then rename it into place: daemons
    that re-read a file when it changes never see half of it."""
    for f in files:
        path = os.path.join(workdir, f.path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp"
        with open(tmp, "w") as out:
            out.write(f.content)
        os.chmod(tmp, f.mode)
        os.replace(tmp, path)


def run_processes(
    plan: Plan, workdir: str, pids: list[int], timeout: float = 30.0,
    indexes: build.Indexes | None = None,
) -> None:  # fmt: skip
    """Start the plan's processes phase by phase, in a state directory `_prepare_state`
    has filled. `indexes`: the interfaces' ifindexes, when not the plan's own (apply)."""
    logs = os.path.join(workdir, LOGS)
    indexes = build.ifindexes(plan) if indexes is None else indexes
    for phase in sorted({p.phase for p in plan.processes}):
        group = [p for p in plan.processes if p.phase == phase]
        daemons = [(p, _start_daemon(p, workdir, logs)) for p in group if not p.wait]
        pids.extend(child.pid for _, child in daemons)
        for p, child in daemons:
            if p.ready_file:
                _await_file(os.path.join(workdir, p.ready_file), p, child, timeout, _log(logs, p))
            if p.ready_tcp:
                readiness.await_tcp(p, child, timeout, _log(logs, p))
        jobs = [p for p in group if p.wait]
        log = os.path.join(logs, TASKS_LOG)
        done = tasks.run(jobs, lambda p, out: _spawn(p, workdir, out), log, timeout)
        for p, output in done:
            if p.lease:
                lease.configure(p.ns, lease.parse(output, p.name), indexes, p.name)


def _start_daemon(p: Process, workdir: str, logs: str) -> process.Child:
    if p.ready_file:  # one left by an earlier run (a stopped instance's) says nothing now
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(workdir, p.ready_file))
    with open(_log(logs, p), "ab") as log:
        return _spawn(p, workdir, log.fileno())


def _spawn(p: Process, workdir: str, output: int) -> process.Child:
    argv = [_fill(a, workdir) for a in p.argv]
    env = {k: _fill(v, workdir) for k, v in p.env}
    endpoint = (workdir, p.endpoint) if p.endpoint else None
    return process.spawn(p.ns, argv, output, env, endpoint)


def _fill(arg: str, workdir: str) -> str:
    return arg.replace("{state}", workdir)


def _log(logs: str, p: Process) -> str:
    return os.path.join(logs, os.path.basename(process.log_file(p.name)))


def _await_file(path: str, p: Process, child: process.Child, timeout: float, log: str) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if child.poll() is not None:
            raise readiness.failed(f"{p.name} exited ({child.returncode}) before it was ready", log)
        if time.monotonic() > deadline:
            raise readiness.failed(f"{p.name} did not become ready within {timeout:.0f} s", log)
        time.sleep(0.005)


def destroy(names: list[str]) -> None:
    """Stop every process inside the namespaces (they would keep them alive), then remove
    the namespaces; the kernel deletes their links and rules with them."""
    process.stop(process.pids_in(names))
    for name in names:
        netns.delete(name)
