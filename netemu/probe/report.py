"""Human-readable lines for probe results and expectations (the CLI prints them), in English
or Japanese (`lang`); reason codes stay as they are in both."""

from __future__ import annotations

from netemu import i18n
from netemu.probe.engine import ProbeResult
from netemu.probe.expect import Outcome


def verdict(r: ProbeResult, lang: str = i18n.DEFAULT) -> str:
    s = r.spec
    what = "icmp" if s.protocol == "icmp" else f"{s.protocol}/{s.port}"
    line = f"{s.source} ({r.src_ip}) -> {s.destination} ({r.dst_ip}) {what}: {r.result.upper()}"
    if r.seen_source:
        line += ", " + i18n.text("probe.saw", lang, address=r.seen_source)
    return line + f" [{r.elapsed_ms} ms]"


def because(r: ProbeResult, lang: str = i18n.DEFAULT) -> list[str]:
    if r.result == "reachable":
        return []
    if r.reason is None:
        return ["  " + i18n.text("probe.no_reason", lang)]
    x = r.reason
    leg = i18n.leg(x.leg, lang, r.spec.destination)
    # English readers read the code itself; elsewhere the code's meaning comes first, and
    # the code stays untranslated so that it can be searched for.
    head = leg if lang == i18n.DEFAULT else f"{i18n.reason(x.code, lang)}。{leg}"
    rule = f" rule {x.rule}" if x.rule else ""
    direction = f" {x.direction}" if x.direction else ""
    where = f"{x.component}{direction}{rule}"
    return [
        f"  {x.code}: {head}",
        "  " + i18n.text("probe.dropped_by", lang, where=where, detail=x.detail),
        "  " + i18n.text("probe.path", lang, path=" -> ".join(r.hops)),
    ]


def outcome_lines(o: Outcome, lang: str = i18n.DEFAULT) -> list[str]:
    mark = "PASS" if o.ok else "FAIL"
    head = f"{mark}  {o.title}"
    if o.ok:
        extra = f" ({o.result.reason.code})" if o.result.reason else ""
        return [head + extra]
    return [
        head,
        f"  {i18n.why(o.why, lang)}",
        f"  {verdict(o.result, lang)}",
        *because(o.result, lang),
    ]
