"""Plan -> plan on a running scenario: the kernel side of `netemu apply` (ops.apply).

Only what differs is touched. Namespaces and cables that went away are removed, new ones
made; addresses, routes and policy rules go in one rtnetlink batch per namespace (deletions
first, so a replaced route is never missing for longer than the batch); every namespace
whose nftables ruleset differs gets the new one in one transaction (the old table goes
in the same transaction, so no packet sees a mixture); daemons whose configuration
changed are restarted, new ones started, and DHCP clients run for instances whose ENI
cable is new. Untouched namespaces, cables and processes keep their state, so a flow
that the change does not concern keeps its connection-tracking entries.

`tolerant` is for rolling back from a half-applied change: every step is tried, a step
the kernel refuses (an object already there or already gone) does not stop the others.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

from netemu.driver import build, kernel, netns, nft_delta, process, rtnl
from netemu.driver.rtnl_batch import IFLA_IFNAME, Batch
from netemu.errors import KernelError
from netemu.render import names as n
from netemu.render.plan import Link, Namespace, Plan, Process, Ruleset

CONNTRACK = "conntrack"  # conntrack-tools: forgets a NAT mapping that is no longer valid


@dataclass
class _Run:
    tolerant: bool
    errors: list[str] = field(default_factory=list)

    def step(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except KernelError as e:
            if not self.tolerant:
                raise
            self.errors.append(str(e))
        except OSError as e:
            if not self.tolerant:
                raise KernelError(f"{type(e).__name__}: {e}") from e
            self.errors.append(str(e))


def daemons(plan: Plan) -> list[Process]:
    """The plan's daemons in the order `up` starts them, which is the order of the
    state file's pids (verify relies on it)."""
    return [
        p
        for phase in sorted({p.phase for p in plan.processes})
        for p in plan.processes
        if p.phase == phase and not p.wait
    ]


