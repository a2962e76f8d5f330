"""Plan -> kernel: namespaces, veth cables, addresses, routes, rules and nftables, in-process.

One netlink socket per namespace, opened while the thread is inside it (a netlink socket
stays bound to the namespace it was created in), and one nftables transaction per
namespace. Nothing is created in the host's own namespace.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import subprocess
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import nftables
from pyroute2 import IPRoute

from netemu.driver import netns, process
from netemu.errors import KernelError
from netemu.render.names import NFT_TABLE
from netemu.render.plan import Address, File, Link, Plan, Process, Route, Rule, Ruleset

IFA_F_NOPREFIXROUTE = 0x200
RTNH_F_ONLINK = 4
CHOSEN_INDEX_BASE = 100_000
RT_TYPES = {"unicast": 1, "blackhole": 6, "unreachable": 7}


class Sockets:
    """Netlink sockets per namespace, opened on first use. Only the most recently used few
    stay open: a thousand namespaces would otherwise mean a thousand descriptors, past
    what select() (used inside pyroute2) can watch."""

    MAX_OPEN = 32

    def __init__(self) -> None:
        self._open: OrderedDict[str, Any] = OrderedDict()
        self._index: dict[tuple[str, str], int] = {}

    def __getitem__(self, ns: str) -> Any:
        if ns in self._open:
            self._open.move_to_end(ns)
            return self._open[ns]
        if len(self._open) >= self.MAX_OPEN:
            _, oldest = self._open.popitem(last=False)
            oldest.close()
        with netns.entered(ns):
            self._open[ns] = IPRoute()
        return self._open[ns]

    def index(self, ns: str, ifname: str) -> int:
        key = (ns, ifname)
        if key not in self._index:
            self.learn(ns)
        if key not in self._index:
            raise KernelError(f"no interface {ifname} in namespace {ns}")
        return self._index[key]

    def learn(self, ns: str) -> None:
        """Record every interface index of `ns` with one dump."""
        for msg in self[ns].get_links():
            self._index[(ns, msg.get("ifname"))] = msg["index"]

    def next_index(self, ns: str, ifname: str) -> int:
        """An ifindex for a new interface in `ns`. The kernel numbers the peers it creates
        upwards from 2; ours start far above, so the two never meet."""
        used = [i for (n, _), i in self._index.items() if n == ns and i >= CHOSEN_INDEX_BASE]
        index = max([CHOSEN_INDEX_BASE - 1, *used]) + 1
        self._index[(ns, ifname)] = index
        return index

    def close(self) -> None:
        for sock in self._open.values():
            sock.close()
        self._open.clear()


def _link(socks: Sockets, link: Link) -> None:
    """Create the pair from side a, up, with an ifindex we choose, so no lookup is needed
    for it later; side b's index is learnt from one dump per namespace (`learn`)."""
    fd = os.open(netns.path(link.ns_b), os.O_RDONLY)
    try:
        peer: dict[str, Any] = {"ifname": link.ifname_b, "net_ns_fd": fd}
        if link.mac_b:
            peer["address"] = link.mac_b
        index = socks.next_index(link.ns_a, link.ifname_a)
        kwargs: dict[str, Any] = {
            "ifname": link.ifname_a,
            "kind": "veth",
            "peer": peer,
            "index": index,
            "state": "up",
        }
        if link.mac_a:
            kwargs["address"] = link.mac_a
        socks[link.ns_a].link("add", **kwargs)
    finally:
        os.close(fd)


def _raise_peer(socks: Sockets, link: Link) -> None:
    # The peer comes up (and gets the cable's name as alias) only once the kernel made it.
    kwargs: dict[str, Any] = {"index": socks.index(link.ns_b, link.ifname_b), "state": "up"}
    if link.alias:
        kwargs["ifalias"] = link.alias
    socks[link.ns_b].link("set", **kwargs)


def _address(socks: Sockets, a: Address) -> None:
    ip, plen = a.cidr.split("/")
    kwargs: dict[str, Any] = {
        "index": socks.index(a.ns, a.ifname),
        "address": ip,
        "prefixlen": int(plen),
    }
    if a.noprefixroute:
        kwargs["flags"] = IFA_F_NOPREFIXROUTE
    socks[a.ns].addr("add", **kwargs)


def _route(socks: Sockets, r: Route) -> None:
    kwargs: dict[str, Any] = {"dst": r.dst, "table": r.table, "type": RT_TYPES[r.kind]}
    if r.via:
        kwargs["gateway"] = r.via
    if r.dev:
        kwargs["oif"] = socks.index(r.ns, r.dev)
    if r.metric is not None:
        kwargs["priority"] = r.metric
    if r.onlink:
        kwargs["flags"] = RTNH_F_ONLINK
    socks[r.ns].route("add", **kwargs)


def _rule(socks: Sockets, r: Rule) -> None:
    kwargs: dict[str, Any] = {"table": r.table, "priority": r.priority}
    if r.iif:
        kwargs["iifname"] = r.iif
    if r.fwmark is not None:
        kwargs["fwmark"] = r.fwmark
    socks[r.ns].rule("add", **kwargs)


