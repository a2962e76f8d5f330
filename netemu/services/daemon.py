"""The per-scenario service daemon: sockets opened inside their namespaces, one asyncio loop
serving them all, a ready file once every socket listens, a clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import resource
import signal
import socket
import sys

from netemu.driver import netns
from netemu.services import config as cfg
from netemu.services import httpd, servers
from netemu.services.config import Config, Listener
from netemu.services.metadata import Metadata

BACKLOG = 128


def open_socket(listener: Listener) -> socket.socket:
    """A socket created while this thread is inside the listener's namespace stays there
    for its whole life; binding can happen after the thread has left."""
    kind = socket.SOCK_DGRAM if listener.kind == "udp" else socket.SOCK_STREAM
    family = socket.AF_INET6 if ":" in listener.address else socket.AF_INET
    with netns.entered(listener.ns):
        sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:  # dual stack: IPv4 arrives as ::ffff:a.b.c.d
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((listener.address, listener.port))
        if kind == socket.SOCK_STREAM:
            sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"{listener.kind}/{listener.port} in {listener.ns}: {e}") from e
    return sock


def _raise_fd_limit() -> None:
    # One descriptor per listener and connection: a thousand instances pass the usual 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _start(listener: Listener, sock: socket.socket, metadata: Metadata) -> None:
    loop = asyncio.get_running_loop()
    if listener.kind == "udp":
        await loop.create_datagram_endpoint(servers.UdpEcho, sock=sock)
        return
    if listener.kind == "tcp":
        client = functools.partial(servers.tcp_banner, listener.owner, listener.port)
        await asyncio.start_server(client, sock=sock, backlog=BACKLOG)
        return
    answer: httpd.Handler
    if listener.kind == "metadata":
        answer = functools.partial(metadata.handle, listener.ns)
    else:
        answer = functools.partial(servers.http_answer, listener.owner)
    http = functools.partial(httpd.serve, handle=answer)
    await asyncio.start_server(http, sock=sock, backlog=BACKLOG)


async def run(config: Config, state: str) -> None:
    _raise_fd_limit()
    metadata = Metadata(os.path.join(state, cfg.METADATA), config.http_tokens)
    socks = [(x, open_socket(x)) for x in config.listeners]
    for listener, sock in socks:
        await _start(listener, sock, metadata)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    cfg.write_atomic(os.path.join(state, cfg.READY), f"{os.getpid()}\n")
    print(f"netemu services: {len(socks)} sockets listening", flush=True)
    await stop.wait()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m netemu.services CONFIG_JSON", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        config = Config.from_json(f.read())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(config, cfg.state_of(argv[1])))
    return 0
