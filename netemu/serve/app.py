"""The endpoint's request handling: which calls moto answers, which netemu answers, and the
rule that a mutating call is in the kernel and on disk before its response leaves.

Calls are serialized by one lock, granted in arrival order: the EC2 API promises no
ordering between concurrent calls, and one at a time is the simplest order in which every
acknowledged change holds (moto's backend is not built for concurrent mutation either).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from netemu.errors import NetemuError
from netemu.serve import aws
from netemu.serve.account import Account, Response
from netemu.serve.journal import Entry, Journal
from netemu.serve.recovery import KernelGuard, Reconcile

READ_PREFIXES = ("Describe", "Get", "List", "Search")
MAX_BODY = 16 << 20


Handler = Callable[[str, dict[str, str]], Response]


def is_mutating(action: str, params: dict[str, str]) -> bool:
    if action.startswith(READ_PREFIXES):
        return False
    return params.get("DryRun", "false").lower() != "true"


class Endpoint:
    """A WSGI application: the EC2 Query API of one account."""

    def __init__(
        self,
        account: Account,
        journal: Journal,
        reconcile: Reconcile,
        own: dict[str, Handler] | None = None,
        guard: KernelGuard | None = None,
    ) -> None:
        self.account = account
        self.journal = journal
        self.reconcile = reconcile
        self.own = own or {}  # actions netemu answers itself (Reachability Analyzer)
        self.guard = guard  # None: no kernel (unit tests)
        self.lock = Turns()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        status, headers, body = self.handle(_body(environ))
        reason = {200: "OK", 400: "Bad Request", 500: "Internal Server Error"}.get(status, "")
        data = body.encode()
        headers = {**headers, "Content-Length": str(len(data))}
        start_response(f"{status} {reason}", list(headers.items()))
        return [data]

    def handle(self, body: str) -> Response:
        params = dict(parse_qsl(body, keep_blank_values=True))
        action = params.get("Action", "")
        if not action:
            return aws.error("DescribeVpcs", "MissingAction", "the request names no Action")
        try:
            with self.lock:
                if action in self.own:
                    return self.own[action](action, params)
                if not is_mutating(action, params):
                    return self.account.call(body)
                return self._mutate(action, params, body)
        except aws.AwsError as e:
            return aws.error(action, e.code, str(e))
        except NetemuError as e:
            return aws.error(action, "InvalidParameterValue", str(e))
        except Exception as e:  # never a traceback to a client: AWS's own 500 shape
            return aws.error(action, "InternalError", f"netemu: {type(e).__name__}: {e}", 500)

    def _mutate(self, action: str, params: dict[str, str], body: str) -> Response:
        if self.guard and self.guard.dirty:
            # An earlier change failed and its rollback left the kernel unknown.
            self.guard.restore()
        seq = self.journal.next_seq
        response = self.account.call(body, seq)
        if response[0] != 200:
            return response  # moto refused it: nothing changed
        facts = self.account.facts_of(action, params)
        try:
            with self.guard.changing() if self.guard else contextlib.nullcontext():
                self.reconcile(action)
            self.journal.append(Entry(seq, body, facts))
        except BaseException:
            # Not acknowledged: the account goes back to the acknowledged calls. The kernel
            # holds the scenario apply last left there (the old one when it rolled back, the
            # new one when only the journal failed), which the next apply, reading it again,
            # changes back; if a rollback fell short, the guard's marker stays and the next
            # call rebuilds the kernel first.
            self.account.replay(self.journal.entries)
            self.reconcile.forget()
            raise
        return response


class Turns:
    """A lock granted in the order it was asked for (threading.Lock promises no order: under
    load one client could be passed over again and again)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0  # the ticket the next caller draws
        self._serving = 0  # the ticket whose turn it is

    @property
    def asked(self) -> int:
        """How many callers have asked so far (holding it, waiting, or done)."""
        return self._next

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next
            self._next += 1
            self._cond.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *_: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


def _body(environ: dict[str, Any]) -> str:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    data: bytes = environ["wsgi.input"].read(min(length, MAX_BODY)) if length else b""
    if environ.get("REQUEST_METHOD") == "GET":
        return str(environ.get("QUERY_STRING", ""))
    return data.decode("utf-8", errors="replace")
