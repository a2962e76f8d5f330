"""libnftables contexts kept per namespace between changes of one scenario in one process
(the EC2 API endpoint, `apply_model` with the running plan held), and the lookup every
load and read-back of a refilled chain goes through.

A context caches the namespace's table. A fresh one must read all of it (every chain and
rule: thousands in a subnet of a thousand ENIs) before a transaction that flushes a chain
and refills it, and again, after waiting for the kernel to finish that transaction, before
listing the chain back: each costs about ten times the transaction itself. libnftables
checks the kernel's generation id before each command, so a cache is never trusted after
someone else changed the table.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import nftables

from netemu.driver import netns, rtnl


class NftContexts:
    """The contexts of one caller, by namespace. A context's netlink socket keeps its
    namespace alive, so one whose namespace was deleted or made again is dropped at the
    next lookup or `sweep` (after every apply that changed the kernel), and all of them
    when the caller lets go of this object (the endpoint does on `up` and after a
    refused call)."""

    def __init__(self) -> None:
        self._by_ns: dict[str, tuple[tuple[int, int], nftables.Nftables]] = {}
        # nf_tables netlink sockets for read-backs (driver.nft_read), kept for the same
        # reason: closing one costs the kernel an RCU grace period (~14 ms here).
        self._sockets: dict[str, tuple[tuple[int, int], rtnl.Socket]] = {}
        self._lock = threading.Lock()  # the driver may load namespaces from threads

    def get(self, ns: str) -> nftables.Nftables:
        """The namespace's context; the caller is inside the namespace (it is made there)."""
        return _kept(self._by_ns, ns, self._lock, nftables.Nftables)

    def socket(self, ns: str) -> rtnl.Socket:
        """The namespace's nf_tables netlink socket; the caller is inside the namespace."""
        return _kept(self._sockets, ns, self._lock, lambda: rtnl.Socket(rtnl.NETLINK_NETFILTER))

    def drop(self, ns: str) -> None:
        with self._lock:
            self._by_ns.pop(ns, None)
            _close(self._sockets.pop(ns, None))

    def sweep(self) -> None:
        with self._lock:
            for ns, (ident, _nft) in list(self._by_ns.items()):
                if _netns_identity(ns) != ident:
                    del self._by_ns[ns]
            for ns, (ident, _sock) in list(self._sockets.items()):
                if _netns_identity(ns) != ident:
                    _close(self._sockets.pop(ns))


_T = TypeVar("_T")


def _kept(
    held: dict[str, tuple[tuple[int, int], _T]], ns: str, lock: threading.Lock,
    make: Callable[[], _T],
) -> _T:  # fmt: skip
    """`held`'s object for namespace `ns` if made in the namespace that has the name now;
    else a new one from `make`, kept unless the namespace is gone."""
    ident = _netns_identity(ns)
    with lock:
        found = held.get(ns)
        if found is not None and found[0] == ident and ident is not None:
            return found[1]
        made = make()
        if ident is not None:
            held[ns] = (ident, made)
        return made


def _close(held: tuple[tuple[int, int], rtnl.Socket] | None) -> None:
    if held is not None:
        held[1].close()


def _netns_identity(ns: str) -> tuple[int, int] | None:
    try:
        st = os.stat(netns.path(ns))
    except OSError:
        return None
    return st.st_dev, st.st_ino


_held: NftContexts | None = None  # set by `keeping_contexts`, for this process


def context(ns: str) -> nftables.Nftables:
    """A context for namespace `ns` (the caller is inside it): the held one within
    `keeping_contexts`, else a fresh one."""
    return _held.get(ns) if _held is not None else nftables.Nftables()


def held_socket(ns: str) -> rtnl.Socket | None:
    """The nf_tables socket held for namespace `ns` within `keeping_contexts`, else None
    (the caller opens one of its own)."""
    return _held.socket(ns) if _held is not None else None


def forget(ns: str) -> None:
    """After a refused command: the namespace's next context starts afresh."""
    if _held is not None:
        _held.drop(ns)


@contextlib.contextmanager
def keeping_contexts(contexts: NftContexts | None) -> Iterator[None]:
    """Within the block, `load_ruleset` uses (and keeps) the contexts of `contexts`."""
    global _held
    before, _held = _held, contexts
    try:
        yield
    finally:
        _held = before
        if contexts is not None:
            contexts.sweep()
