"""The pipeline of `up` and `down`: scenario -> model -> plan -> kernel, with rollback.

The driver is passed in so that unit tests can check the orchestration with a fake one.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import os
import signal
from typing import Any, Literal, Protocol

from netemu.driver import state as st
from netemu.errors import HostUnsupported, KernelError, Problem, UsageError
from netemu.model import load_model
from netemu import instance_state
from netemu.model.types import Instance, Model
from netemu.render import names, render
from netemu.render.plan import Plan


class Driver(Protocol):
    """What the orchestration needs from the kernel side."""

    def check_host(self) -> None: ...
    def apply(self, plan: Plan, created: list[str], workdir: str, pids: list[int]) -> None: ...
    def destroy(self, namespaces: list[str]) -> None: ...
    def leftovers(self, prefix: str) -> list[str]: ...
    def reload(self, before: Plan, after: Plan) -> None: ...


class KernelDriver:
    def check_host(self) -> None:
        if os.geteuid() != 0:
            raise HostUnsupported(
                "netemu builds network namespaces and needs root: run it with sudo"
            )
        if not ctypes.util.find_library("nftables"):
            raise HostUnsupported(
                "libnftables is missing: apt-get install nftables libnftables1 (or sudo make setup)"
            )
        if not os.path.exists("/proc/sys/net/netfilter/nf_conntrack_max"):
            os.system("modprobe nf_conntrack >/dev/null 2>&1")
            if not os.path.exists("/proc/sys/net/netfilter/nf_conntrack_max"):
                raise HostUnsupported(
                    "connection tracking (nf_conntrack) is not available in this kernel; "
                    "security groups cannot be stateful without it"
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

    def reload(self, before: Plan, after: Plan) -> None:
        from netemu.driver import kernel

        kernel.reload(before, after)


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
                "private_ip": str(i.private_ip),
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


def up_model(model: Model, path: str, driver: Driver) -> None:
    """Build an already resolved model (`path` is the scenario it came from). Benchmarks use
    this to build models past AWS quotas, which `load_model` would refuse."""
    plan = render(model)
    st.claim(model.name, path)
    state = st.State(model.name, os.path.abspath(path), [ns.name for ns in plan.namespaces])
    created: list[str] = []
    try:
        st.save(state)  # before the first namespace exists, so a crash can be cleaned up
        with _interrupts_as_errors():
            driver.apply(plan, created, st.state_dir(model.name), state.pids)
        state.complete = True
        state.summary = summary(model)
        st.save(state)
    except BaseException:
        driver.destroy(created)
        st.release(model.name)
        raise


@contextlib.contextmanager
def _interrupts_as_errors() -> Any:
    """Ctrl-C or SIGTERM during `up` rolls back like any other failure."""

    def stop(signum: int, _frame: object) -> None:
        raise KernelError(f"interrupted by signal {signum}; rolling back")

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def resolve_name(arg: str) -> str:
    """`down` and friends accept a scenario name or the scenario file."""
    if os.path.isfile(arg):
        model, _ = load_model(arg)
        return model.name
    return arg


def down(scenario: str, driver: Driver) -> None:
    state = st.load(scenario)
    if state is None and not os.path.isdir(st.state_dir(scenario)):
        if driver.leftovers(names.scenario_prefix(scenario)) == []:
            raise UsageError(f"scenario '{scenario}' is not up")
    if state is not None:
        for pid in state.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        driver.destroy(list(reversed(state.namespaces)))
    else:  # `up` crashed before its first save: only our prefix tells what is ours
        driver.destroy(driver.leftovers(names.scenario_prefix(scenario)))
    st.release(scenario)


def down_all(driver: Driver) -> list[str]:
    """Remove every scenario, then any namespace of ours that no state file lists (a crash
    between creating a namespace and recording it cannot happen, but an older netemu or a
    deleted state directory could leave some)."""
    removed = []
    for scenario in st.running():
        down(scenario, driver)
        removed.append(scenario)
    orphans = driver.leftovers(names.PREFIX)
    driver.destroy(orphans)
    return removed


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
    model, _ = load_model(st.scenario_copy(name, state.source))
    return instance_state.apply_overrides(model, state.overrides)


def set_instance_state(
    scenario: str, instance: str, target: Literal["running", "stopped"], driver: Driver
) -> Instance:
    """`netemu stop|start INSTANCE`: change the model, then make the kernel follow."""
    state = st.load(scenario)
    if state is None or not state.complete:
        raise UsageError(f"scenario '{scenario}' is not completely up")
    before = running_model(scenario)
    after, inst = instance_state.change(before, state, instance, target)
    driver.reload(render(before), render(after))
    state.summary = summary(after)
    st.save(state)
    return inst
