"""The output language (`--lang ja|en`, else the locale) and the message catalogues in
netemu/messages/: reasons.yaml (one line per Reachability Analyzer code) and ui.yaml."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

LANGS = ("en", "ja")
DEFAULT = "en"
_MESSAGES = Path(__file__).resolve().parent / "messages"


def default_lang(env: Mapping[str, str] | None = None) -> str:
    """`ja` when the locale says Japanese, else `en`. POSIX precedence: the first set of
    LC_ALL, LC_MESSAGES, LANG decides (LC_ALL=C overrides LANG=ja_JP.UTF-8)."""
    env = os.environ if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else DEFAULT
    return DEFAULT


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        choices=LANGS,
        default=None,
        help="language of the messages (default: ja when LANG/LC_ALL/LC_MESSAGES start with ja)",
    )


def lang_of(args: argparse.Namespace) -> str:
    given: str | None = getattr(args, "lang", None)
    return given or default_lang()


@cache
def _catalogue(name: str) -> dict[str, Any]:
    import yaml  # here: English probe output needs no catalogue (and so no YAML parser)

    with open(_MESSAGES / f"{name}.yaml", encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


def _pick(entry: Mapping[str, str], lang: str) -> str:
    return entry.get(lang) or entry[DEFAULT]


def text(key: str, lang: str, **fields: object) -> str:
    """The ui.yaml message `key` ("lab.hint") in `lang`, English where it is missing."""
    node: Any = _catalogue("ui")
    for part in key.split("."):
        node = node[part]
    return _pick(node, lang).format(**fields)


def reason(code: str, lang: str) -> str:
    """The one-line meaning of a reason code; the code itself is never translated."""
    codes: dict[str, dict[str, str]] = _catalogue("reasons")["codes"]
    return _pick(codes.get(code) or codes["_unknown"], lang)


def reason_codes() -> list[str]:
    return [c for c in _catalogue("reasons")["codes"] if not c.startswith("_")]


@cache
def _line_patterns(lang: str) -> list[tuple[re.Pattern[str], str]]:
    entries: list[dict[str, str]] = _catalogue("ui")["lines"]
    return [(re.compile(e["en"]), e[lang]) for e in entries if lang in e]


def line(english: str, lang: str) -> str:
    """A line of a probe or expectation report (probe/report.py writes English) in `lang`,
    translated piece by piece by the patterns of ui.yaml; reason codes, names and addresses
    stay as they are, and what no pattern knows stays English."""
    if lang == DEFAULT:
        return english
    text = english
    for pattern, template in _line_patterns(lang):

        def fill(m: re.Match[str], template: str = template) -> str:
            fields = m.groupdict()
            if fields.get("code"):
                fields["meaning"] = reason(fields["code"], lang)
            return template.format(**fields)

        text = pattern.sub(fill, text, count=1)
    return text
