"""Static reachability: the verdict, path and reason from the model alone (ref 13).

`explain()` walks a packet and its reply through the model in AWS order and answers in the
probe's JSON; `reach` builds all-pairs matrices; `crosscheck` compares both with packets.
"""

from __future__ import annotations

from netemu.explain.result import StaticResult
from netemu.explain.static import explain

__all__ = ["StaticResult", "explain"]
