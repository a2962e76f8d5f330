"""Host capacity against a scenario's size: what is too big is refused before anything exists.

The cost model comes from measurements on the reference machine (2 vCPU, 24 GiB, kernel with
nftables 1.0.6), bringing up generated scenarios of 50 and 800 instances over 10 subnets with
DHCP, DNS and the service daemon, and reading /proc/meminfo before and after:

- kernel memory grows by about 360 KiB per instance (its namespace, the veth pair, routes,
  the subnet's nftables elements, conntrack per namespace); unreclaimable slab was 300 KiB
  of it. The model charges 512 KiB per namespace.
- each daemon (dnsmasq for DHCP and DNS, sshd, netemu's Python service daemon) costs 2 to
  30 MiB of private memory; the model charges 16 MiB per daemon of the plan.
- a MariaDB server (services: mariadb) is charged 128 MiB on top: about 90 MiB resident
  with netemu's small buffers, and its data directory of about 25 MiB in /run (memory).
- the host keeps a reserve: max(256 MiB, 5 % of RAM) stays free after the scenario.

Besides memory: the user namespace's limit on network namespaces
(/proc/sys/user/max_net_namespaces, counted against every namespace that exists), mounts
(each namespace is a bind mount; /proc/sys/fs/mount-max), free process ids for the daemons
(kernel.pid_max), and open files: netemu keeps at most a few dozen descriptors for itself
while building, and the service daemon, which inherits its limit, holds one socket per
listening service; `up` raises its own soft limit up to the hard one when that is needed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
from dataclasses import dataclass

from netemu.errors import HostUnsupported
from netemu.model.types import Model
from netemu.render.plan import Plan

KIB_PER_NAMESPACE = 512
KIB_PER_DAEMON = 16 * 1024
KIB_PER_MARIADB = 128 * 1024
RESERVE_KIB = 256 * 1024
RESERVE_FRACTION = 0.05
FILES_BASE = 128  # netemu's own: a bounded set of netlink sockets, logs, state files
PROCESS_MARGIN = 64


class CapacityExceeded(HostUnsupported):
    """The scenario is larger than this host can hold (exit 3, nothing built)."""


@dataclass(frozen=True)
class Cost:
    namespaces: int
    daemons: int
    files: int
    databases: int = 0  # MariaDB servers, charged beyond a daemon's share

    @property
    def memory_kib(self) -> int:
        return (
            self.namespaces * KIB_PER_NAMESPACE
            + self.daemons * KIB_PER_DAEMON
            + self.databases * KIB_PER_MARIADB
        )


@dataclass(frozen=True)
class Limits:
    mem_total_kib: int
    mem_available_kib: int
    max_net_namespaces: int
    net_namespaces_in_use: int
    mount_max: int
    mounts_in_use: int
    pid_max: int
    processes_in_use: int
    files_soft: int
    files_hard: int


def cost(model: Model, plan: Plan) -> Cost:
    daemons = sum(1 for p in plan.processes if not p.wait)
    services = sum(len(i.services) for i in model.instances.values())
    services += sum(len(h.services) for h in model.internet_hosts.values())
    databases = sum(1 for i in model.instances.values() if i.server("mariadb"))
    files = FILES_BASE + services + len(model.subnets)
    return Cost(len(plan.namespaces), daemons, files, databases)


def _read_int(path: str, default: int) -> int:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def _meminfo() -> dict[str, int]:
    out = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                key, _, rest = line.partition(":")
                out[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def _net_namespaces() -> tuple[int, int]:
    """(namespaces that exist, processes): distinct namespaces of every process and of every
    name under /run/netns."""
    inodes: set[int] = set()
    processes = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            processes += 1
            with contextlib.suppress(OSError):
                inodes.add(os.stat(f"/proc/{entry}/ns/net").st_ino)
    try:
        for name in os.listdir("/run/netns"):
            with contextlib.suppress(OSError):
                inodes.add(os.stat(os.path.join("/run/netns", name)).st_ino)
    except FileNotFoundError:
        pass
    return len(inodes), processes


def host_limits() -> Limits:
    mem = _meminfo()
    in_use, processes = _net_namespaces()
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = sum(1 for _ in f)
    except OSError:
        mounts = 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    unlimited = 1 << 62
    return Limits(
        mem_total_kib=mem.get("MemTotal", 0),
        mem_available_kib=mem.get("MemAvailable", mem.get("MemFree", 0)),
        max_net_namespaces=_read_int("/proc/sys/user/max_net_namespaces", unlimited),
        net_namespaces_in_use=in_use,
        mount_max=_read_int("/proc/sys/fs/mount-max", unlimited),
        mounts_in_use=mounts,
        pid_max=_read_int("/proc/sys/kernel/pid_max", unlimited),
        processes_in_use=processes,
        files_soft=unlimited if soft == resource.RLIM_INFINITY else soft,
        files_hard=unlimited if hard == resource.RLIM_INFINITY else hard,
    )


def check(model: Model, plan: Plan, limits: Limits | None = None) -> None:
    """Refuse (CapacityExceeded, exit 3) a scenario this host cannot hold, naming the
    limit; raise the open-files soft limit when the hard one allows what is needed."""
    lim = limits or host_limits()
    need = cost(model, plan)
    name = f"scenario '{model.name}'"
    reserve = max(RESERVE_KIB, int(lim.mem_total_kib * RESERVE_FRACTION))
    free = lim.mem_available_kib - reserve
    if need.memory_kib > free:
        raise CapacityExceeded(
            f"{name} is too large for this host's memory: it needs about "
            f"{need.memory_kib // 1024} MiB ({need.namespaces} namespaces x "
            f"{KIB_PER_NAMESPACE} KiB + {need.daemons} daemons x {KIB_PER_DAEMON // 1024} MiB), "
            f"and {max(free, 0) // 1024} MiB are available beyond a reserve of "
            f"{reserve // 1024} MiB; limit hit: memory (MemAvailable). Nothing was built."
        )
    if lim.net_namespaces_in_use + need.namespaces > lim.max_net_namespaces:
        raise CapacityExceeded(
            f"{name} needs {need.namespaces} network namespaces and "
            f"{lim.net_namespaces_in_use} exist; limit hit: user.max_net_namespaces = "
            f"{lim.max_net_namespaces} (sysctl -w user.max_net_namespaces=N raises it). "
            "Nothing was built."
        )
    if lim.mounts_in_use + need.namespaces > lim.mount_max:
        raise CapacityExceeded(
            f"{name} needs {need.namespaces} mounts (one per namespace) and "
            f"{lim.mounts_in_use} exist; limit hit: fs.mount-max = {lim.mount_max}. "
            "Nothing was built."
        )
    if lim.processes_in_use + need.daemons + PROCESS_MARGIN > lim.pid_max:
        raise CapacityExceeded(
            f"{name} starts {need.daemons} daemons and {lim.processes_in_use} processes "
            f"run; limit hit: kernel.pid_max = {lim.pid_max}. Nothing was built."
        )
    if need.files > lim.files_soft:
        if need.files > lim.files_hard:
            raise CapacityExceeded(
                f"{name} needs about {need.files} open files; limit hit: ulimit -n "
                f"(soft {lim.files_soft}, hard {lim.files_hard}); run `ulimit -n "
                f"{need.files}` first. Nothing was built."
            )
        if limits is None:  # only for the real limits of this process
            resource.setrlimit(resource.RLIMIT_NOFILE, (need.files, lim.files_hard))


# What an OS error met while building says about the host (kernel.apply wraps them).
_EXHAUSTED = {
    errno.ENOSPC: "a kernel object limit (for new namespaces: user.max_net_namespaces)",
    errno.EMFILE: "open files of this process (ulimit -n)",
    errno.ENFILE: "open files of the whole system (fs.file-max)",
    errno.ENOMEM: "memory",
    errno.EAGAIN: "processes or threads (kernel.pid_max, ulimit -u)",
    errno.ENOBUFS: "netlink buffer space (memory)",
}


def exhausted(exc: BaseException) -> str | None:
    """The host limit an error during `up` stands for, if it is one."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _EXHAUSTED:
            return _EXHAUSTED[e.errno]
        e = e.__cause__ or e.__context__
    return None
