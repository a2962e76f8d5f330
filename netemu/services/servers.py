"""What each service answers: `http` reports the client address it saw, `"tcp:PORT"` says
who it is, `"udp:PORT"` echoes (scenario-format.md 1, services)."""

from __future__ import annotations

import asyncio
import json
from typing import cast

from netemu.services.httpd import Peer, Request, Response


def http_answer(owner: str, req: Request, peer: Peer) -> Response:
    """Any GET: the address and port the request came from as this server saw them, so a
    test reads the source after NAT (an elastic IP, a public IP) from the body."""
    if req.method not in ("GET", "HEAD"):
        return Response(405, "Method Not Allowed\n", headers=(("Allow", "GET, HEAD"),))
    body = {"client": peer.ip, "port": peer.port, "server": owner, "path": req.path}
    return Response(200, json.dumps(body) + "\n", content_type="application/json")


async def tcp_banner(
    owner: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Say one line, then read until the client closes."""
    try:
        writer.write(f"netemu {owner} tcp/{port}\n".encode())
        await writer.drain()
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    finally:
        writer.close()


class UdpEcho(asyncio.DatagramProtocol):
    """Each datagram goes back to where it came from, from the same port."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        self.transport.sendto(data, addr)
