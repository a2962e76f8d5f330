"""The endpoint's HTTP server keeps a client's connection for its next call (an SDK's
connection pool reuses it), and refuses a request whose body it could not read whole."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from netemu.errors import UsageError
from netemu.serve import http as serve_http


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["REQUEST_METHOD"].encode() + b" " + body + environ["QUERY_STRING"].encode()]


@pytest.fixture
def server() -> Iterator[serve_http.Server]:
    httpd = serve_http.listen("127.0.0.1", 0, max_body=64)
    httpd.app = _echo
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_one_connection_carries_several_calls(server: serve_http.Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    answers = []
    for body in (b"Action=One", b"Action=Two"):
        conn.request("POST", "/", body=body)
        r = conn.getresponse()
        answers.append((r.status, r.read(), r.getheader("Connection")))
    conn.request("GET", "/?Action=Three")
    r = conn.getresponse()
    answers.append((r.status, r.read(), r.getheader("Connection")))
    assert answers == [
        (200, b"POST Action=One", None),
        (200, b"POST Action=Two", None),
        (200, b"GET Action=Three", None),
    ]
    assert conn.sock is not None  # never closed in between
    conn.close()


def test_a_body_over_the_limit_is_refused_and_the_connection_closed(
    server: serve_http.Server,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    conn.request("POST", "/", body=b"x" * 65)
    r = conn.getresponse()
    assert (r.status, r.getheader("Connection")) == (413, "close")
    conn.close()


def test_a_chunked_body_is_refused(server: serve_http.Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    conn.request("POST", "/", body=iter([b"Action=One"]), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})  # fmt: skip
    assert conn.getresponse().status == 411
    conn.close()


def test_a_port_already_taken_is_a_usage_error(server: serve_http.Server) -> None:
    with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{server.server_port}"):
        serve_http.listen("127.0.0.1", server.server_port, max_body=64)


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_port_that_is_none(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    from netemu.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", port])
    assert exited.value.code == 2 and "--port" in capsys.readouterr().err
