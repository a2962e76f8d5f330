"""`netemu apply`: change a running scenario to match a scenario, in place, all or nothing.

The running model and the wanted one are diffed twice: in AWS terms for the user
(ops.diff) and as plans for the kernel (driver.change), so only what differs is touched
and every flow the change does not concern keeps its state. After the change the kernel
is verified against the new plan; on any failure (kernel error, a difference, Ctrl-C or
SIGTERM) the old plan is put back and verified, and the state directory still describes
the old scenario: it is only updated once the new one is in place. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from netemu import lifecycle
from netemu.driver import state as st
from netemu.errors import KernelError, Problem, UsageError
from netemu.model import load_model
from netemu.model.types import Model
from netemu.ops import diff, forbidden, plans
from netemu.ops.plans import Running
from netemu.ops.words import Change
from netemu.render.plan import Plan


@dataclass
class ChangeSet:
    """What an apply did (or, with dry_run, would do)."""

    scenario: str
    changes: list[Change]
    kernel: dict[str, int] = field(default_factory=dict)  # kernel objects touched, by kind
    dry_run: bool = False
    brought_up: bool = False  # the scenario was not up: `apply` did an `up`
    elapsed_ms: float = 0.0
    running: Running | None = None  # after the apply (None for a dry run or an `up`)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "dry_run": self.dry_run,
            "brought_up": self.brought_up,
            "changes": [c.to_json() for c in self.changes],
            "kernel": self.kernel,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


def kernel_counts(before: Plan, after: Plan) -> dict[str, int]:
    """How many kernel objects of each kind the change adds or removes."""
    out: dict[str, int] = {}
    for kind in ("namespaces", "links", "addresses", "routes", "rules", "rulesets", "files"):
        if kind == "rulesets":
            old = {r.ns: r for r in before.rulesets}
            count = sum(old.get(r.ns) != r for r in after.rulesets)
        else:
            count = len(set(getattr(before, kind)) ^ set(getattr(after, kind)))
        if count:
            out[kind] = count
    a_p, b_p = set(before.processes), set(after.processes)
    if a_p ^ b_p:
        out["processes"] = len(a_p ^ b_p)
    return out


def empty_like(model: Model) -> Model:
    return dataclasses.replace(
        model, vpcs={}, internet_gateways={}, subnets={}, route_tables={},
        security_groups={}, network_acls={}, instances={}, nat_gateways={},
        internet_hosts={}, expectations=(), egress_only_internet_gateways={},
    )  # fmt: skip


def apply_file(
    path: str, dry_run: bool, driver: lifecycle.Driver
) -> tuple[ChangeSet, list[Problem]]:
    """Apply the scenario file at `path`: to its running copy, or by bringing it up."""
    model, warnings = load_model(path)
    if model.name in st.running():
        driver.check_host()  # the running scenario's state is root's, also for a dry run
        return apply_model(model, model.name, dry_run, driver), warnings
    start = time.monotonic()
    changes = diff.changes(empty_like(model), model)
    if not dry_run:
        lifecycle.up(path, driver)
    ms = (time.monotonic() - start) * 1000
    return ChangeSet(model.name, changes, {}, dry_run, not dry_run, ms), warnings


def apply_model(
    new_model: Model,
    scenario: str,
    dry_run: bool = False,
    driver: lifecycle.Driver | None = None,
    running: Running | None = None,
) -> ChangeSet:
    """Change running scenario `scenario` into `new_model` (loaded from the scenario file
    `new_model.source`, which becomes the scenario's copy). Raises ScenarioInvalid for
    what AWS forbids live, UsageError when the scenario is not up, KernelError when the
    kernel refused (then the old scenario runs, verified). `running`: the scenario's
    current model and plan, when the caller holds them (the previous ChangeSet.running);
    else they are read from the state directory."""
    driver = driver or lifecycle.KernelDriver()
    start = time.monotonic()
    state = st.load(scenario)
    if state is None or not state.complete:
        raise UsageError(
            f"scenario '{scenario}' is not completely up; run `netemu down {scenario}`"
        )
    if new_model.name != scenario:
        raise UsageError(f"the file describes scenario '{new_model.name}', not '{scenario}'")
    old_model = running.model if running else plans.running_model(scenario, state)
    forbidden.refuse_forbidden(old_model, new_model, new_model.source)
    changes = diff.changes(old_model, new_model)
    before, after, whole = plans.plans(old_model, new_model, running)
    result = ChangeSet(scenario, changes, kernel_counts(before, after), dry_run)
    contexts = None
    if not dry_run:
        from netemu.driver.nft_contexts import NftContexts

        # Kept for the caller's next apply; and for this one alone, one context per
        # namespace for its whole change: a context closed after its transaction waits for
        # the kernel to free the old rules (an RCU grace period, ~13 ms here), once per
        # namespace if each closed in turn, once in all when they close together at the end.
        contexts = running.nft if running is not None and running.nft else NftContexts()
    if not dry_run and whole is not None:
        result.running = Running(new_model, whole, contexts)
    if not dry_run:
        if running is None or running.nft is None:
            driver.check_host()  # else this caller's previous apply checked it
        if before != after:
            lifecycle.check_programs(after)
            if after.namespaces or after.processes:  # rulesets alone need no capacity
                driver.check_capacity(new_model, after)
            from netemu.driver.nft_contexts import keeping_contexts

            with keeping_contexts(contexts):
                _change(driver, state, old_model, new_model, before, after)
        _save(state, new_model, before != after and bool(after.namespaces), before != after)
        if running is None:  # a caller holding the running model needs no cache of it
            from netemu.driver import model_cache

            copy = st.scenario_copy(scenario, os.path.abspath(new_model.source))
            model_cache.remember(scenario, copy, new_model)
    result.elapsed_ms = (time.monotonic() - start) * 1000
    return result


def _change(
    driver: lifecycle.Driver, state: st.State, old: Model, new: Model, before: Plan, after: Plan
) -> None:
    from netemu.driver.change import daemons

    workdir = st.state_dir(state.scenario)
    running = dict(zip(daemons(before), state.pids, strict=False))
    # Namespaces the change may make are recorded before they exist, so that `down` after
    # a crash in the middle removes them too.
    known = set(state.namespaces)
    coming = [ns.name for ns in after.namespaces if ns.name not in known]
    if coming:
        state.namespaces += coming
        st.save(state)
    undo_copy = _stage_copy(state, new)
    with _deferred_signals() as caught:
        try:
            pids = driver.change(before, after, workdir, running, False)
            if not after.namespaces:  # rulesets only (_plans): the daemons are untouched
                pids = state.pids
            differences = _verify(driver, new, after, pids, before)
            if differences:
                raise KernelError(lifecycle._verify_failed(state.scenario, differences))
            if caught and caught[0] == signal.SIGINT:
                raise KeyboardInterrupt
            if caught:
                raise KernelError(f"interrupted by signal {caught[0]}")
        except BaseException as e:
            undo_copy()
            _roll_back(driver, state, old, before, after, workdir, running, e)
            raise
    if after.namespaces:
        state.pids = pids
        state.namespaces = [ns.name for ns in after.namespaces]


def _stage_copy(state: st.State, model: Model) -> Callable[[], None]:
    """Put the new scenario's copy in place before daemons start, since the flow-log
    collector reads it when it starts (flowlogs.render); returns what undoes that."""
    path = st.scenario_copy(state.scenario, os.path.abspath(model.source))
    try:
        with open(path, "rb") as f:
            before: bytes | None = f.read()
    except FileNotFoundError:
        before = None
    shutil.copyfile(model.source, path + ".tmp")
    os.replace(path + ".tmp", path)

    def undo() -> None:
        if before is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return
        with open(path + ".tmp", "wb") as f:
            f.write(before)
        os.replace(path + ".tmp", path)

    return undo


def _verify(
    driver: lifecycle.Driver, model: Model, plan: Plan, pids: list[int], before: Plan
) -> list[Any]:
    """What the change touched, verified: only the rulesets when nothing else changed."""
    from netemu import verify
    from netemu.driver.change import touched

    names = touched(before, plan)
    # Plans of rulesets only (_plans) hold nothing else to compare; with whole plans, only
    # the kernel driver itself takes the shortcut (a test's may inject faults in `verify`).
    if not plan.namespaces or (
        type(driver) is lifecycle.KernelDriver
        and dataclasses.replace(before, rulesets=plan.rulesets) == plan  # rulesets only
    ):
        from netemu.driver import nft_delta

        old = {r.ns: r for r in before.rulesets}
        chains = {}
        for rs in plan.rulesets:
            found = nft_delta.delta(old[rs.ns], rs) if rs.ns in old and rs.ns in names else None
            if found is not None and not nft_delta.sets_changed(old[rs.ns], rs):
                chains[rs.ns] = found[1]
        return verify.verify_rulesets(plan, names, chains)
    return driver.verify(model, plan, pids, names)


def _roll_back(
    driver: lifecycle.Driver, state: st.State, old: Model, before: Plan, after: Plan,
    workdir: str, running: dict[Any, int], cause: BaseException,
) -> None:  # fmt: skip
    from netemu.driver.change import touched

    try:
        pids = driver.change(after, before, workdir, running, True)
    except KernelError:
        pids = [running.get(p, 0) for p in _daemons(before)]
    if before.namespaces:
        differences = driver.verify(old, before, pids, touched(before, after))
        state.pids = pids
        if not differences:
            state.namespaces = [ns.name for ns in before.namespaces]
        st.save(state)
    else:  # rulesets only (_plans): the daemons were not touched
        from netemu import verify

        differences = verify.verify_rulesets(before, touched(before, after))
    if differences:
        shown = "; ".join(str(d) for d in differences[:5])
        raise KernelError(
            f"apply failed ({cause}) and the rollback did not restore everything: {shown}; "
            f"run `netemu down {state.scenario}`"
        ) from cause
    if isinstance(cause, KernelError):
        raise KernelError(f"{cause}; rolled back, the previous scenario runs unchanged") from cause


def _daemons(plan: Plan) -> list[Any]:
    from netemu.driver.change import daemons

    return daemons(plan)


def _save(state: st.State, model: Model, dirty: bool, staged: bool) -> None:
    """The new scenario becomes the running one: its copy, summary and (no longer any)
    stop/start overrides, whose states the file now sets. `dirty`: the change gave the
    state new pids or namespaces (else an unchanged state file is not written again).
    `staged`: the kernel change put the copy in place already (`_stage_copy`)."""
    old_copy = st.scenario_copy(state.scenario, state.source)
    source = os.path.abspath(model.source)
    new_copy = st.scenario_copy(state.scenario, source)
    if not staged:
        tmp = new_copy + ".tmp"
        shutil.copyfile(source, tmp)
        os.replace(tmp, new_copy)
    if old_copy != new_copy:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(old_copy)
    summary = lifecycle.summary(model)
    if dirty or state.source != source or state.overrides or state.summary != summary:
        state.source, state.overrides, state.summary = source, {}, summary
        st.save(state)


@contextlib.contextmanager
def _deferred_signals() -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM during the change are held and turned into a rollback once the
    kernel is in a known state (a handler, not a signal mask: children would inherit
    a mask and ignore SIGTERM for life)."""
    import threading

    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def hold(signum: int, _frame: object) -> None:
        caught.append(signum)

    old = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def report(result: ChangeSet) -> list[str]:
    """The lines `netemu apply` prints."""
    if result.brought_up:
        head = f"scenario '{result.scenario}' was not up: brought it up"
    elif result.dry_run:
        head = (
            f"scenario '{result.scenario}': {len(result.changes)} change(s) would be made (dry run)"
        )
    elif not result.changes and not result.kernel:
        return [f"scenario '{result.scenario}': no changes"]
    else:
        n, ms = len(result.changes), result.elapsed_ms
        head = f"scenario '{result.scenario}': {n} change(s) applied in {ms:.0f} ms"
    lines = [head] + [f"  {c.text}" for c in result.changes]
    if not result.changes and result.kernel:
        lines.append("  (no AWS-visible change; kernel objects renumbered)")
    return lines
