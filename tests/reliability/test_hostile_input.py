"""Hostile input (issue 7.5): thousands of generated and mutated scenarios reach `netemu
validate` (in-process, the real command line) and get exit 0 or 2, never a traceback and
never a hang; values reach nftables only as JSON strings, never as rule text; valid
generated scenarios go through `up` (with its verify) and `down` without leaving anything.

The example counts are the reduced form; NETEMU_RELIABILITY=full (`make reliability`)
multiplies them by five.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import relkit
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from netemu import lifecycle
from netemu.errors import ScenarioInvalid
from netemu.model import load_model_text
from netemu.model.validate_fields import NAME_RE
from netemu.render import render

FULL = os.environ.get("NETEMU_RELIABILITY") == "full"
SCALE = 5 if FULL else 1
PER_EXAMPLE_S = 5.0  # validate of one example; a hang fails the test instead of blocking CI
ROOT = Path(relkit.ROOT)
BASES = [
    (ROOT / "tests/unit/data/webdb.yaml").read_text(),
    relkit.scenario("rl-base"),
]


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,  # monkeypatch: the same patch every example
        ],
    )


@pytest.fixture(scope="module")
def scratch() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="rl-hostile-") as d:
        yield d


def validate(directory: str, data: str | bytes) -> relkit.Ran:
    """`netemu validate FILE` in-process on `data`, bounded in time."""
    path = os.path.join(directory, "scenario.yaml")
    with open(path, "wb") as f:
        f.write(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    with relkit.time_limit(PER_EXAMPLE_S, "netemu validate"):
        ran = relkit.netemu("validate", path)
    assert ran.rc in (0, 2), (ran.rc, ran.err[-2000:])
    assert "Traceback" not in ran.err and "Traceback" not in ran.out
    if ran.rc == 2:
        assert ": error: " in ran.err, ran.err[-2000:]
    return ran


# --- strategies ------------------------------------------------------------------------

KEYS = [
    "name", "region", "vpcs", "subnets", "instances", "security_groups", "network_acls",
    "route_tables", "internet_gateways", "nat_gateways", "internet", "expect", "cidr", "vpc",
    "subnet", "ingress", "egress", "protocol", "port", "ports", "rule", "action", "routes",
    "destination", "services", "private_ip", "elastic_ip", "hosts", "ip", "from", "to",
]  # fmt: skip
HOSTILE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40
)  # every plane, control characters (NUL, ESC, U+202E, U+0085) included
HUGE = st.one_of(
    st.integers(min_value=-(10**100), max_value=10**100),
    st.sampled_from([2**31, 2**32, 2**63, 2**64, -1, 0, 65536, 10**18, 10**19]),
    st.floats(allow_nan=True, allow_infinity=True),
)
LONG = st.integers(min_value=256, max_value=20_000).map(lambda n: "x" * n)
SCALARS = st.one_of(HOSTILE_TEXT, HUGE, LONG, st.booleans(), st.none(), st.sampled_from(KEYS))


def _tree(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(KEYS), HOSTILE_TEXT)
    return st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=6))


DOCUMENTS = st.dictionaries(st.sampled_from(KEYS), st.recursive(SCALARS, _tree, max_leaves=30))

TOKENS = [
    "&a", "*a", "*nope", "<<: *a", "!!python/object/apply:os.system ['true']", "!!binary x",
    "!custom", "{", "}", "[", "]", ": :", "- -", "\t", "\x00", "\x1b[31m", "\u202e", "\ufeff",
    "\u0085", "'", '"', "%YAML 1.1", "---", "...", "? ", "|", ">", "#", "99999999999999999999",
    "1e309", "-0", "0x1F", "0o17", "~", "null", "yes", "NO", "2001-12-14", ".inf", ".nan",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid scenario with a few lines deleted, duplicated (duplicate keys), swapped, cut
    or with hostile tokens and characters inserted."""
    lines = draw(st.sampled_from(BASES)).splitlines()
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "cut", "replace"]))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            col = draw(st.integers(0, len(lines[i])))
            token = draw(st.one_of(st.sampled_from(TOKENS), HOSTILE_TEXT))
            lines[i] = lines[i][:col] + token + lines[i][col:]
        elif op == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        else:
            key = lines[i].split(":", 1)[0]
            value = draw(st.one_of(st.sampled_from(TOKENS), HUGE.map(str), LONG, HOSTILE_TEXT))
            lines[i] = f"{key}: {value}"
    return "\n".join(lines)


