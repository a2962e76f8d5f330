"""A small HTTP/1.1 server on asyncio streams, shared by the `http` service and the instance
metadata service: requests with optional bodies, keep-alive, nothing else."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

MAX_LINE = 8192
MAX_HEADERS = 100
MAX_BODY = 65536
IDLE_TIMEOUT = 300.0  # seconds a kept-alive connection may sit idle


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    version: str
    headers: dict[str, str]  # names in lower case
    body: bytes = b""

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return conn == "keep-alive"
        return conn != "close"


@dataclass(frozen=True)
class Response:
    status: int
    body: str = ""
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()
    ip_ttl: int | None = None  # send with this IP TTL and close the connection after
    close: bool = False

    def encode(self, method: str, keep_alive: bool) -> bytes:
        body = self.body.encode()
        reason = HTTPStatus(self.status).phrase
        lines = [
            f"HTTP/1.1 {self.status} {reason}",
            "Server: netemu",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{k}: {v}" for k, v in self.headers),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        return head if method == "HEAD" else head + body


@dataclass(frozen=True)
class Peer:
    """The client's address and port as this server sees them (after any NAT)."""

    ip: str
    port: int


Handler = Callable[[Request, Peer], Response]


async def _line(reader: asyncio.StreamReader) -> str:
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise BadRequest("line too long") from None
    if len(raw) > MAX_LINE:
        raise BadRequest("line too long")
    return raw.decode("latin-1").rstrip("\r\n")


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection, or None when the client closed it."""
    try:
        first = await _line(reader)
        while first == "":  # tolerate blank lines between requests (RFC 9112 2.2)
            first = await _line(reader)
    except asyncio.IncompleteReadError:
        return None
    parts = first.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {first[:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = await _line(reader)
        if line == "":
            break
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    else:
        raise BadRequest("too many headers")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequest("bad Content-Length") from None
    if not 0 <= length <= MAX_BODY or "transfer-encoding" in headers:
        raise BadRequest("unsupported request body")
    body = await reader.readexactly(length) if length else b""
    return Request(method, target.split("?", 1)[0], version, headers, body)


async def serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handle: Handler
) -> None:
    """Answer requests on one connection until the client closes it."""
    host, port = writer.get_extra_info("peername")[:2]
    peer = Peer(host, port)
    try:
        while True:
            try:
                req = await asyncio.wait_for(read_request(reader), IDLE_TIMEOUT)
            except BadRequest as e:
                writer.write(Response(400, f"{e}\n").encode("GET", keep_alive=False))
                break
            if req is None:
                break
            resp = handle(req, peer)
            keep = req.keep_alive and not resp.close and resp.ip_ttl is None
            if resp.ip_ttl is not None:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, resp.ip_ttl)
            writer.write(resp.encode(req.method, keep))
            await writer.drain()
            if not keep:
                break
    except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
        pass
    finally:
        writer.close()
