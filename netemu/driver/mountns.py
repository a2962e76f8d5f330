"""A command's view of an endpoint: its network namespace, its own /etc files and host name.

Instances share the host's file system, so their resolv.conf and hostname are files under
the state directory (netemu.render.etc). A command run inside an endpoint gets a private
mount namespace in which those files are bind-mounted over /etc/resolv.conf and
/etc/hostname, and a private UTS namespace carrying the endpoint's host name. Mounts made
there never propagate back (the whole tree is made a slave first), so the host's /etc
stays byte-identical. `ip netns exec` does the same with /etc/netns/NAME/, which would
mean writing into the host's /etc; this does not.

Everything here runs in a single-threaded process about to exec (the CLI) or in a child
between fork and exec (`preexec_fn`), so it changes that process only.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from netemu.driver import netns
from netemu.driver.netns import MNT_DETACH, MS_BIND, MS_REC, _check, _libc
from netemu.render import etc

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
MS_SLAVE = 1 << 19


def overlays(state_dir: str, name: str) -> list[tuple[str, str]]:
    """(source, /etc target) pairs for the endpoint's files that exist (a NAT gateway has no
    hostname file) and whose target exists (a bind mount needs something to cover)."""
    out = []
    for rel, target in etc.overlays(name):
        src = os.path.join(state_dir, rel)
        if os.path.isfile(src) and os.path.exists(target):
            out.append((src, target))
    return out


def enter_endpoint(ns: str, state_dir: str, name: str) -> None:
    """Move the calling process into network namespace `ns` with `name`'s /etc files and
    host name in fresh mount and UTS namespaces."""
    netns.enter_for_good(ns)
    binds = overlays(state_dir, name)
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
    # Slave, not private: host mounts made later still show up here, but nothing mounted
    # here reaches the host.
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_SLAVE, None), "make / rslave")
    # sysfs shows the network devices of the namespace that mounted it, so remount it as
    # `ip netns exec` does; tools reading /sys/class/net then see the endpoint's eth0.
    if _libc.umount2(b"/sys", MNT_DETACH) == 0:
        _check(_libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None), "mount /sys")
    for src, target in binds:
        # Writable: editing /etc/resolv.conf inside an instance edits that instance's file.
        _check(_libc.mount(src.encode(), target.encode(), None, MS_BIND, None), f"bind {target}")
    host = _hostname(os.path.join(state_dir, etc.hostname(name)))
    if host:
        _check(_libc.sethostname(host, len(host)), "sethostname")


def _hostname(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read().strip()
    except FileNotFoundError:  # a NAT gateway, or an instance not yet leased
        return b""


def preexec(ns: str, state_dir: str, name: str) -> Callable[[], None]:
    """A `preexec_fn` for subprocess that runs the child inside the endpoint."""
    return lambda: enter_endpoint(ns, state_dir, name)
