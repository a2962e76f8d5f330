"""Whether the kernel may hold part of a change nobody was told about, and bringing it back to
the account when it may: after `kill -9` in the middle of a call, or a rollback that did not
restore everything.

A marker file in the state directory exists while the kernel is being changed. A change cut
short can leave anything behind (half the rulesets of a call, a namespace without its
daemons, daemons no state file lists), so with the marker present the account's kernel side
is taken down and built again from the account; without it, and when the kernel holds exactly
the scenario netemu last applied (`netemu verify`), the account is applied in place, which
also takes back a change that reached the kernel but not the journal.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Protocol

from netemu import lifecycle
from netemu.driver import state as st
from netemu.errors import KernelError, NetemuError

MARKER = "kernel-changing"


class Reconcile(Protocol):
    """The kernel follows the account (reconcile.Reconciler)."""

    def __call__(self, action: str | None = None) -> None: ...

    def forget(self) -> None: ...


class KernelGuard:
    def __init__(self, state: str, name: str, reconcile: Reconcile) -> None:
        self.marker = os.path.join(state, MARKER)
        self.name = name
        self.reconcile = reconcile

    @property
    def dirty(self) -> bool:
        return os.path.exists(self.marker)

    @contextlib.contextmanager
    def changing(self) -> Iterator[None]:
        """Around a change of the kernel. A failed change leaves the marker unless the
        kernel still holds exactly the scenario it held before (apply rolled back)."""
        self._mark()
        try:
            yield
        except BaseException:
            if self.kernel_matches():
                self._clear()
            raise
        self._clear()

    def restore(self) -> str:
        """Bring the kernel to the account: in place when it is known to hold what netemu
        last put there, else built again (after `netemu down` of what is there). Says which."""
        up = self.name in st.running()
        cut = up and self.dirty
        rebuild = cut or (up and not self.kernel_matches())
        self._mark()
        if rebuild:
            lifecycle.down(self.name, lifecycle.KernelDriver())
        self.reconcile.forget()
        retried = ""
        try:
            self.reconcile()
        except KernelError as e:
            # Seen on a loaded 2-core host: an instance got no DHCP lease in its 5 s during a
            # rebuild. The failed build rolled back; once more from nothing, then give up.
            if self.name in st.running():
                lifecycle.down(self.name, lifecycle.KernelDriver())
            self.reconcile.forget()
            self.reconcile()
            retried = f", built again after a failed first try ({str(e).splitlines()[0]})"
        self._clear()
        if not up:
            return "built" + retried
        if cut:
            return "rebuilt (a change to it had been cut short)" + retried
        if rebuild:
            return "rebuilt (it differed from what netemu had put there)" + retried
        return "in place" + retried

    def kernel_matches(self) -> bool:
        """The account's scenario is up completely and the kernel holds exactly its plan
        (nothing up at all counts too: there is nothing half-made)."""
        if self.name not in st.running():
            return True
        state = st.load(self.name)
        if state is None or not state.complete:
            return False
        from netemu import verify
        from netemu.render import render

        try:
            model = lifecycle.running_model(self.name)
            return not verify.verify(model, render(model), state.pids)
        except (NetemuError, OSError):
            return False

    def _mark(self) -> None:
        # No fsync: the marker speaks of the kernel, which a power loss empties anyway.
        with open(self.marker, "w", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")

    def _clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.marker)
