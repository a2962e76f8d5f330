"""The kernel's floor: N bare namespaces, each with one veth to a hub namespace, built as fast
as this process can: in-process namespaces, peers created directly in their namespace.

Run as a child process by bench/run.py: `python -m bench.floor N` prints up and down seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time

from pyroute2 import IPRoute

from netemu.driver import netns


def build(n: int, prefix: str = "ne-floor-") -> tuple[float, float]:
    names = [f"{prefix}{i}" for i in range(n)]
    hub = f"{prefix}hub"
    t0 = time.perf_counter()
    netns.create(hub)
    for name in names:
        netns.create(name)
    with netns.entered(hub):
        ipr = IPRoute()
    for i, name in enumerate(names):
        fd = os.open(netns.path(name), os.O_RDONLY)
        try:
            ipr.link(
                "add",
                ifname=f"h{i}",
                kind="veth",
                index=100_000 + i,
                state="up",
                peer={"ifname": "eth0", "net_ns_fd": fd},
            )
        finally:
            os.close(fd)
    ipr.close()
    up = time.perf_counter() - t0
    t1 = time.perf_counter()
    for name in [*names, hub]:
        netns.delete(name)
    down = time.perf_counter() - t1
    return up, down


if __name__ == "__main__":
    up, down = build(int(sys.argv[1]))
    print(json.dumps({"up": up, "down": down}))
