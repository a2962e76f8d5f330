"""Work over many namespaces shared with a forked copy of netemu, so that a second core does
half of it (issue 21).

Making a thousand namespaces and reading them back is kernel work done in the calling
thread's context, one namespace at a time, and Python threads would take turns on one core
for the rest. A copy made by fork starts with everything netemu holds (the plan, the wanted
state) and needs no message to begin; it sends its result back pickled through a pipe and
exits without running any exit handler. `up` defers Ctrl-C while this module's code is
running (lifecycle._Interrupts), so the copy is always waited for and whatever it made is
known before a rollback begins.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

# Below this many namespaces the fork (a few milliseconds for a big interpreter) and the
# copy-on-write faults that follow cost more than half the work saves.
SPLIT_AT = 200


class CopyFailed(Exception):
    """The copy exited without sending its result."""


def worth_it(count: int) -> bool:
    """Whether `count` items are worth sharing: a second core to run on, and no other thread
    in this process (one could hold a lock the copy would then wait on forever; `netemu
    serve` runs several)."""
    return count >= SPLIT_AT and (os.cpu_count() or 1) > 1 and threading.active_count() == 1


def shared(items: Sequence[T], work: Callable[[Sequence[T]], R]) -> tuple[R, R | CopyFailed]:
    """`work(items[::2])` here and `work(items[1::2])` in a forked copy at the same time
    (interleaved, so that the few heavy items at the end of a plan are shared too). Returns
    both results; the copy's is CopyFailed if it sent none. Should `work` raise here, the
    copy is still waited for before the exception goes on. Should the fork fail, this
    process does both halves."""
    mine, theirs = items[::2], items[1::2]
    read_end, write_end = os.pipe()
    gc.freeze()  # the collector would otherwise touch, and so copy, every page in the copy
    try:
        pid = os.fork()
    except OSError:  # no copy (the host's process limit, say): both halves here, in turn
        gc.unfreeze()
        os.close(read_end)
        os.close(write_end)
        return work(mine), work(theirs)
    if pid == 0:
        _copy(read_end, write_end, lambda: work(theirs))
    gc.unfreeze()
    os.close(write_end)
    try:
        own = work(mine)
    finally:
        other = cast("R | CopyFailed", _join(pid, read_end))
    return own, other


def _copy(read_end: int, write_end: int, run: Callable[[], object]) -> NoReturn:
    code = 1
    with contextlib.suppress(BaseException):
        os.close(read_end)
        data = pickle.dumps(run())
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        code = 0
    os._exit(code)


def _join(pid: int, read_end: int) -> object:
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()  # before waiting: a full pipe would stall the copy
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not data:
        return CopyFailed(f"netemu's forked copy exited ({code}) without its result")
    return pickle.loads(data)  # written by our own copy
