"""`netemu test --html`: one self-contained HTML file (inline SVG and CSS, nothing fetched)
with the scenario's diagram and every expectation's verdict, path and reason."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from html import escape

from netemu.errors import UsageError
from netemu.model.types import Model
from netemu.probe import report
from netemu.probe.expect import Outcome
from netemu.views import graph

CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #16191f; }
h1 { font-size: 1.4em; } .summary { font-size: 1.1em; margin-bottom: 1em; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #d5dbdb; padding: 6px 8px; text-align: left;
  vertical-align: top; font-size: 0.9em; }
.PASS { color: #fff; background: #1a7f37; padding: 2px 8px; border-radius: 4px; }
.FAIL { color: #fff; background: #d1242f; padding: 2px 8px; border-radius: 4px; }
.path { font-family: monospace; font-size: 0.85em; }
.diagram svg { max-width: 100%; height: auto; }
details { margin-top: 4px; }
"""


def svg_of(model: Model, overlay: graph.Overlay | None = None) -> str:
    """An inline SVG of the diagram, or a note when Graphviz is missing."""
    if shutil.which("dot") is None:
        return "<p><em>(diagram omitted: Graphviz is not installed)</em></p>"
    svg = graph.render_dot(graph.dot(model, overlay), "svg").decode()
    return svg[svg.index("<svg") :]  # no XML prolog or DOCTYPE inside HTML


def _row(model: Model, o: Outcome, index: int, diagrams: bool) -> str:
    r = o.result
    mark = "PASS" if o.ok else "FAIL"
    why = "" if o.ok else f"<div>{escape(o.why)}</div>"
    reason = ""
    if r.reason:
        x = r.reason
        reason = (
            f"{escape(x.code)}<br><small>{escape(x.component)} {escape(x.direction or '')} "
            f"{escape(x.rule or '')} ({escape(x.leg)} leg)</small>"
        )
    seen = f"<br><small>destination saw {escape(r.seen_source)}</small>" if r.seen_source else ""
    picture = ""
    if diagrams:
        from netemu.views.commands import overlay_of

        picture = (
            f'<details><summary>path on the diagram</summary><div class="diagram">'
            f"{svg_of(model, overlay_of(r))}</div></details>"
        )
    return (
        f'<tr id="expect-{index}"><td>{index}</td><td><span class="{mark}">{mark}</span></td>'
        f"<td>{escape(o.title)}{why}</td><td>{escape(report.verdict(r))}{seen}</td>"
        f'<td>{reason}</td><td class="path">{escape(" → ".join(r.hops))}{picture}</td></tr>'
    )


def document(model: Model, outcomes: Sequence[Outcome], diagrams: bool = True) -> str:
    failed = sum(not o.ok for o in outcomes)
    rows = "\n".join(_row(model, o, i + 1, diagrams) for i, o in enumerate(outcomes))
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>netemu test: {escape(model.name)}</title><style>{CSS}</style></head>
<body>
<h1>netemu test: scenario {escape(model.name)} ({escape(model.region)})</h1>
<div class="summary">{len(outcomes) - failed} passed, {failed} failed
 &middot; {escape(model.source)} &middot; {when} &middot; real packets, verdicts observed</div>
<div class="diagram">{svg_of(model)}</div>
<h2>Expectations</h2>
<table><tr><th>#</th><th>verdict</th><th>expected</th><th>observed</th><th>reason</th>
<th>path</th></tr>
{rows}
</table>
</body></html>
"""


def write(path: str, model: Model, outcomes: Sequence[Outcome]) -> None:
    try:
        with open(path, "w") as f:
            f.write(document(model, outcomes))
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None
