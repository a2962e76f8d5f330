"""Crash safety: `netemu up` killed at random points leaves nothing that `netemu down --all`
cannot remove; Ctrl-C and SIGTERM during `up` roll back by themselves (issue 7.1)."""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
from types import FrameType

import pytest
import relkit

from netemu import lifecycle
from netemu.driver import netns

pytestmark = pytest.mark.kernel

# Reduced form for `make test`; `make reliability` runs 100 SIGKILL and 30 SIGINT trials.
KILL_TRIALS = 20
INTERRUPT_TRIALS = 6


def _summary(trials: list[relkit.Trial]) -> str:
    built = [t.namespaces for t in trials]
    return (
        f"{len(trials)} trials, signal at {min(t.at_s for t in trials):.2f}-"
        f"{max(t.at_s for t in trials):.2f} s, namespaces present {min(built)}-{max(built)}, "
        f"processes present {min(t.processes for t in trials)}-{max(t.processes for t in trials)}"
    )


def test_sigkill_during_up_then_down_all_leaves_nothing(workdir: str, nothing_left: None) -> None:
    path = relkit.write(workdir, relkit.scenario("rl-crash"), "rl-crash.yaml")
    trials = relkit.signal_trials(path, "rl-crash", KILL_TRIALS, signal.SIGKILL, random.Random())
    print(_summary(trials))
    assert [t.left for t in trials if t.left] == []
    # The kills landed while the scenario was being built, not only before or after it.
    assert sum(t.namespaces > 0 for t in trials) >= KILL_TRIALS // 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_up_rolls_back_by_itself(
    workdir: str, nothing_left: None, sig: signal.Signals
) -> None:
    path = relkit.write(workdir, relkit.scenario("rl-int"), "rl-int.yaml")
    trials = relkit.signal_trials(path, "rl-int", INTERRUPT_TRIALS, sig, random.Random())
    print(_summary(trials))
    for t in trials:
        assert t.left == [], t
        # Interrupted: non-zero (130 for Ctrl-C, 1 for SIGTERM) and rolled back; or the
        # signal came once `up` had finished, and the scenario is up, exactly as planned.
        assert t.finished or t.rc != 0, t
    assert any(not t.finished and t.namespaces > 0 for t in trials)


def test_ctrl_c_inside_netlink_calls_rolls_back_in_process(
    workdir: str, nothing_left: None
) -> None:
    """SIGINT at random moments of an in-process `up`, often while the driver is inside a
    namespace or a netlink call: `up` raises KeyboardInterrupt only where it leaves nothing
    half-done, the thread ends in its own namespace, and nothing is left."""
    path = relkit.write(workdir, relkit.scenario("rl-intp"), "rl-intp.yaml")
    home = os.stat("/proc/thread-self/ns/net").st_ino
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread() is threading.main_thread()
    late: list[int] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        late.append(signum)  # a SIGINT that came after `up` returned

    old = signal.signal(signal.SIGINT, record)
    try:
        start = time.monotonic()
        model, _ = lifecycle.up(path, lifecycle.KernelDriver())
        full = time.monotonic() - start
        lifecycle.down(model.name, lifecycle.KernelDriver())
        interrupted = 0
        for i in range(INTERRUPT_TRIALS):
            delay = full * (i + random.random()) / INTERRUPT_TRIALS
            timer = threading.Timer(delay, signal.pthread_kill, (main, signal.SIGINT))
            timer.start()
            try:
                lifecycle.up(path, lifecycle.KernelDriver())
            except KeyboardInterrupt:
                interrupted += 1
            else:
                timer.join()
                time.sleep(0.05)
                lifecycle.down("rl-intp", lifecycle.KernelDriver())
            timer.join()
            assert os.stat("/proc/thread-self/ns/net").st_ino == home
            assert relkit.leftovers() == []
            assert netns.list_names("ne-rl-intp-") == []
        assert interrupted >= INTERRUPT_TRIALS // 2
    finally:
        signal.signal(signal.SIGINT, old)


def test_ctrl_c_inside_a_namespace_is_raised_only_once_back_home(
    workdir: str, nothing_left: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGINT arrives while the driver's thread is inside a namespace (writing its
    sysctls): the interrupt waits until the thread is back in its own namespace, then the
    build rolls back."""
    from netemu.driver import kernel

    path = relkit.write(workdir, relkit.scenario("rl-intns"), "rl-intns.yaml")
    home = os.stat("/proc/thread-self/ns/net").st_ino
    real, where = kernel.netns.write_sysctl, []

    def write_sysctl(key: str, value: str) -> None:
        if not where:
            where.append(os.stat("/proc/thread-self/ns/net").st_ino)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        real(key, value)

    raised_in: list[int] = []
    real_raise = lifecycle._Interrupts._raise

    def raise_(self: lifecycle._Interrupts) -> None:
        raised_in.append(os.stat("/proc/thread-self/ns/net").st_ino)
        real_raise(self)

    monkeypatch.setattr(kernel.netns, "write_sysctl", write_sysctl)
    monkeypatch.setattr(lifecycle._Interrupts, "_raise", raise_)
    with pytest.raises(KeyboardInterrupt):
        lifecycle.up(path, lifecycle.KernelDriver())
    assert where and where[0] != home  # the signal came while inside a namespace
    assert raised_in and raised_in[0] == home  # and was raised only once back home
    assert os.stat("/proc/thread-self/ns/net").st_ino == home
    assert relkit.leftovers() == []


def test_interrupts_wait_while_a_netlink_call_or_a_fork_runs() -> None:
    """The deferral itself: frames of pyroute2, of netemu's namespace and state code and of
    subprocess's fork are places where an exception would leave things half-done."""
    import pyroute2

    check = lifecycle._Interrupts()

    def here() -> bool:
        return check._unsafe(sys._getframe())

    scope = {"here": here}
    for filename in (pyroute2.__file__, netns.__file__):
        exec(compile("result = here()", filename, "exec"), scope)
        assert scope["result"] is True, filename
    exec(compile("result = here()", __file__, "exec"), scope)
    assert scope["result"] is False