def change(
    before: Plan, after: Plan, workdir: str, running: dict[Process, int], tolerant: bool = False
) -> list[int]:
    """Make the running `before` into `after`; returns the pids of `after`'s daemons, in
    the state file's order. `running` maps each daemon that runs to its pid and is kept up
    to date as daemons stop and start, so a rollback knows what runs if this raises."""
    run = _Run(tolerant)
    old_ns = {ns.name: ns for ns in before.namespaces}
    new_ns = {ns.name: ns for ns in after.namespaces}
    removed = [name for name in old_ns if name not in new_ns]
    added = [ns for ns in after.namespaces if ns.name not in old_ns]
    old_links, new_link_set = set(before.links), set(after.links)
    gone_links = [x for x in before.links if x not in new_link_set]
    new_links = [x for x in after.links if x not in old_links]
    dead = {(ns, i) for x in gone_links for ns, i in ((x.ns_a, x.ifname_a), (x.ns_b, x.ifname_b))}
    fresh = {(ns, i) for x in new_links for ns, i in ((x.ns_a, x.ifname_a), (x.ns_b, x.ifname_b))}
    changed_files = {f.path for f in set(after.files) - set(before.files)}
    old_processes, new_processes = set(before.processes), set(after.processes)

    keep = {
        p: pid
        for p, pid in running.items()
        if not _restart(p, new_processes, changed_files, dead) and _alive(pid)
    }
    stopping = [p for p in running if p not in keep]
    run.step(lambda: process.stop([running[p] for p in stopping]))
    for p in stopping:
        del running[p]
    # Cables first, while both their ends' namespaces exist: a removed namespace is freed by
    # the kernel later, on its own, and its cables with it, so a cable looked up after its
    # removal may vanish before it is deleted (ENODEV), or outlive the lookup and be in the
    # way of its successor (EEXIST) when a rollback makes it again.
    for x in gone_links:
        run.step(partial(_delete_link, x, old_ns))
    run.step(lambda: kernel.destroy(removed))
    for space in added:
        run.step(partial(_create_namespace, space))
    for space in after.namespaces:
        old = old_ns.get(space.name)
        if old is not None and old.sysctls != space.sysctls:
            run.step(partial(_sysctls, space.name, set(space.sysctls) - set(old.sysctls)))
    if new_links:
        run.step(lambda: _create_links(after, new_links))
    for name in {name for name, _ in fresh} | {space.name for space in added}:
        late = new_ns[name].late_sysctls
        if late:
            run.step(partial(_late_sysctls, name, late))
    run.step(lambda: _addresses_routes_rules(before, after, dead | fresh, set(removed), run))
    old_rulesets = {r.ns: r for r in before.rulesets}
    for rs in after.rulesets:
        old_rs = old_rulesets.get(rs.ns)
        if old_rs != rs:
            run.step(partial(_load_ruleset, rs, old_rs, tolerant))
    new_rulesets = {r.ns for r in after.rulesets}
    for rs in before.rulesets:
        if rs.ns in new_ns and rs.ns not in new_rulesets:
            run.step(partial(_drop_table, rs.ns))
    run.step(
        lambda: kernel.write_files([f for f in after.files if f.path in changed_files], workdir)
    )
    kernel._tell_readers(after, changed_files, workdir)
    started: list[int] = []
    tasks = [p for p in after.processes if p.wait and _task_needed(p, old_processes, fresh)]
    todo = [p for p in daemons(after) if p not in keep] + tasks
    for p in todo:
        if p.ready_file:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(workdir, p.ready_file))
    sub = replace(after, processes=tuple(todo))

    def start() -> None:
        for p in sub.processes:
            for d in p.dirs:
                os.makedirs(os.path.join(workdir, d), exist_ok=True)
        indexes = _kernel_indexes({p.ns for p in sub.processes if p.lease})
        kernel.run_processes(sub, workdir, started, indexes=indexes)

    run.step(start)
    running.update(zip([p for p in daemons(after) if p not in keep], started, strict=False))
    out = [running.get(p, 0) for p in daemons(after)]
    for igw_ns in _remapped_gateways(before, after, new_ns):
        run.step(partial(_forget_mappings, igw_ns, before, after))
    if run.errors:
        raise KernelError("; ".join(run.errors[:5]))
    return [p for p in out if p]


def _restart(
    p: Process, after: set[Process], changed: set[str], dead: set[tuple[str, str]]
) -> bool:
    """A daemon is restarted when it is gone from the plan or changed, when a file it
    reads at start changed and it cannot be told to reread it, and (DHCP servers) when
    one of its ports was made anew."""
    if p not in after:
        return True
    if p.reread_signal is None and any(f"{{state}}/{c}" in a for c in changed for a in p.argv):
        return True
    return p.name.startswith("dhcp-server") and any(ns == p.ns for ns, _ in dead)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _task_needed(p: Process, before: set[Process], fresh: set[tuple[str, str]]) -> bool:
    """A one-shot task runs when it is new, or (a DHCP client) when its ENI is new."""
    if p not in before:
        return True
    return p.lease and (p.ns, n.ENI_IF) in fresh


def _delete_link(x: Link, alive: dict[str, Namespace]) -> None:
    """Delete the veth pair by the first of its ends whose namespace is there."""
    for ns, ifname in ((x.ns_a, x.ifname_a), (x.ns_b, x.ifname_b)):
        if ns in alive and os.path.exists(netns.path(ns)):
            index = _kernel_indexes({ns}).get((ns, ifname))
            if index is None:
                return  # gone with its peer's namespace (a rollback of a half-made change)
            batch = Batch()
            batch.link_delete(index, x)
            with build.socket_in(ns) as sock:
                batch.commit(sock)
            return


def _create_namespace(ns: Namespace) -> None:
    netns.create(ns.name)
    with netns.entered(ns.name):
        for key, value in ns.sysctls:
            netns.write_sysctl(key, value)
        build.loopback_up(ns.name)


