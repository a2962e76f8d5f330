"""driver.halves: work shared with a forked copy of this process comes back whole, a copy
that fails is reported rather than trusted, and without a copy this process does both
halves (issue 21)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import pytest

from netemu.driver import halves


def _squares(part: Sequence[int]) -> list[tuple[int, int, int]]:
    return [(i, i * i, os.getpid()) for i in part]


def test_each_half_is_done_by_its_own_process_and_comes_back() -> None:
    mine, theirs = halves.shared(list(range(10)), _squares)
    assert not isinstance(theirs, halves.CopyFailed)
    assert [i for i, _, _ in mine] == [0, 2, 4, 6, 8]
    assert [i for i, _, _ in theirs] == [1, 3, 5, 7, 9]
    assert all(sq == i * i for i, sq, _ in mine + theirs)
    assert {pid for _, _, pid in mine} == {os.getpid()}
    assert os.getpid() not in {pid for _, _, pid in theirs}


def test_a_copy_that_fails_sends_nothing_to_trust() -> None:
    parent = os.getpid()

    def fails_in_the_copy(part: Sequence[int]) -> list[int]:
        if os.getpid() != parent:
            raise RuntimeError("the copy failed")
        return list(part)

    mine, theirs = halves.shared([1, 2, 3, 4], fails_in_the_copy)
    assert mine == [1, 3]
    assert isinstance(theirs, halves.CopyFailed)


def test_an_error_here_still_waits_for_the_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()
    copies: list[int] = []
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        copies.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded)

    def fails_here(part: Sequence[int]) -> list[int]:
        if os.getpid() == parent:
            raise ValueError("this half failed")
        return list(part)

    with pytest.raises(ValueError, match="this half failed"):
        halves.shared([1, 2, 3, 4], fails_here)
    with pytest.raises(ChildProcessError):
        os.waitpid(copies[0], os.WNOHANG)  # the copy was waited for and reaped


def test_without_a_fork_this_process_does_both_halves(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    mine, theirs = halves.shared([1, 2, 3], _squares)
    assert not isinstance(theirs, halves.CopyFailed)
    assert [i for i, _, _ in mine] == [1, 3] and [i for i, _, _ in theirs] == [2]
    assert {pid for *_, pid in mine + theirs} == {os.getpid()}


def test_only_many_items_with_no_other_thread_are_worth_a_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert not halves.worth_it(halves.SPLIT_AT - 1)
    assert halves.worth_it(halves.SPLIT_AT)
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # `netemu serve`, say
    assert not halves.worth_it(halves.SPLIT_AT)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert not halves.worth_it(halves.SPLIT_AT)
