"""The endpoint's HTTP server: HTTP/1.1 with keep-alive, a thread per connection, serving
one WSGI application (serve.app.Endpoint) on 127.0.0.1.

werkzeug's development server ends every connection after one response (its handler could
not drain a request the application left unread), so an SDK client opens a new TCP
connection for every call and the server starts a thread for it: about 0.6 ms of a call
that moto answers in 3 ms (issue 14's budget is three times that). Here the body is read
whole before the application runs, so the connection can carry the next request.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from netemu.errors import UsageError

Application = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Longer than any EC2 call netemu takes; an idle connection's thread ends after it.
IDLE_S = 120.0


class Server(ThreadingHTTPServer):
    """Listening from the start; it answers once `app` is set and `serve_forever` runs (a
    request before then waits in the listen queue)."""

    daemon_threads = True  # an idle keep-alive connection does not hold up the exit

    def __init__(self, address: tuple[str, int], max_body: int) -> None:
        self.app: Application | None = None
        self.max_body = max_body
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_S
    # A response leaves in one write (handle_one_request flushes it), without waiting for
    # the client's delayed ACK of an earlier segment (40 ms) as Nagle's algorithm would.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: Server

    def do_POST(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse(411, "Length Required")  # no SDK sends an EC2 call chunked
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= self.server.max_body:
            self._refuse(413 if length > 0 else 400, "bad Content-Length")
            return
        body = self.rfile.read(length)
        path, _, query = self.path.partition("?")
        environ = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        answer: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            answer[:] = [status, headers]

        assert self.server.app is not None  # set before serve_forever
        data = b"".join(self.server.app(environ, start_response))
        status, headers = answer
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason or None)
        for key, value in headers:
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST

    def _refuse(self, code: int, why: str) -> None:
        data = why.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True


def listen(host: str, port: int, max_body: int) -> Server:
    """The server bound to host:port; UsageError when the port cannot be had (another
    `netemu serve`, LocalStack on 4566, a port below 1024 taken by the host)."""
    try:
        return Server((host, port), max_body)
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
