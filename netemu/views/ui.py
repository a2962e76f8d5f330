"""`netemu ui`: a web view of a running scenario, served on 127.0.0.1 only.

The page and its script ship in netemu/views/static (nothing from a CDN: the machine may
have no internet). The page asks this server for JSON and SVG: the diagram, instance
states, the expectations run as real probes with their verdicts, a probe of the user's
choice drawn on the diagram, and the tail of the flow logs. Probes are sent one at a time.
"""

from __future__ import annotations

import json
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

from netemu.errors import NetemuError
from netemu.model.types import Model
from netemu.views import graph

HOST = "127.0.0.1"  # never another interface (project safety rule)
STATIC = os.path.join(os.path.dirname(__file__), "static")
FILES = {"/": "index.html", "/ui.js": "ui.js", "/ui.css": "ui.css"}
# Longer than the command line's 1 s: the page is often drawn by a browser busy on the same
# machine, and a user waits for one probe gladly; only an unexplained drop takes this long.
PROBE_TIMEOUT_S = 3.0
PROTOCOLS: dict[str, Literal["tcp", "udp", "icmp"]] = {"tcp": "tcp", "udp": "udp", "icmp": "icmp"}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}


class View:
    """What the pages show, for one running scenario."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()  # one probe at a time

    def model(self) -> Model:
        from netemu import lifecycle

        return lifecycle.running_model(self.name)

    def state(self) -> dict[str, Any]:
        from netemu.probe.expect import spec_of

        m = self.model()
        return {
            "scenario": m.name,
            "region": m.region,
            "instances": [
                {
                    "name": i.name,
                    "id": i.id,
                    "state": i.state,
                    "private_ip": str(i.private_ip or "-"),  # "-": IPv6-only (16.11)
                    "public_ip": str(i.public_ip) if i.public_ip else None,
                    "subnet": i.subnet,
                }
                for i in m.instances.values()
            ],
            "nat_gateways": [
                {
                    "name": g.name,
                    "private_ip": str(g.eni.private_ip),
                    "public_ip": str(g.eni.public_ip),
                }
                for g in m.nat_gateways.values()
            ],
            "internet_hosts": [
                {"name": h.name, "ip": str(h.ip)} for h in m.internet_hosts.values()
            ],
            "expectations": [
                {
                    "title": f"{s.source} -> {s.destination} "
                    f"{s.protocol}{'/' + str(s.port) if s.port else ''} {e.result}"
                }
                for e in m.expectations
                for s in [spec_of(e)]
            ],
            "flow_logs": [f.name for f in m.flow_logs],
        }

    def diagram(self, overlay: graph.Overlay | None = None) -> str:
        from netemu.views.html import svg_of

        return svg_of(self.model(), overlay)

    def probe(self, q: dict[str, Any]) -> dict[str, Any]:
        from netemu.probe.engine import ProbeSpec, probe
        from netemu.views.commands import overlay_of

        proto = PROTOCOLS.get(str(q.get("protocol", "tcp")))
        if proto is None:
            raise NetemuError(f"protocol {q.get('protocol')!r} is not tcp, udp or icmp")
        port = None if proto == "icmp" else int(q.get("port") or 0)
        if port is not None and not 1 <= port <= 65535:
            raise NetemuError("give a port from 1 to 65535")
        spec = ProbeSpec(str(q.get("from", "")), str(q.get("to", "")), proto, port)
        model = self.model()
        with self.lock:
            (result,) = probe(model, [spec], PROBE_TIMEOUT_S)
        overlay = overlay_of(result)
        return {"result": result.to_json(), "title": overlay.title, "drop": overlay.drop,
                "svg": self.diagram(overlay)}  # fmt: skip

    def expectations(self) -> dict[str, Any]:
        from netemu.probe import expect

        with self.lock:
            outcomes = expect.run(self.model(), PROBE_TIMEOUT_S)
        return {"results": [{**o.to_json(), "title": o.title, "why": o.why} for o in outcomes]}

    def flow_logs(self, after: int) -> dict[str, Any]:
        """Records after the first `after` lines, as text lines in each log's format."""
        from netemu.driver import state as st
        from netemu.flowlogs import records, show

        m = self.model()
        rows = list(show.read(st.state_dir(self.name)))
        lines = [records.line(r, records.fields_of(m, r.get("flow-log", ""))) for r in rows[after:]]
        return {"next": len(rows), "lines": lines[-200:]}


def handler(view: View) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the terminal shows only the address

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, value: Any, status: int = HTTPStatus.OK) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def _answer(self, work: Any) -> None:
            try:
                self._json(work())
            except NetemuError as e:
                self._json({"error": str(e)}, HTTPStatus.BAD_REQUEST)
            except (ValueError, KeyError) as e:
                self._json({"error": f"bad request: {e}"}, HTTPStatus.BAD_REQUEST)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path in FILES:
                path = os.path.join(STATIC, FILES[url.path])
                with open(path, "rb") as f:
                    self._send(HTTPStatus.OK, f.read(), TYPES[os.path.splitext(path)[1]])
            elif url.path == "/api/state":
                self._answer(view.state)
            elif url.path == "/api/diagram.svg":
                self._send(HTTPStatus.OK, view.diagram().encode(), "image/svg+xml")
            elif url.path == "/api/flowlogs":
                self._answer(lambda: view.flow_logs(int(query.get("after", "0"))))
            elif url.path == "/api/probe":
                self._answer(lambda: view.probe(query))
            elif url.path == "/api/expectations":
                self._answer(view.expectations)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    return Handler


def server(name: str, port: int) -> ThreadingHTTPServer:
    """The server, bound and ready (serve_forever runs it); 127.0.0.1 only."""
    httpd = ThreadingHTTPServer((HOST, port), handler(View(name)))
    httpd.daemon_threads = True
    return httpd
