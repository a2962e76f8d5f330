"""The pipeline of `up` and `down`: scenario -> model -> plan -> kernel, with rollback.

The driver is passed in so that unit tests can check the orchestration with a fake one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, Protocol

from netemu import capacity, instance_state
from netemu.driver import model_cache, process
from netemu.driver import state as st
from netemu.errors import HostUnsupported, KernelError, Problem, UsageError
from netemu.model import load_model
from netemu.model.types import Instance, Model
from netemu.render import names, render
from netemu.render.plan import Plan, Process

if TYPE_CHECKING:
    from types import FrameType

    from netemu.verify import Difference


class Driver(Protocol):
    """What the orchestration needs from the kernel side."""

    def check_host(self) -> None: ...
    def apply(self, plan: Plan, created: list[str], workdir: str, pids: list[int]) -> None: ...
    def destroy(self, namespaces: list[str]) -> None: ...
    def leftovers(self, prefix: str) -> list[str]: ...
    def reload(
        self, before: Plan, after: Plan, workdir: str, pids: list[int] | None = None
    ) -> None: ...
    def change(
        self, before: Plan, after: Plan, workdir: str, running: dict[Process, int],
        tolerant: bool,
    ) -> list[int]: ...  # fmt: skip
    def check_capacity(self, model: Model, plan: Plan) -> None: ...
    def verify(
        self, model: Model, plan: Plan, pids: list[int], only: set[str] | None = None
    ) -> list[Difference]: ...


CONNTRACK_SYSCTL = "/proc/sys/net/netfilter/nf_conntrack_max"


# What the host must have, one probe each (tests replace them to check the refusals).
def has_root() -> bool:
    return os.geteuid() == 0


def has_libnftables() -> bool:
    import ctypes.util  # a sixth of `netemu probe`'s imports; only `up` asks

    return bool(ctypes.util.find_library("nftables"))


def has_nftables_binding() -> bool:
    import importlib.util

    return importlib.util.find_spec("nftables") is not None


def has_conntrack() -> bool:
    if not os.path.exists(CONNTRACK_SYSCTL):
        os.system("modprobe nf_conntrack >/dev/null 2>&1")
    return os.path.exists(CONNTRACK_SYSCTL)


class KernelDriver:
    def check_host(self) -> None:
        if not has_root():
            raise HostUnsupported(
                "netemu builds network namespaces and needs root: run it with sudo"
            )
        if not has_libnftables():
            raise HostUnsupported(
                "libnftables is missing: apt-get install nftables libnftables1 (or sudo make setup)"
            )
        if not has_nftables_binding():
            raise HostUnsupported(
                "the Python binding of libnftables is missing: pip install pip-nftables "
                "(or sudo make setup, which installs netemu with it)"
            )
        if not has_conntrack():
            raise HostUnsupported(
                "connection tracking (nf_conntrack) is not available in this kernel; "
                "security groups cannot be stateful without it: load it with "
                "`modprobe nf_conntrack` or use a kernel built with CONFIG_NF_CONNTRACK"
            )

    def apply(self, plan: Plan, created: list[str], workdir: str, pids: list[int]) -> None:
        from netemu.driver import kernel

        kernel.apply(plan, created, workdir, pids)

    def destroy(self, namespaces: list[str]) -> None:
        from netemu.driver import kernel

        kernel.destroy(namespaces)

    def leftovers(self, prefix: str) -> list[str]:
        from netemu.driver import netns

        return netns.list_names(prefix)

    def reload(
        self, before: Plan, after: Plan, workdir: str, pids: list[int] | None = None
    ) -> None:
        from netemu.driver import kernel

        kernel.reload(before, after, workdir, pids)

    def change(
        self, before: Plan, after: Plan, workdir: str, running: dict[Process, int],
        tolerant: bool,
    ) -> list[int]:  # fmt: skip
        from netemu.driver import change

        return change.change(before, after, workdir, running, tolerant)

    def check_capacity(self, model: Model, plan: Plan) -> None:
        capacity.check(model, plan)

    def verify(
        self, model: Model, plan: Plan, pids: list[int], only: set[str] | None = None
    ) -> list[Difference]:
        from netemu import verify

        return verify.verify(model, plan, pids, only, bodies=False)  # see verify.verify


def summary(model: Model) -> dict[str, Any]:
    """What `status` shows, computed once at `up`."""
    s = model.name
    return {
        "name": s,
        "region": model.region,
        "instances": {
            i.name: {
                "id": i.id,
                "subnet": i.subnet,
                "private_ip": str(i.private_ip or "-"),  # "-": IPv6-only (16.11)
                "public_ip": str(i.public_ip) if i.public_ip else None,
                "state": i.state,
                "namespace": names.instance_ns(s, i.name),
            }
            for i in model.instances.values()
        },
        "nat_gateways": {
            g.name: {
                "id": g.id,
                "subnet": g.subnet,
                "private_ip": str(g.eni.private_ip),
                "public_ip": str(g.eni.public_ip) if g.eni.public_ip else None,
                "namespace": names.nat_gateway_ns(s, g.name),
            }
            for g in model.nat_gateways.values()
        },
        "network_interfaces": {  # secondary ENIs (ref 9.20)
            e.name: {
                "id": e.id,
                "subnet": e.subnet,
                "instance": e.owner,
                "device_index": e.device_index,
                "private_ips": [str(ip) for ip in e.private_ips],
                "public_ip": str(e.public_ip) if e.public_ip else None,
            }
            for e in model.network_interfaces.values()
        },
        "internet_hosts": {
            h.name: {"ip": str(h.ip), "namespace": names.host_ns(s, h.name)}
            for h in model.internet_hosts.values()
        },
    }


def up(path: str, driver: Driver) -> tuple[Model, list[Problem]]:
    """Build the scenario at `path`. On any failure, remove what was made and re-raise."""
    driver.check_host()
    model, warnings = load_model(path)
    up_model(model, path, driver)
    return model, warnings


def _refuse_taken_names(scenario: str, plan: Plan, driver: Driver) -> None:
    """Names may contain `-`, so two scenarios can want one namespace name (scenario `a`'s
    instance `i-b` and scenario `a-i`'s instance `b` are both `ne-a-i-i-b`). Refuse before
    building rather than fail halfway."""
    taken = set(driver.leftovers(names.PREFIX)) & {ns.name for ns in plan.namespaces}
    # Namespaces of this very scenario mean an `up` of it is running or crashed: the claim
    # refuses that with its own message ("already up"), even when a racing `up` got as
    # far as its first namespaces before this one looked.
    taken -= set(_namespaces_of(scenario))
    if taken:
        owners = [o for o in st.running() if taken & set(_namespaces_of(o))]
        whose = f" (used by scenario {', '.join(owners)})" if owners else ""
        raise UsageError(
            f"namespace {sorted(taken)[0]} already exists{whose}; "
            f"run `netemu down {owners[0] if owners else scenario}` or rename"
        )


def check_programs(plan: Plan) -> None:
    """Every program the plan runs (dnsmasq, udhcpc, sshd, …) must exist before anything is
    built; a missing one is a host problem (exit 3), not a failure halfway through `up`."""
    from netemu.render import dhcpv6, servers

    wanted = {p.argv[0] for p in plan.processes} | set(servers.programs(plan))
    wanted |= dhcpv6.programs(plan)  # run by a shell wrapper, not as argv[0]
    missing = sorted(x for x in wanted if not shutil.which(x))
    if missing:
        raise HostUnsupported(
            f"missing programs: {', '.join(missing)}; run `{servers.setup_hint(missing, plan)}` "
            "(Debian packages: see scripts/deb-packages.txt)"
        )


def up_model(model: Model, path: str, driver: Driver) -> None:
    """Build an already resolved model (`path` is the scenario it came from). Benchmarks use
    this to build models past AWS quotas, which `load_model` would refuse."""
    plan = render(model)
    check_programs(plan)
    driver.check_capacity(model, plan)  # too big for this host: refused before anything exists
    _refuse_taken_names(model.name, plan, driver)
    state = st.State(model.name, os.path.abspath(path), [ns.name for ns in plan.namespaces])
    state.up_pid, state.up_started = os.getpid(), _started(os.getpid())
    ours = set(state.namespaces)
    created: list[str] = []
    claimed = False
    before: set[str] | None = None
    try:
        with _Interrupts() as interrupts:
            with interrupts.held():
                st.claim(model.name, path)  # the one winner of racing `up`s; else UsageError
                claimed = True
            # Namespaces of the plan that exist already are not ours to remove on rollback
            # (creating one fails then); normally there are none.
            before = set(driver.leftovers(names.scenario_prefix(model.name))) & ours
            with interrupts.held():
                st.save(state)  # before the first namespace exists, so a crash can be cleaned up
            driver.apply(plan, created, st.state_dir(model.name), state.pids)
            differences = driver.verify(model, plan, state.pids)
            if differences:
                raise KernelError(_verify_failed(model.name, differences))
            with interrupts.held():
                state.complete = True
                state.summary = summary(model)
                st.save(state)
    except BaseException as e:
        if claimed:
            with _signals_ignored():  # a second Ctrl-C must not cut the rollback short
                _roll_back(model.name, driver, state, created, ours, before)
        limit = capacity.exhausted(e) if isinstance(e, Exception) else None
        if limit and not isinstance(e, HostUnsupported):
            raise capacity.CapacityExceeded(
                f"scenario '{model.name}' did not fit: the host ran out of {limit} ({e}); "
                "everything built was rolled back"
            ) from e
        raise
    # Built: what the next `apply` compares its file with, kept (an `up` that failed above
    # left nothing to compare with).
    model_cache.remember(model.name, st.scenario_copy(model.name, state.source), model)


def _roll_back(
    scenario: str,
    driver: Driver,
    state: st.State,
    created: list[str],
    ours: set[str],
    before: set[str] | None,
) -> None:
    """Undo an `up` that failed or was interrupted: its daemons (killed and reaped before
    their namespaces go, so none writes into the state directory afterwards), its
    namespaces, then the state directory, which is released whatever failed before."""
    try:
        process.kill(state.pids)
        # Also a namespace whose creation was interrupted before `created` heard of it.
        appeared = set(driver.leftovers(names.scenario_prefix(scenario))) & ours
        rest = sorted(appeared - (before or set()) - set(created))
        driver.destroy(created + rest)
        process.stop(process.pids_referencing(st.state_dir(scenario)))
    finally:
        st.release(scenario)


def _verify_failed(scenario: str, differences: list[Difference]) -> str:
    shown = "\n  ".join(str(d) for d in differences[:40])
    more = f"\n  ... and {len(differences) - 40} more" if len(differences) > 40 else ""
    return (
        f"scenario '{scenario}' was built, but the kernel does not hold what its plan asks "
        f"for ({len(differences)} difference(s)); rolled back:\n  {shown}{more}"
    )


class _Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM during `up` roll back like any other failure, but the
    exception is only raised where it leaves nothing half-done: not while the thread is
    inside another network namespace (it would stay there), not inside a netlink call
    (pyroute2's socket would be left mid-message), a fork (the child could escape its
    PID record), work shared with a forked copy (driver.halves: the copy must be waited
    for, and what it made known), netemu's namespace and state-file code, or a wait for
    another thread (the driver's helper thread fills the state directory: cut short, that
    wait would let the thread write on after the rollback removed the directory, and
    recreate it), and not inside `held()`.
    There the signal waits; SIGALRM looks again every 5 ms. A caller's own interval timer
    is paused meanwhile and resumes (firing at once if its time passed) afterwards. Only
    the main thread can install handlers; elsewhere signals keep their defaults."""

    RETRY_S = 0.005

    def __init__(self) -> None:
        self.pending: int | None = None
        self.depth = 0
        self.home = _thread_netns()
        self.old: dict[int, Any] = {}
        self.old_timer = (0.0, 0.0)
        self.entered_at = 0.0
        self.unsafe_files, self.unsafe_code = _critical_code()

    def __enter__(self) -> _Interrupts:
        import threading

        if threading.current_thread() is threading.main_thread():
            self.old_timer = signal.setitimer(signal.ITIMER_REAL, 0)
            self.entered_at = time.monotonic()
            for sig, handler in (
                (signal.SIGINT, self._on_signal),
                (signal.SIGTERM, self._on_signal),
                (signal.SIGALRM, self._on_alarm),
            ):
                self.old[sig] = signal.signal(sig, handler)
        return self

    def __exit__(self, *_: object) -> None:
        self.pending = None
        if self.old:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for sig, handler in self.old.items():
                signal.signal(sig, handler)
            self.old.clear()
            remaining, interval = self.old_timer
            if remaining > 0:
                left = remaining - (time.monotonic() - self.entered_at)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """A block no interrupt may cut; one that arrived meanwhile is raised after it."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
        if self.pending is not None and self.depth == 0 and not self._unsafe(None):
            self._raise()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.pending = signum
        self._try(frame)

    def _on_alarm(self, _signum: int, frame: FrameType | None) -> None:
        if self.pending is not None:
            self._try(frame)

    def _try(self, frame: FrameType | None) -> None:
        if self.depth or self._unsafe(frame):
            signal.setitimer(signal.ITIMER_REAL, self.RETRY_S)
            return
        self._raise()

    def _raise(self) -> None:
        # `pending` stays set and the timer armed: an exception raised where Python
        # swallows it (a finalizer that the garbage collector happened to run) is raised
        # again 5 ms later; leaving the `with` block ends both.
        signum = self.pending
        signal.setitimer(signal.ITIMER_REAL, self.RETRY_S)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise KernelError(f"interrupted by signal {signum}; rolled back")

    def _unsafe(self, frame: FrameType | None) -> bool:
        if _thread_netns() != self.home:
            return True
        while frame is not None:
            code = frame.f_code
            if code in self.unsafe_code or code.co_filename.startswith(self.unsafe_files):
                return True
            if code.co_name == "__del__":  # exceptions raised in finalizers are lost
                return True
            frame = frame.f_back
        return False


def _thread_netns() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def _critical_code() -> tuple[tuple[str, ...], set[Any]]:
    import concurrent.futures
    import subprocess
    import sys
    import threading

    from netemu.driver import halves, netns, process, rtnl_batch

    files: tuple[str | None, ...] = (
        rtnl_batch.__file__, netns.__file__, process.__file__, st.__file__, halves.__file__,
        threading.__file__, os.path.dirname(concurrent.futures.__file__ or ""),
    )  # fmt: skip
    # pyroute2 only if something loaded it: `up` no longer does, and importing it costs
    # a tenth of a second.
    pyroute2 = sys.modules.get("pyroute2")
    if pyroute2 is not None and pyroute2.__file__:
        files += (os.path.dirname(pyroute2.__file__),)
    popen: Any = subprocess.Popen
    code = {popen.__init__.__code__, popen._execute_child.__code__}
    return tuple(f for f in files if f), code


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def resolve_name(arg: str) -> str:
    """`down` and friends accept a scenario name or the scenario file."""
    if os.path.isfile(arg):
        model, _ = load_model(arg)
        return model.name
    return arg


def down(scenario: str, driver: Driver) -> None:
    state = st.load(scenario)
    if (
        state is None
        and not os.path.isdir(st.state_dir(scenario))
        and driver.leftovers(names.scenario_prefix(scenario)) == []
    ):
        raise UsageError(f"scenario '{scenario}' is not up")
    if state is not None and not state.complete and _alive(state.up_pid, state.up_started):
        # Tearing down under a running `up` would leave it building into nothing: the
        # daemons it starts afterwards would outlive both.
        raise UsageError(
            f"`netemu up` of '{scenario}' is still running (pid {state.up_pid}); "
            "wait for it, or stop it (it rolls back on Ctrl-C)"
        )
    if state is not None:
        process.kill(state.pids)  # and reaped: `up` in this process made them its children
        driver.destroy(list(reversed(state.namespaces)))
        # Daemons whose namespace vanished under them (a crash at the wrong moment).
        process.stop(process.pids_referencing(st.state_dir(scenario)))
    else:  # `up` crashed before its first save: only our prefix tells what is ours, less
        # what other scenarios own (scenario `a-i`'s namespaces also start with `ne-a-`)
        others = {ns for o in st.running() if o != scenario for ns in _namespaces_of(o)}
        leftovers = driver.leftovers(names.scenario_prefix(scenario))
        driver.destroy([ns for ns in leftovers if ns not in others])
    st.release(scenario)


def _started(pid: int) -> int:
    """When process `pid` started (clock ticks since boot), 0 if there is no such process:
    with the pid it tells a process apart from a later one that reuses its pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[19]) if fields[0] != "Z" else 0


