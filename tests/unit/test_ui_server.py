"""`netemu ui` without a running scenario: it serves only its shipped files, on loopback,
and answers API calls for a scenario that is not up with a JSON error (the headless-browser
test in tests/kernel/test_views.py covers the rest)."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from netemu.views import ui


@pytest.fixture
def base() -> Iterator[str]:
    httpd = ui.server("nosuchscn", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        host, port = httpd.server_address[:2]
        assert host == "127.0.0.1"
        yield f"http://{host!s}:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_page_and_script_are_served_from_the_package(base: str) -> None:
    with urllib.request.urlopen(base + "/") as r:
        page = r.read().decode()
        assert r.headers["Content-Type"].startswith("text/html")
    assert '<script src="/ui.js">' in page
    with urllib.request.urlopen(base + "/ui.js") as r:
        assert "fetch(" in r.read().decode()


def test_shipped_files_load_nothing_from_elsewhere() -> None:
    for f in Path(ui.STATIC).iterdir():
        text = f.read_text()
        assert not re.search(r"https?://", text), f"{f.name} refers to another site"


def test_api_for_a_scenario_that_is_not_up_is_a_json_error(base: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base + "/api/state")
    assert e.value.code == 400
    assert "not completely up" in json.loads(e.value.read())["error"]


def test_unknown_path_is_404(base: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base + "/etc/passwd")
    assert e.value.code == 404
