"""The kernel's floor: N bare namespaces, each with one veth to a hub namespace, built as fast
as this process can, with the same tools netemu's own build uses: in-process namespaces,
peers created directly in their namespace, and every veth in batched rtnetlink requests
(driver/rtnl_batch.py), so that a ratio against the floor measures netemu's extra work and
not a slower way of making the same objects.

Run as child processes by bench/run.py, like `netemu up` and `netemu down`, so both sides pay
an interpreter's start: `python -m bench.floor N --keep` builds and prints the seconds it
took inside, `python -m bench.floor N --down` removes them and prints its own
(`python -m bench.floor N` does both in one process).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

from netemu.driver import netns
from netemu.driver.rtnl_batch import Batch, LinkEnd, open_socket

FIRST_INDEX = 100_000


def build(n: int, prefix: str = "ne-floor-", keep: bool = False) -> tuple[float, float]:
    """Seconds to build N namespaces and their veths, and to remove them (0 with `keep`)."""
    names = [f"{prefix}{i}" for i in range(n)]
    hub = f"{prefix}hub"
    t0 = time.perf_counter()
    netns.create(hub)
    for name in names:
        netns.create(name)
    fds = [os.open(netns.path(name), os.O_RDONLY) for name in names]
    try:
        with netns.entered(hub):
            sock = open_socket()
        with contextlib.closing(sock):
            batch = Batch()
            for i, fd in enumerate(fds):
                main = LinkEnd(f"h{i}", FIRST_INDEX + i)
                batch.veth(main, LinkEnd("eth0", FIRST_INDEX + n + i, ns_fd=fd), names[i])
            batch.commit(sock)
    finally:
        for fd in fds:
            os.close(fd)
    up = time.perf_counter() - t0
    return up, 0.0 if keep else delete(n, prefix)


def delete(n: int, prefix: str = "ne-floor-") -> float:
    t1 = time.perf_counter()
    for name in [*(f"{prefix}{i}" for i in range(n)), f"{prefix}hub"]:
        netns.delete(name)
    return time.perf_counter() - t1


def build_only(n: int, prefix: str = "ne-floor-") -> float:
    return build(n, prefix, keep=True)[0]


if __name__ == "__main__":
    count = int(sys.argv[1])
    if "--down" in sys.argv:
        print(json.dumps({"down": delete(count)}))
    elif "--keep" in sys.argv:
        print(json.dumps({"up": build_only(count)}))
    else:
        up, down = build(count)
        print(json.dumps({"up": up, "down": down}))