def _sysctls(ns: str, values: set[tuple[str, str]]) -> None:
    with netns.entered(ns):
        for key, value in sorted(values):
            netns.write_sysctl(key, value)


def _late_sysctls(ns: str, values: tuple[tuple[str, str], ...]) -> None:
    with netns.entered(ns):
        for key, value in values:
            for path in glob.glob(f"/proc/sys/{key}"):
                netns.write_sysctl(path.removeprefix("/proc/sys/"), value)


def _kernel_indexes(namespaces: set[str]) -> build.Indexes:
    out: build.Indexes = {}
    for ns in sorted(namespaces):
        with netns.entered(ns), rtnl.Socket() as dump:
            for m in dump.links():
                out[(ns, m.text(IFLA_IFNAME) or "")] = m.fields[2]
    return out


def _create_links(plan: Plan, links: list[Link]) -> None:
    """New cables, made as `up` makes them (build.links), numbered above every interface
    index of the namespaces they join (a veth whose peer has its own index is slow to
    come up: build.ifindexes); side b then comes up with its alias."""
    involved = {x.ns_a for x in links} | {x.ns_b for x in links}
    top = max([build.CHOSEN_INDEX_BASE, *_kernel_indexes(involved).values()])
    indexes: build.Indexes = {}
    for x in links:
        for end in ((x.ns_a, x.ifname_a), (x.ns_b, x.ifname_b)):
            top += 1
            indexes[end] = top
    build.links(replace(plan, links=tuple(links)), indexes)
    by_b: dict[str, Batch] = {}
    for x in links:
        by_b.setdefault(x.ns_b, Batch()).link_set(indexes[(x.ns_b, x.ifname_b)], x, alias=x.alias)
    for ns, batch in by_b.items():
        with build.socket_in(ns) as sock:
            batch.commit(sock)


def _addresses_routes_rules(
    before: Plan, after: Plan, remade: set[tuple[str, str]], removed: set[str], run: _Run
) -> None:
    """Per namespace, one batch: what went away, then what is new; objects on a cable
    that was made anew count as new (they went with the old cable)."""

    def lost(ns: str, dev: str | None) -> bool:
        return ns in removed or (dev is not None and (ns, dev) in remade)

    new_addrs, old_addrs = set(after.addresses), set(before.addresses)
    new_routes, old_routes = set(after.routes), set(before.routes)
    new_rules, old_rules = set(after.rules), set(before.rules)
    gone_a = [a for a in before.addresses if a not in new_addrs and not lost(a.ns, a.ifname)]
    add_a = [a for a in after.addresses if a not in old_addrs or lost(a.ns, a.ifname)]
    gone_r = [r for r in before.routes if r not in new_routes and not lost(r.ns, r.dev)]
    add_r = [r for r in after.routes if r not in old_routes or lost(r.ns, r.dev)]
    gone_p = [r for r in before.rules if r not in new_rules and r.ns not in removed]
    add_p = [r for r in after.rules if r not in old_rules]
    touched = dict.fromkeys(
        [*(a.ns for a in gone_a + add_a), *(r.ns for r in gone_r + add_r)]
        + [r.ns for r in gone_p + add_p]
    )
    for ns in touched:

        def one(ns: str = ns) -> None:
            indexes = _kernel_indexes({ns})
            batch = Batch()
            for rule in gone_p:
                if rule.ns == ns:
                    batch.rule_delete(
                        rule.table,
                        rule.priority,
                        rule,
                        iifname=rule.iif,
                        fwmark=rule.fwmark,
                        family=rule.family,
                        src=rule.src,
                    )
            for r in gone_r:
                if r.ns == ns:
                    batch.route_delete(r.dst, r, table=r.table, metric=r.metric)
            for a in gone_a:
                if a.ns == ns:
                    batch.address_delete(build.index_of(indexes, ns, a.ifname), a.cidr, a)
            for a in add_a:
                if a.ns == ns:
                    index = build.index_of(indexes, ns, a.ifname)
                    batch.address(index, a.cidr, a, noprefixroute=a.noprefixroute)
            for r in add_r:
                if r.ns == ns:
                    build._route(batch, r, indexes)
            for new_rule in add_p:
                if new_rule.ns == ns:
                    batch.rule(
                        new_rule.table, new_rule.priority, new_rule, iifname=new_rule.iif,
                        fwmark=new_rule.fwmark, family=new_rule.family, src=new_rule.src,
                    )  # fmt: skip
            with build.socket_in(ns) as sock:
                batch.commit(sock)

        run.step(one)