def _alive(pid: int, started: int) -> bool:
    """Whether the `up` that recorded (pid, started) still runs."""
    if pid <= 0 or pid == os.getpid():
        return False
    return _started(pid) == started != 0


def _namespaces_of(scenario: str) -> list[str]:
    state = st.load(scenario)
    return state.namespaces if state else []


def down_all(driver: Driver, force_unrecorded: bool = False) -> tuple[list[str], list[str]]:
    """Remove every scenario netemu recorded under /run/netemu. Namespaces named `ne-…` that
    no record lists (an older netemu, a deleted state directory, or someone else's objects
    that merely share the prefix) are only removed with `force_unrecorded`; either way they
    are returned: (scenarios removed, unrecorded namespaces)."""
    removed = []
    for scenario in st.running():
        down(scenario, driver)
        removed.append(scenario)
    unrecorded = sorted(driver.leftovers(names.PREFIX))
    if force_unrecorded:
        driver.destroy(unrecorded)
    return removed, unrecorded


def current(name: str | None) -> str:
    """The scenario a command means: the one named, or the only one up."""
    up_now = st.running()
    if name:
        if name not in up_now:
            raise UsageError(f"scenario '{name}' is not up (up: {', '.join(up_now) or 'none'})")
        return name
    if len(up_now) == 1:
        return up_now[0]
    if not up_now:
        raise UsageError("no scenario is up; run `netemu up FILE` first")
    raise UsageError(f"several scenarios are up ({', '.join(up_now)}); choose one with -s NAME")


def running_model(name: str) -> Model:
    state = st.load(name)
    if state is None or not state.complete:
        raise UsageError(f"scenario '{name}' is not completely up; run `netemu down {name}`")
    copy = st.scenario_copy(name, state.source)

    def load() -> Model:
        model, _ = load_model(copy)
        return instance_state.apply_overrides(model, state.overrides)

    return model_cache.cached(name, copy, state.overrides, load)


def set_instance_state(
    scenario: str, instance: str, target: Literal["running", "stopped"], driver: Driver
) -> Instance:
    """`netemu stop|start INSTANCE`: change the model, then make the kernel follow."""
    state = st.load(scenario)
    if state is None or not state.complete:
        raise UsageError(f"scenario '{scenario}' is not completely up")
    before = running_model(scenario)
    after, inst = instance_state.change(before, state, instance, target)
    # The instance's servers stop or start with it; state.pids follows them.
    driver.reload(render(before), render(after), st.state_dir(scenario), state.pids)
    state.summary = summary(after)
    st.save(state)
    return inst