@st.composite
def alias_bomb(draw: st.DrawFn) -> str:
    """Billion laughs: each level lists the previous one `width` times (width^depth nodes),
    plain or through merge keys, hung under a key the loader reads."""
    width, depth = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    merge = draw(st.booleans())
    lines = ["bomb:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, depth + 1):
        if merge:
            refs = ", ".join(["*l0"] * width) if level == 1 else f"*l{level - 1}"
            lines.append(f"  l{level}: &l{level} {{<<: [{refs}], k{level}: [{refs}]}}")
        else:
            lines.append(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    key = draw(st.sampled_from(["vpcs", "instances", "subnets", "expect", "internet", "name"]))
    return "\n".join([*lines, f"{key}: *l{depth}", "name: bomb"])


@st.composite
def deep(draw: st.DrawFn) -> str:
    depth = draw(st.integers(32, 5_000))
    kind = draw(st.sampled_from(["flow-list", "flow-map", "block"]))
    if kind == "flow-list":
        return "vpcs: " + "[" * depth + "]" * depth
    if kind == "flow-map":
        return "vpcs: " + "{a: " * depth + "1" + "}" * depth
    return "vpcs:\n" + "".join(" " * (i + 1) + "- \n" for i in range(min(depth, 3000)))


@st.composite
def duplicate_keys(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(BASES))
    data = yaml.safe_load(base)
    top = draw(st.sampled_from(sorted(data)))
    dup = yaml.safe_dump({top: data[top]}, default_flow_style=False)
    return base + "\n" + dup


# --- validate never crashes, never hangs ---------------------------------------------


@_settings(500)
@given(DOCUMENTS)
def test_generated_documents_exit_0_or_2(scratch: str, doc: dict[str, Any]) -> None:
    validate(scratch, yaml.safe_dump(doc, allow_unicode=True))


@_settings(900)
@given(mutated())
def test_mutated_scenarios_exit_0_or_2(scratch: str, text: str) -> None:
    validate(scratch, text)


@_settings(40)  # each one costs the loader its whole node budget before it refuses
@given(alias_bomb())
def test_alias_bombs_are_refused_quickly(scratch: str, text: str) -> None:
    assert validate(scratch, text).rc == 2


@_settings(100)
@given(deep())
def test_deep_nesting_is_refused(scratch: str, text: str) -> None:
    assert validate(scratch, text).rc == 2


@_settings(200)
@given(duplicate_keys())
def test_duplicate_keys_are_refused(scratch: str, text: str) -> None:
    ran = validate(scratch, text)
    assert ran.rc == 2 and "duplicate" in ran.err.lower(), ran.err


@_settings(500)
@given(st.binary(max_size=400))
def test_random_bytes_exit_0_or_2(scratch: str, data: bytes) -> None:
    validate(scratch, data)


def test_a_very_large_file_is_refused(scratch: str) -> None:
    assert validate(scratch, "name: big\n" + "# " + "x" * (3 * 1024 * 1024)).rc == 2


# --- nothing reaches nftables as text -------------------------------------------------


def _python_files() -> list[Path]:
    return sorted((ROOT / "netemu").rglob("*.py"))


TEXT_CALLS = ("cmd", "run_cmd_from_buffer", "cmd_from_file")  # libnftables' text entry points


# The one text transaction: connection tracking timeout policies, which the JSON parser of
# libnftables 1.0.6 drops (driver.kernel.load_ruleset). Its text is made by
# driver.kernel._policy_text from netemu's own names and integers only, and refuses
# anything else (test_policy_text_takes_only_netemus_own_names_and_integers).
TEXT_ALLOWED = {("kernel.py", "cmd")}


def test_policy_text_takes_only_netemus_own_names_and_integers() -> None:
    from netemu.driver.kernel import _policy_text

    good = {"name": "ct_0", "protocol": "udp", "policy": {"unreplied": 30, "replied": 180}}
    assert _policy_text(good).startswith("add ct timeout inet netemu ct_0 {")
    for bad in (
        {**good, "name": "x; flush ruleset"},
        {**good, "protocol": "icmp"},
        {**good, "policy": {"unreplied": "30; flush ruleset"}},
        {**good, "policy": {"drop table": 30}},
    ):
        with pytest.raises(ValueError):
            _policy_text(bad)


def test_netemu_never_hands_nftables_text() -> None:
    """In the whole package, libnftables is only called with JSON documents (`json_cmd`),
    and the `nft` program is never run: no `.cmd(...)`, `nft -f`, or "nft" argv — except
    the timeout policies' text (TEXT_ALLOWED), checked above."""
    offenders = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in TEXT_CALLS
                and (path.name, node.func.attr) not in TEXT_ALLOWED
            ):
                offenders.append(f"{path}:{node.lineno}: .{node.func.attr}(...)")
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"(/usr/s?bin/)?nft", node.value)
            ):
                offenders.append(f"{path}:{node.lineno}: runs the nft program")
    assert offenders == []