def load_ruleset(rs: Ruleset, replace: bool = False) -> None:
    """Load a namespace's ruleset in one transaction; with `replace`, the old table goes in
    the same transaction, so no packet ever sees a half-loaded ruleset."""
    doc = rs.json()
    if replace:
        table = {"family": "inet", "name": NFT_TABLE}
        doc = {
            "nftables": [{"add": {"table": table}}, {"delete": {"table": table}}, *doc["nftables"]]
        }
    with netns.entered(rs.ns):
        nft = nftables.Nftables()
        nft.set_json_output(True)
        rc, _out, err = nft.json_cmd(doc)
    if rc != 0:
        raise KernelError(
            f"nftables refused the ruleset for {rs.ns}: {err.strip()}\n"
            + json.dumps(rs.json())[:2000]
        )


def apply(plan: Plan, created: list[str], workdir: str, pids: list[int]) -> None:
    """Build everything in `plan`. Each namespace made is appended to `created` before it is
    configured, and each daemon started to `pids`, so the caller can roll back whatever
    exists if this raises. Files and logs go to `workdir`."""
    socks = Sockets()
    try:
        for ns in plan.namespaces:
            netns.create(ns.name)
            created.append(ns.name)
            with netns.entered(ns.name):
                for key, value in ns.sysctls:
                    netns.write_sysctl(key, value)
            socks[ns.name].link("set", index=1, state="up")  # lo is always ifindex 1
        for link in plan.links:
            _link(socks, link)
        for link in plan.links:
            _raise_peer(socks, link)
        for ns in plan.namespaces:
            if ns.late_sysctls:
                with netns.entered(ns.name):
                    for key, value in ns.late_sysctls:
                        for path in glob.glob(f"/proc/sys/{key}"):
                            netns.write_sysctl(path.removeprefix("/proc/sys/"), value)
        for a in plan.addresses:
            _address(socks, a)
        for r in plan.routes:
            _route(socks, r)
        for rule in plan.rules:
            _rule(socks, rule)
        for rs in plan.rulesets:
            load_ruleset(rs)
        run_processes(plan, workdir, pids)
    except KernelError:
        raise
    except Exception as e:  # netlink and OS errors carry no context of their own
        raise KernelError(f"{type(e).__name__}: {e}") from e
    finally:
        socks.close()


def reload(before: Plan, after: Plan, workdir: str) -> None:
    """Bring a running scenario from `before` to `after`: routes that differ, every ruleset
    that differs, and every file that differs (daemons such as the metadata service re-read
    theirs); stop/start changes nothing else."""
    changed = set(after.files) - set(before.files)
    write_files(changed, workdir)
    _tell_readers(after, {f.path for f in changed}, workdir)
    socks = Sockets()
    try:
        for r in set(before.routes) - set(after.routes):
            kwargs: dict[str, Any] = {"dst": r.dst, "table": r.table}
            if r.metric is not None:
                kwargs["priority"] = r.metric
            socks[r.ns].route("del", **kwargs)
        for r in after.routes:
            if r not in set(before.routes):
                _route(socks, r)
        old = {rs.ns: rs for rs in before.rulesets}
        for rs in after.rulesets:
            if old.get(rs.ns) != rs:
                load_ruleset(rs, replace=True)
    except KernelError:
        raise
    except Exception as e:
        raise KernelError(f"{type(e).__name__}: {e}") from e
    finally:
        socks.close()


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


def run_processes(plan: Plan, workdir: str, pids: list[int], timeout: float = 30.0) -> None:
    write_files(plan.files, workdir)
    logs = os.path.join(workdir, "logs")
    os.makedirs(logs, exist_ok=True)
    for phase in sorted({p.phase for p in plan.processes}):
        group = [p for p in plan.processes if p.phase == phase]
        daemons = [
            (p, _spawn(p, workdir, logs)) for p in group if not p.wait
        ]
        pids.extend(child.pid for _, child in daemons)
        for p, child in daemons:
            if p.ready_file:
                _await_file(os.path.join(workdir, p.ready_file), p, child, timeout, _log(logs, p))
        tasks = [
            (p, _spawn(p, workdir, logs)) for p in group if p.wait
        ]
        deadline = time.monotonic() + timeout
        for p, child in tasks:
            try:
                rc = child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                raise KernelError(f"{p.name} did not finish within {timeout:.0f} s") from None
            if rc != 0:
                raise KernelError(f"{p.name} failed (exit {rc}); see {_log(logs, p)}")


def _spawn(p: Process, workdir: str, logs: str) -> subprocess.Popen[bytes]:
    if p.endpoint:
        return process.spawn_in_endpoint(p.ns, _argv(p, workdir), _log(logs, p), workdir, p.endpoint)
    return process.spawn(p.ns, _argv(p, workdir), _log(logs, p))


def _argv(p: Process, workdir: str) -> list[str]:
    return [a.replace("{state}", workdir) for a in p.argv]


def _log(logs: str, p: Process) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in p.name)
    return os.path.join(logs, f"{safe}.log")


def _await_file(
    path: str, p: Process, child: subprocess.Popen[bytes], timeout: float, log: str
) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if child.poll() is not None:
            raise KernelError(
                f"{p.name} exited ({child.returncode}) before it was ready; see {log}"
            )
        if time.monotonic() > deadline:
            raise KernelError(f"{p.name} did not become ready within {timeout:.0f} s; see {log}")
        time.sleep(0.005)


def destroy(names: list[str]) -> None:
    """Stop every process inside the namespaces (they would keep them alive), then remove
    the namespaces; the kernel deletes their links and rules with them."""
    process.stop(process.pids_in(names))
    for name in names:
        netns.delete(name)
