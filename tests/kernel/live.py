"""Kernel-test helpers for `netemu apply`: a scenario that can be re-applied, and a real TCP
connection held open between two namespaces across the changes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from functools import partial

from netemu import lifecycle
from netemu.driver import netns
from netemu.model.types import Model
from netemu.ops import apply
from netemu.render.topology import endpoint_ns

SIOCOUTQ = 0x5411  # bytes a TCP socket has sent but the peer not yet acknowledged

# An echo server: one connection at a time, every byte sent back.
ECHO = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    while True:
        d = c.recv(100)
        if not d:
            break
        c.sendall(d)
    c.close()
"""


class Live:
    """A running scenario whose file can be replaced and applied."""

    def __init__(self, directory: str, model: Model) -> None:
        self.path = os.path.join(directory, "scenario.yaml")
        self.model = model

    def apply(self, text: str) -> apply.ChangeSet:
        with open(self.path, "w") as f:
            f.write(text)
        result, _ = apply.apply_file(self.path, False, lifecycle.KernelDriver())
        self.model = lifecycle.running_model(self.model.name)
        return result


@contextlib.contextmanager
def live(text: str) -> Iterator[Live]:
    driver = lifecycle.KernelDriver()
    with tempfile.TemporaryDirectory(prefix="netemu-apply-") as d:
        path = os.path.join(d, "scenario.yaml")
        with open(path, "w") as f:
            f.write(text)
        model, _ = lifecycle.up(path, driver)
        try:
            yield Live(d, model)
        finally:
            lifecycle.down(model.name, driver)


def address(model: Model, source: str, destination: str) -> str:
    """How `source` addresses `destination`: private inside its VPC, else public."""
    inst = model.instances.get(destination)
    if inst is None:
        return str(model.internet_hosts[destination].ip)
    src = model.instances.get(source)
    inside = src is not None and model.subnets[src.subnet].vpc == model.subnets[inst.subnet].vpc
    if inside or inst.public_ip is None:
        return str(inst.private_ip)
    return str(inst.public_ip)


class Held:
    """A TCP connection from `client` to an echo server on `server`, held open; `alive()`
    sends one byte and says whether it came back."""

    def __init__(
        self, model: Model, client: str, server: str, port: int, echo: bool = True
    ) -> None:
        """With `echo=False` the scenario's own service on `port` answers, and a byte
        counts as through once the server's TCP has acknowledged it."""
        ns = endpoint_ns(model, server)
        self.echo = echo
        self.server: subprocess.Popen[bytes] | None = None
        if echo:
            self.server = subprocess.Popen(
                [sys.executable, "-c", ECHO, str(port)],
                preexec_fn=partial(netns.enter_for_good, ns),
            )
        target = (address(model, client, server), port)
        deadline = time.monotonic() + 5
        while True:
            with netns.entered(endpoint_ns(model, client)):
                sock = socket.socket()
            sock.settimeout(1.0)
            try:
                sock.connect(target)
                break
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    self.close()
                    raise
                time.sleep(0.1)
        self.sock = sock

    def alive(self, timeout: float = 3.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(b"x")
            if self.echo:
                return self.sock.recv(1) == b"x"
        except OSError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            unacked = fcntl.ioctl(self.sock.fileno(), SIOCOUTQ, b"\0" * 4)
            if struct.unpack("i", unacked)[0] == 0:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            self.sock.close()
        if self.server is not None:
            self.server.kill()
            self.server.wait()

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class HeldSsh:
    """A real SSH session (`ssh ... cat`, the scenario's key pair) held open from `client`
    to `server`; `alive()` sends a line and says whether it came back."""

    def __init__(self, model: Model, client: str, server: str) -> None:
        from netemu.driver import mountns
        from netemu.driver.state import state_dir
        from netemu.services import ssh_client

        ssh = ssh_client.command(model, state_dir(model.name), server, client, None, ["cat"])
        self.proc = subprocess.Popen(
            [*ssh.argv[:1], "-o", "ConnectTimeout=5", *ssh.argv[1:]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            preexec_fn=mountns.preexec(ssh.ns, state_dir(model.name), ssh.source),
        )
        if not self.alive(timeout=10):
            self.close()
            raise AssertionError("the ssh session did not come up")

    def alive(self, timeout: float = 3.0) -> bool:
        import select

        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(b"ping\n")
            self.proc.stdin.flush()
        except OSError:
            return False
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return bool(ready) and self.proc.stdout.readline() == b"ping\n"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> HeldSsh:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