class FakeNftables:
    """Stands in for libnftables: records JSON documents, refuses text."""

    documents: ClassVar[list[Any]] = []

    def set_json_output(self, _on: bool) -> None:
        pass

    def json_cmd(self, doc: Any) -> tuple[int, dict[str, Any], str]:
        assert isinstance(doc, dict), f"json_cmd got {type(doc).__name__}"
        json.dumps(doc)  # serialisable as is, strings stay strings
        FakeNftables.documents.append(doc)
        return 0, {"nftables": []}, ""

    def cmd(self, text: str) -> tuple[int, str, str]:
        raise AssertionError(f"nftables got text: {text[:200]!r}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


# What may appear in a string of a ruleset: printable ASCII without anything that could end
# a string, a statement or a block if it were ever pasted into nft's text syntax (quotes,
# `;`, braces, `#`, `$`, backslash, newlines, control or non-ASCII characters). Names of
# scenario objects are held to NAME_RE by validation, which this also checks.
SAFE_STRING = re.compile(r"[ !%-/0-:<-Z\[\]^_a-z|~'&]*")


@st.composite
def valid_scenario(draw: st.DrawFn, name: str = "rl-fz") -> str:
    """A scenario that validates: random names (edge of NAME_RE), subnets, groups, ACLs,
    routes, a NAT gateway or not, services."""
    names = st.from_regex(NAME_RE, fullmatch=True)
    octet = draw(st.integers(0, 255))
    subnets = draw(st.lists(names, min_size=1, max_size=3, unique_by=str.lower))
    instances = draw(st.lists(names, min_size=1, max_size=4, unique_by=str.lower))
    assume(not set(map(str.lower, subnets)) & set(map(str.lower, instances)))
    group, acl = draw(names), draw(names)
    nat = draw(st.booleans())
    proto = st.sampled_from(["tcp", "udp", "icmp", "all", "-1", "6", "17"])
    rules = []
    for _ in range(draw(st.integers(0, 4))):
        p = draw(proto)
        ports = "" if p in ("icmp", "all", "-1") else f", port: {draw(st.integers(1, 65535))}"
        rules.append(f"      - {{protocol: {p}{ports}, cidr: 10.{octet}.0.0/16}}")
    acl_rules = []
    for n in draw(st.lists(st.integers(1, 32766), max_size=4, unique=True)):
        action = draw(st.sampled_from(["allow", "deny"]))
        acl_rules.append(f"      - {{rule: {n}, protocol: all, cidr: 0.0.0.0/0, action: {action}}}")
    services = st.lists(st.sampled_from(["ssh", "http", '"tcp:8080"', '"udp:5353"']), unique=True)
    lines = [
        f"name: {name}",
        "vpcs:",
        f"  main: {{cidr: 10.{octet}.0.0/16}}",
        "internet_gateways:",
        "  igw: {vpc: main}",
        "subnets:",
    ]
    for i, s in enumerate(subnets):
        acl_ref = f", network_acl: {acl}" if i == len(subnets) - 1 else ""
        lines.append(
            f"  {s}: {{vpc: main, cidr: 10.{octet}.{i}.0/24, public_ip_on_launch: {i == 0}, "
            f"route_table: {'pub' if i == 0 else 'priv'}{acl_ref}}}"
        )
    lines += [
        "route_tables:",
        "  pub: {vpc: main, routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]}",
        "  priv: {vpc: main, routes: ["
        + ("{destination: 0.0.0.0/0, nat_gateway: nat}" if nat else "")
        + "]}",
        "security_groups:",
        f"  {group}:",
        "    vpc: main",
        "    ingress:" + ("" if rules else " []"),
        *rules,
        "network_acls:",
        f"  {acl}:",
        "    vpc: main",
        "    ingress:" + ("" if acl_rules else " []"),
        *acl_rules,
        "    egress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]",
    ]
    if nat:
        lines += ["nat_gateways:", f"  nat: {{subnet: {subnets[0]}, elastic_ip: auto}}"]
    lines.append("instances:")
    for i, inst in enumerate(instances):
        sub = subnets[i % len(subnets)]
        svc = ", ".join(draw(services))
        lines.append(f"  {inst}: {{subnet: {sub}, security_groups: [{group}], services: [{svc}]}}")
    text = "\n".join(lines) + "\n"
    try:
        load_model_text(text)
    except ScenarioInvalid:
        assume(False)
    return text


@_settings(60)
@given(valid_scenario())
def test_rulesets_of_valid_scenarios_are_json_with_only_validated_names(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    """The driver's nftables path (kernel.load_ruleset) with libnftables replaced: every
    ruleset goes as one JSON document, and each string in it is rule vocabulary, an
    address, or a name that passed validation."""
    from netemu.driver import kernel, nft_contexts

    model, _ = load_model_text(text)
    plan = render(model)
    monkeypatch.setattr(nft_contexts.nftables, "Nftables", FakeNftables)
    monkeypatch.setattr(kernel.netns, "entered", lambda _ns: contextlib.nullcontext())
    FakeNftables.documents = []
    for rs in plan.rulesets:
        kernel.load_ruleset(rs)
    assert len(FakeNftables.documents) == len(plan.rulesets)
    for doc in FakeNftables.documents:
        for s in _strings(doc):
            assert SAFE_STRING.fullmatch(s), f"unsafe string in a ruleset: {s!r}"
    named = [*model.instances, *model.subnets, *model.network_acls, *model.route_tables]
    named += [g.name for g in model.security_groups.values()]
    assert all(NAME_RE.fullmatch(name) for name in named)


# --- valid generated scenarios go up and down -------------------------------------------


@pytest.mark.kernel
@settings(
    max_examples=40 if FULL else 8,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(valid_scenario())
def test_valid_generated_scenarios_go_up_and_down_leaving_nothing(workdir: str, text: str) -> None:
    path = relkit.write(workdir, text, "rl-fz.yaml")
    driver = lifecycle.KernelDriver()
    model, _ = lifecycle.up(path, driver)  # up verifies the kernel against the plan
    try:
        assert relkit.netemu("verify", model.name).rc == 0
    finally:
        lifecycle.down(model.name, driver)
    assert relkit.leftovers("rl-fz") == []