def _load_ruleset(rs: Ruleset, old: Ruleset | None, tolerant: bool) -> None:
    """Only the chains that differ, when the table keeps its shape (driver.nft_delta); a
    rollback replaces whole tables, since it cannot know which rules a namespace holds."""
    found = None if old is None or tolerant else nft_delta.delta(old, rs)
    if found is None:
        kernel.load_ruleset(rs, replace=old is not None)
    elif found[0]:
        kernel.load_ruleset(Ruleset(rs.ns, tuple(found[0])))


def _drop_table(ns: str) -> None:
    import nftables

    with netns.entered(ns):
        nft = nftables.Nftables()
        nft.json_cmd({"nftables": [{"delete": {"table": {"family": "inet", "name": n.NFT_TABLE}}}]})


def _remapped_gateways(before: Plan, after: Plan, alive: dict[str, Namespace]) -> list[str]:
    """Internet gateways whose public<->private map changed (elastic IP moved, public IP
    released, instance gone)."""
    old = {rs.ns: rs for rs in before.rulesets}
    return [
        rs.ns
        for rs in after.rulesets
        if rs.ns in alive and alive[rs.ns].aws.startswith("internet_gateway:")
        and rs.ns in old and old[rs.ns] != rs
    ]  # fmt: skip


def _pairs(plan: Plan, ns: str) -> set[tuple[str, str]]:
    for rs in plan.rulesets:
        if rs.ns == ns:
            for cmd in rs.commands:
                m = cmd.get("add", {}).get("map")
                if m and m.get("name") == "public_of":
                    return {(a, b) for a, b in m.get("elem", [])}
    return set()


def _forget_mappings(ns: str, before: Plan, after: Plan) -> None:
    """The gateway's conntrack keeps translating a flow by the mapping it started with;
    a public IP taken away must end those flows, as it does on AWS (5.3, 9.3)."""
    if shutil.which(CONNTRACK) is None:
        raise KernelError("conntrack (package conntrack) is missing: run `sudo make setup`")
    for private, public in sorted(_pairs(before, ns) - _pairs(after, ns)):
        for flag, value in (("--orig-src", private), ("--orig-dst", public)):
            subprocess.run(
                [CONNTRACK, "-D", flag, value],
                capture_output=True,
                check=False,
                preexec_fn=lambda: netns.enter_for_good(ns),
            )


def touched(before: Plan, after: Plan) -> set[str]:
    """The namespaces whose kernel state a change from `before` to `after` touches: what
    `apply` verifies afterwards (the rest is as it was)."""
    out: set[str] = set()
    for kind in ("addresses", "routes", "rules", "processes"):
        out |= {x.ns for x in set(getattr(before, kind)) ^ set(getattr(after, kind))}
    for x in set(before.links) ^ set(after.links):
        out |= {x.ns_a, x.ns_b}
    out |= {ns.name for ns in set(before.namespaces) ^ set(after.namespaces)}
    old = {r.ns: r for r in before.rulesets}
    out |= {r.ns for r in after.rulesets if old.get(r.ns) != r}
    out |= set(old) - {r.ns for r in after.rulesets}
    return out
