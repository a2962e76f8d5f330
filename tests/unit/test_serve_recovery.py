"""The endpoint's durability rules without a kernel: the journal survives a line torn by a
crash, calls take turns in arrival order, a failed journal write acknowledges nothing, and
the kernel guard's marker says when the kernel must be rebuilt (the kernel side is in
tests/reliability/test_serve_durability.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netemu.serve.account import Account
from netemu.serve.app import Endpoint, Turns
from netemu.serve.journal import Entry, Journal
from netemu.serve.recovery import MARKER, KernelGuard

V = "Version=2016-11-15"


class Stub:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.calls = 0
        self.forgotten = 0

    def __call__(self, action: str | None = None) -> None:
        self.calls += 1
        if self.error:
            raise self.error

    def forget(self) -> None:
        self.forgotten += 1


@pytest.fixture
def account() -> Iterator[Account]:
    a = Account("us-east-1")
    yield a
    a.close()


def test_line_torn_by_a_crash_is_cut_and_the_next_entry_is_readable(tmp_path: Path) -> None:
    """kill -9 in the middle of a write leaves half a line; it was never acknowledged, and the
    next acknowledged entry must not be glued to it."""
    path = tmp_path / "journal.jsonl"
    Journal(str(path)).append(Entry(1, "Action=CreateVpc&CidrBlock=10.0.0.0/16"))
    with open(path, "a") as f:
        f.write('{"seq":2,"body":"Action=Crea')  # no newline: the process died here
    journal = Journal(str(path))
    assert [e.seq for e in journal.entries] == [1]
    journal.append(Entry(2, "Action=CreateVpc&CidrBlock=10.1.0.0/16"))
    assert [e.seq for e in Journal(str(path)).entries] == [1, 2]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_calls_take_turns_in_arrival_order() -> None:
    turns, order = Turns(), []
    with turns:
        threads = []
        for k in range(8):
            t = threading.Thread(target=lambda k=k: _take(turns, order, k))
            t.start()
            threads.append(t)
            while turns.asked < k + 2:  # each one asks once the previous one is waiting
                time.sleep(0.001)
    for t in threads:
        t.join()
    assert order == list(range(8))


def _take(turns: Turns, order: list[int], k: int) -> None:
    with turns:
        order.append(k)


def test_failed_journal_write_acknowledges_nothing(account: Account, tmp_path: Path) -> None:
    """The kernel took the change but the journal could not keep it: the client gets an
    error, the account goes back to the acknowledged calls, and the kernel side forgets what
    it held so the next call changes the kernel back."""
    journal = Journal(str(tmp_path / "journal.jsonl"))
    stub = Stub()
    ep = Endpoint(account, journal, stub)

    def full(entry: Entry) -> None:
        raise OSError(28, "No space left on device")

    journal.append = full  # type: ignore[method-assign]
    before = ep.handle(f"Action=DescribeVpcs&{V}")[2].count("<vpcId>")
    status, _, body = ep.handle(f"Action=CreateVpc&CidrBlock=10.0.0.0/16&{V}")
    assert status == 500
    assert "<Code>InternalError</Code>" in body
    assert ep.handle(f"Action=DescribeVpcs&{V}")[2].count("<vpcId>") == before
    assert stub.forgotten == 1


def test_marker_stays_when_a_change_is_cut_short(tmp_path: Path) -> None:
    """The marker exists while the kernel changes; a success removes it, and so does a
    failure that left the kernel as it was (nothing of this account is up here)."""
    stub = Stub()
    guard = KernelGuard(str(tmp_path), "ne-unit-recovery", stub)
    with guard.changing():
        assert (tmp_path / MARKER).exists()
    assert not guard.dirty
    with pytest.raises(RuntimeError), guard.changing():
        raise RuntimeError("apply failed, rolled back")
    assert not guard.dirty
    (tmp_path / MARKER).write_text("1\n")  # what kill -9 in mid-change leaves
    assert guard.dirty


def test_restore_builds_the_kernel_from_the_account_and_clears_the_marker(
    tmp_path: Path,
) -> None:
    stub = Stub()
    guard = KernelGuard(str(tmp_path), "ne-unit-recovery", stub)
    (tmp_path / MARKER).write_text("1\n")
    assert guard.restore() == "built"
    assert (stub.forgotten, stub.calls) == (1, 1)
    assert not guard.dirty


def test_endpoint_restores_a_dirty_kernel_before_the_next_change(
    account: Account, tmp_path: Path
) -> None:
    stub = Stub()
    guard = KernelGuard(str(tmp_path), "ne-unit-recovery", stub)
    ep = Endpoint(account, Journal(str(tmp_path / "journal.jsonl")), stub, None, guard)
    (tmp_path / MARKER).write_text("1\n")  # a rollback that fell short
    assert ep.handle(f"Action=CreateVpc&CidrBlock=10.0.0.0/16&{V}")[0] == 200
    assert stub.calls == 2  # the restore, then the call's own change
    assert not guard.dirty
