"""Limits (issue 7.6): a scenario larger than the host can hold is refused before anything is
built, or rolled back with a message naming the limit; a host without nftables, conntrack
or root gets exit 3 with what to install or how to run. Host probes are replaced
in-process; nothing is uninstalled and the host is never really exhausted."""

from __future__ import annotations

import dataclasses
import errno
import os

import pytest
import relkit

from netemu import capacity, lifecycle
from netemu.driver import kernel, netns
from netemu.errors import ExitStatus
from netemu.model import load_model_text
from netemu.render import render

ROOMY = capacity.Limits(
    mem_total_kib=24 * 1024 * 1024,
    mem_available_kib=20 * 1024 * 1024,
    max_net_namespaces=100_000,
    net_namespaces_in_use=10,
    mount_max=100_000,
    mounts_in_use=50,
    pid_max=4_000_000,
    processes_in_use=200,
    files_soft=1024,
    files_hard=1024,
)


def _plan() -> tuple[object, object]:
    model, _ = load_model_text(relkit.scenario("rl-lim"))
    return model, render(model)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"mem_available_kib": 200 * 1024}, "limit hit: memory (MemAvailable)"),
        ({"max_net_namespaces": 20}, "limit hit: user.max_net_namespaces = 20"),
        ({"mount_max": 55}, "limit hit: fs.mount-max = 55"),
        ({"pid_max": 250}, "limit hit: kernel.pid_max = 250"),
        ({"files_soft": 64, "files_hard": 64}, "limit hit: ulimit -n (soft 64, hard 64)"),
    ],
)
def test_a_scenario_past_a_host_limit_is_refused_naming_it(
    change: dict[str, int], named: str
) -> None:
    model, plan = _plan()
    capacity.check(model, plan, ROOMY)  # type: ignore[arg-type]  # fits a roomy host
    with pytest.raises(capacity.CapacityExceeded) as refused:
        capacity.check(model, plan, dataclasses.replace(ROOMY, **change))  # type: ignore[arg-type]
    assert named in str(refused.value) and "Nothing was built" in str(refused.value)
    assert refused.value.exit_status == ExitStatus.HOST_UNSUPPORTED


def test_cost_model_counts_namespaces_and_daemons() -> None:
    model, plan = _plan()
    cost = capacity.cost(model, plan)  # type: ignore[arg-type]
    assert cost.namespaces == 14  # 5 instances, NAT, 3 subnets, router, IGW, internet, 2 hosts
    assert cost.daemons >= 5  # DHCP servers, DNS servers, the service daemon, sshds
    assert cost.memory_kib == 14 * 512 + cost.daemons * 16 * 1024


def test_exhausted_host_errors_are_named() -> None:
    cause = OSError(errno.ENOSPC, "No space left on device")
    try:
        raise RuntimeError("wrapped") from cause
    except RuntimeError as e:
        assert capacity.exhausted(e) == capacity._EXHAUSTED[errno.ENOSPC]
    assert capacity.exhausted(ValueError("x")) is None


@pytest.mark.kernel
def test_up_past_the_namespace_limit_exits_3_before_building(
    workdir: str, nothing_left: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = relkit.write(workdir, relkit.scenario("rl-lim"), "rl-lim.yaml")
    real = capacity.host_limits()
    low = dataclasses.replace(real, max_net_namespaces=real.net_namespaces_in_use + 3)
    monkeypatch.setattr(capacity, "host_limits", lambda: low)
    before = netns.list_names("")
    ran = relkit.netemu("up", path)
    assert ran.rc == ExitStatus.HOST_UNSUPPORTED
    assert "user.max_net_namespaces" in ran.err and "Nothing was built" in ran.err
    assert netns.list_names("") == before and not os.path.exists("/run/netemu/rl-lim")


@pytest.mark.kernel
def test_up_that_hits_a_limit_midway_rolls_back_and_names_it(
    workdir: str, nothing_left: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel refuses the sixth namespace as it does past user.max_net_namespaces
    (ENOSPC): everything made so far goes, and the message says which limit it was."""
    path = relkit.write(workdir, relkit.scenario("rl-lim"), "rl-lim.yaml")
    real_create, made = kernel.netns.create, []

    def create(name: str) -> None:
        if len(made) == 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_create(name)
        made.append(name)

    monkeypatch.setattr(kernel.netns, "create", create)
    ran = relkit.netemu("up", path)
    assert ran.rc == ExitStatus.HOST_UNSUPPORTED
    assert "did not fit: the host ran out of a kernel object limit" in ran.err
    assert "user.max_net_namespaces" in ran.err and "rolled back" in ran.err
    assert len(made) == 5 and not any(netns.exists(n) for n in made)
    assert relkit.leftovers() == []


@pytest.mark.parametrize(
    ("probe", "hint"),
    [
        ("has_root", "needs root: run it with sudo"),
        ("has_libnftables", "apt-get install nftables libnftables1"),
        ("has_nftables_binding", "pip install pip-nftables"),
        ("has_conntrack", "modprobe nf_conntrack"),
    ],
)
def test_a_host_that_cannot_enforce_gets_exit_3_with_the_remedy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, probe: str, hint: str
) -> None:
    for name in ("has_root", "has_libnftables", "has_nftables_binding", "has_conntrack"):
        monkeypatch.setattr(lifecycle, name, lambda: True)
    monkeypatch.setattr(lifecycle, probe, lambda: False)
    path = relkit.write(str(tmp_path), relkit.scenario("rl-host3"), "rl-host3.yaml")
    for argv in (["up", path], ["down", "rl-host3"], ["verify", "rl-host3"]):
        ran = relkit.netemu(*argv)
        assert ran.rc == ExitStatus.HOST_UNSUPPORTED, (argv, ran.err)
        assert hint in ran.err
    assert not os.path.exists("/run/netemu/rl-host3")
