"""`netemu serve`: start the account, bring the kernel to it, and answer on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netemu.errors import UsageError
from netemu.serve import http
from netemu.serve.account import Account
from netemu.serve.app import MAX_BODY, Endpoint
from netemu.serve.insights import Insights, Prober
from netemu.serve.journal import Journal
from netemu.serve.reconcile import Reconciler
from netemu.serve.recovery import KernelGuard

DEFAULT_STATE = "/var/lib/netemu/serve"


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 4566
    region: str = "us-east-1"
    name: str = "api"
    source: str | None = None  # --from: a scenario whose internet hosts the account uses
    state: str | None = None


def loopback_only(host: str) -> str:
    """Servers netemu runs for users listen on the loopback interface only."""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(f"--host {host}: netemu serves on 127.0.0.1 (loopback) only")
    return "127.0.0.1" if host == "localhost" else host


class Service:
    """The running endpoint; `serve_forever` until `stop`."""

    def __init__(self, opts: Options, prober: Prober | None = None) -> None:
        host = loopback_only(opts.host)
        # The port first: one that is taken is refused before anything reaches the kernel.
        self.server = http.listen(host, opts.port, MAX_BODY)
        try:
            self._start(opts, prober)
        except BaseException:
            self.server.server_close()
            raise
        self.url = f"http://{host}:{self.server.server_port}"

    def _start(self, opts: Options, prober: Prober | None) -> None:
        state = opts.state or os.path.join(DEFAULT_STATE, opts.name)
        os.makedirs(state, mode=0o700, exist_ok=True)
        t0 = time.monotonic()
        self.account = Account(opts.region)
        self.journal = Journal(os.path.join(state, "journal.jsonl"))
        self.account.replay(self.journal.entries)  # every acknowledged call, in order
        t1 = time.monotonic()
        self.reconciler = Reconciler(self.account, opts.name, state, opts.source)
        guard = KernelGuard(state, opts.name, self.reconciler)
        how = guard.restore()  # the kernel follows the account, after a crash in mid-call too
        self.started = (
            f"account '{opts.name}': {len(self.journal.entries)} acknowledged call(s) replayed "
            f"in {t1 - t0:.1f} s; kernel {how} in {time.monotonic() - t1:.1f} s"
        )
        insights = Insights(
            os.path.join(state, "insights.json"),
            opts.region,
            self.reconciler.model,
            prober or _probe,
        )
        self.endpoint = Endpoint(
            self.account, self.journal, self.reconciler, insights.handlers(), guard
        )
        self.server.app = self.endpoint

    def serve_forever(self, ready: Callable[[str], Any] | None = None) -> None:
        if ready:
            ready(self.url)
        self.server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        threading.Thread(target=self.server.shutdown, daemon=True).start()

    def close(self) -> None:
        self.server.server_close()
        self.account.close()


def run(opts: Options, ready: Callable[[str], Any]) -> None:
    service = Service(opts)

    def announce(url: str) -> None:
        ready(url)  # the first line, which scripts wait for
        print(f"netemu serve: {service.started}", file=sys.stderr, flush=True)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: service.stop())
    try:
        service.serve_forever(announce)
    finally:
        service.close()


def _probe(model: Any, spec: Any) -> Any:
    from netemu.probe.engine import probe

    return probe(model, [spec])[0]
