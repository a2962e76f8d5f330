"""Network namespaces made and entered in-process, the way `ip netns` does, without forking.

A namespace is a bind mount of a thread's net namespace onto /run/netns/<name>, so `ip netns
exec` and tcpdump users can enter it too. Entering switches only the calling thread
(setns), which is what lets one process configure many namespaces quickly (architecture.md 5).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from collections.abc import Iterator

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def _prepare_dir() -> None:
    """Make /run/netns a shared mount point once, as iproute2 does, so namespace mounts
    propagate to other mount namespaces."""
    os.makedirs(NETNS_DIR, exist_ok=True)
    if os.path.ismount(NETNS_DIR):
        return
    _check(_libc.mount(b"", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None), "mount")


def _prepare_dir_fallback() -> None:
    os.makedirs(NETNS_DIR, exist_ok=True)
    if os.path.ismount(NETNS_DIR):
        return
    d = NETNS_DIR.encode()
    _check(_libc.mount(d, d, b"none", MS_BIND | MS_REC, None), "bind mount /run/netns")
    _check(_libc.mount(b"", d, b"none", MS_SHARED | MS_REC, None), "share /run/netns")


def exists(name: str) -> bool:
    return os.path.exists(path(name))


def create(name: str) -> None:
    """Create an empty network namespace called `name` (fails if it exists)."""
    try:
        _prepare_dir()
    except OSError:
        _prepare_dir_fallback()
    target = path(name)
    fd = os.open(target, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444)
    os.close(fd)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _check(_libc.unshare(CLONE_NEWNET), "unshare")
        try:
            _check(
                _libc.mount(b"/proc/thread-self/ns/net", target.encode(), b"none", MS_BIND, None),
                f"mount {target}",
            )
        finally:
            _check(_libc.setns(home, CLONE_NEWNET), "setns back")
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise
    finally:
        os.close(home)


def delete(name: str) -> None:
    """Remove a namespace; the kernel then destroys its links. Missing is not an error."""
    target = path(name)
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise OSError(err, f"umount {target}: {os.strerror(err)}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)


def list_names(prefix: str) -> list[str]:
    try:
        return sorted(x for x in os.listdir(NETNS_DIR) if x.startswith(prefix))
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the body with the calling thread inside namespace `name`."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        fd = os.open(path(name), os.O_RDONLY)
        try:
            _check(_libc.setns(fd, CLONE_NEWNET), f"setns {name}")
        finally:
            os.close(fd)
        try:
            yield
        finally:
            _check(_libc.setns(home, CLONE_NEWNET), "setns back")
    finally:
        os.close(home)


def enter_for_good(name: str) -> None:
    """Move the calling (single-threaded) process into `name`; used before exec."""
    fd = os.open(path(name), os.O_RDONLY)
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), f"setns {name}")
    finally:
        os.close(fd)


def write_sysctl(key: str, value: str) -> None:
    """Write /proc/sys/<key> for the namespace the calling thread is in."""
    with open(f"/proc/sys/{key}", "w") as f:
        f.write(value)


@contextlib.contextmanager
def scratch() -> Iterator[None]:
    """Run the body with the calling thread in a new, empty, unnamed namespace, which the
    kernel destroys when the body ends (nothing else holds it)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _check(_libc.unshare(CLONE_NEWNET), "unshare")
        try:
            yield
        finally:
            _check(_libc.setns(home, CLONE_NEWNET), "setns back")
    finally:
        os.close(home)
