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

import yaml

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


def leg(which: str, lang: str, destination: str) -> str:
    legs: dict[str, dict[str, str]] = _catalogue("reasons")["legs"]
    return _pick(legs[which], lang).format(destination=destination)


def reason_codes() -> list[str]:
    return [c for c in _catalogue("reasons")["codes"] if not c.startswith("_")]


def why(english: str, lang: str) -> str:
    """An expectation's failure sentence (probe/expect.py writes it in English) in `lang`;
    unchanged when no pattern of ui.yaml matches it."""
    if lang == DEFAULT:
        return english
    for entry in _catalogue("ui")["why"]:
        m = re.fullmatch(entry["en"], english)
        if m and lang in entry:
            return str(entry[lang]).format(**m.groupdict())
    return english
