"""The views against a real running scenario: `netemu ui` in a real headless Chromium
(screenshots checked pixel by pixel), `netemu graph --path` with a real probe, and
`netemu test --html`."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from netemu.testing import Running, running_text
from netemu.views import graph, ui
from scenarios import vpc

FLOW_LOGS = "flow_logs:\n  all: {resource: main, max_aggregation_interval: 1}\n"
EXPECT = (
    "expect:\n"
    "  - {from: client, to: web, tcp: 22, result: reachable}\n"
    "  - {from: client, to: db, tcp: 22, result: blocked}\n"
)
PORT = 18080


def chromium() -> str:
    """Debian's Chromium; installed here when missing (a test-only dependency)."""
    found = shutil.which("chromium")
    if found is None and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True,
                       timeout=900, check=False)  # fmt: skip
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("Chromium is not installed and `apt-get install chromium` did not work")
    return found


def browse(url: str, screenshot: Path | None = None) -> str:
    """Load `url` in headless Chromium, give its script time to finish; the DOM after it."""
    args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--window-size=1400,1000", "--virtual-time-budget=20000"]  # fmt: skip
    if screenshot is not None:
        subprocess.run([*args, f"--screenshot={screenshot}", url], capture_output=True,
                       timeout=180, check=True)  # fmt: skip
    done = subprocess.run([*args, "--dump-dom", url], capture_output=True, text=True,
                          timeout=180, check=True)  # fmt: skip
    return done.stdout


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB(A) pixels of an 8-bit PNG (Chromium's screenshots)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat, width, height, kind = 8, b"", 0, 0, 0
    while i < len(data):
        length, tag = struct.unpack_from("!I4s", data, i)
        body = data[i + 8 : i + 8 + length]
        if tag == b"IHDR":
            width, height, depth, kind = struct.unpack_from("!IIBB", body)
            assert depth == 8 and kind in (2, 6)
        elif tag == b"IDAT":
            idat += body
        i += 12 + length
    bpp = 4 if kind == 6 else 3
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytes(width * bpp)
    for y in range(height):
        f, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = bytes(line)
    return width, height, [bytes(r[x] for x in range(len(r)) if x % bpp < 3) for r in rows]


def count_colour(path: Path, colour: str, box: tuple[int, int, int, int], tol: int = 24) -> int:
    """Pixels within `tol` of `colour` (#RRGGBB) inside box (x0, y0, x1, y1)."""
    want = bytes.fromhex(colour.removeprefix("#"))
    _, _, rows = png_pixels(path)
    x0, y0, x1, y1 = box
    return sum(
        1
        for row in rows[y0:y1]
        for x in range(x0, x1)
        if all(abs(row[3 * x + k] - want[k]) <= tol for k in range(3))
    )


@pytest.fixture(scope="module")
def served() -> Iterator[Running]:
    text = vpc(name="uiv") + FLOW_LOGS + EXPECT
    with running_text(text) as s:
        httpd = ui.server("uiv", PORT)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            yield s
        finally:
            httpd.shutdown()
            httpd.server_close()


def test_ui_draws_a_reachable_probe_path_in_green(served: Running, tmp_path: Path) -> None:
    shot = tmp_path / "ok.png"
    dom = browse(f"http://{ui.HOST}:{PORT}/?probe=client,web,tcp,22", shot)
    assert 'data-probe="reachable"' in dom and 'data-ready="yes"' in dom
    assert "REACHABLE" in dom and "uiv (ap-northeast-1)" in dom
    diagram = (0, 120, 840, 1000)  # the left column, below the header and the verdict
    assert count_colour(shot, graph.REACHABLE, diagram) > 150, "the green path is drawn"
    assert count_colour(shot, graph.BLOCKED, diagram) < 20
    assert count_colour(shot, graph.VPC_COLOUR, diagram) > 300, "the VPC frame is drawn"


def test_ui_draws_a_blocked_probe_in_red_with_its_reason(served: Running, tmp_path: Path) -> None:
    shot = tmp_path / "blocked.png"
    dom = browse(f"http://{ui.HOST}:{PORT}/?probe=client,db,tcp,22", shot)
    assert 'data-probe="blocked"' in dom
    assert "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS" in dom
    assert count_colour(shot, graph.BLOCKED, (0, 120, 840, 1000)) > 150, "the red path is drawn"


def test_ui_runs_expectations_and_tails_flow_logs(served: Running, tmp_path: Path) -> None:
    """Instance states, verdicts of the expect list, and flow-log lines in AWS's format."""
    served.probe("client", "web", icmp=True)
    dom = browse(f"http://{ui.HOST}:{PORT}/?expect=1", tmp_path / "x.png")
    assert 'data-expectations="done"' in dom
    assert dom.count('class="PASS">PASS<') == 2
    assert re.search(r'<td class="running">running</td>', dom)
    tail = re.search(r'<pre id="flowlogs">(.*?)</pre>', dom, re.S)
    assert tail and re.search(r"^2 \d{12} eni-\S+ .* (ACCEPT|REJECT) OK$", tail.group(1), re.M)


def test_ui_answers_only_on_loopback(served: Running) -> None:
    import socket

    with socket.create_connection((ui.HOST, PORT), timeout=5) as c:
        assert c.getpeername()[0] == "127.0.0.1"
    assert ui.HOST == "127.0.0.1"


def test_graph_path_overlays_a_real_probe(served: Running, tmp_path: Path) -> None:
    out = tmp_path / "path.dot"
    done = subprocess.run(
        [sys.executable, "-m", "netemu.cli", "graph", "uiv", "-o", str(out),
         "--path", "client", "db", "--tcp", "22"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "BLOCKED" in text and "dropped here" in text
    assert '"internet_host:client" -> "internet"' in text


def test_html_report_from_a_real_run(tmp_path: Path) -> None:
    path = tmp_path / "htm.yaml"
    path.write_text(vpc(name="htm") + EXPECT)
    report = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "netemu.cli", "test", str(path), "--html", str(report)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    doc = report.read_text()
    assert "2 passed, 0 failed" in doc and doc.count("<svg") == 3
    assert "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS" in doc
    assert not os.path.exists("/run/netemu/htm")
