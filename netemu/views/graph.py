"""Model -> diagram: Graphviz dot in the layout of AWS architecture diagrams, and Mermaid.

VPCs, availability zones and subnets are nested clusters (AWS's colours: VPC purple, AZ
dashed blue, public subnets green, private ones teal); instances, NAT gateways, the VPC
router, internet gateways and internet hosts are nodes named after the probe's path
components (`instance:web`, `subnet:public`, `vpc_router:main`, ...), so a probe's hops
overlay directly. Each subnet has one node for its edge, where its network ACL applies.
Nothing here touches the kernel; `dot` turns the text into SVG or PNG.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from netemu.errors import HostUnsupported, UsageError
from netemu.model.types import Model, SecurityGroup, Subnet
from netemu.views import labels

# AWS architecture icon colours
VPC_COLOUR = "#8C4FFF"
AZ_COLOUR = "#147EBA"
PUBLIC = ("#7AA116", "#F2F6E8")
PRIVATE = ("#00A4A6", "#E6F6F7")
EC2 = "#ED7100"
GATEWAY = "#8C4FFF"
INTERNET = "#545B64"
REACHABLE = "#1A7F37"
BLOCKED = "#D1242F"


@dataclass(frozen=True)
class Overlay:
    """A probe's path drawn on the diagram: its hops in order, and where it died."""

    hops: tuple[str, ...]
    reachable: bool
    title: str  # e.g. "internet -> web tcp/22: BLOCKED"
    drop: str | None = None  # e.g. "SUBNET_ACL_RESTRICTION at network_acl:db"


def _q(node: str) -> str:
    return '"' + node.replace("\\", "\\\\").replace('"', '\\"') + '"'


def is_public(model: Model, subnet: Subnet) -> bool:
    table = model.route_tables[subnet.route_table]
    return any(r.target_kind == "internet_gateway" for r in table.routes)


def _groups(model: Model, ids: Sequence[str]) -> str:
    groups: list[SecurityGroup] = [model.security_groups[g] for g in ids]
    return ", ".join(g.name for g in groups) or "-"


def _label(title: str, lines: Sequence[str], colour: str, icon: str) -> str:
    rows = "".join(
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">{escape(x)}</FONT></TD></TR>' for x in lines
    )
    bold = f'<FONT COLOR="{colour}"><B>{icon} {escape(title)}</B></FONT>'
    head = f'<TR><TD ALIGN="LEFT">{bold}</TD></TR>'
    return f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">{head}{rows}</TABLE>>'


def _style(colour: str, style: str) -> str:
    return f'style="{style}"; color="{colour}"; fontcolor="{colour}";'


def _node(name: str, label: str, colour: str, shape: str = "box", fill: str = "white") -> str:
    return (
        f'{_q(name)} [label={label}, shape={shape}, style="rounded,filled", '
        f'color="{colour}", fillcolor="{fill}", penwidth=1.5, fontname="Helvetica"];'
    )


def dot(model: Model, overlay: Overlay | None = None) -> str:
    """The diagram as Graphviz dot text."""
    out = [
        f"digraph {_q('netemu ' + model.name)} {{",
        '  graph [rankdir=TB, fontname="Helvetica", compound=true, newrank=true, '
        f"nodesep=0.35, ranksep=0.55, labelloc=t, label={_q(_title(model, overlay))}];",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [color="#879196", arrowhead=none, penwidth=1.2];',
    ]
    out += _internet(model)
    for vpc in model.vpcs.values():
        out += _vpc(model, vpc.name)
        out += _rules(model, vpc.name)
    out += [f"  {_q(a)} -> {_q(b)} [dir=none];" for a, b in cables(model)]
    if overlay:
        out += _overlay(overlay)
    out.append("}")
    return "\n".join(out) + "\n"


def _title(model: Model, overlay: Overlay | None) -> str:
    head = f"scenario {model.name} ({model.region})"
    if overlay is None:
        return head
    drop = f"\n✖ {overlay.drop or 'dropped, no rule named'}" if not overlay.reachable else ""
    return f"{head}\n{overlay.title}{drop}"


def _internet(model: Model) -> list[str]:
    out = [
        "  subgraph cluster_internet {",
        f'    label="Internet"; {_style(INTERNET, "rounded,dashed")}',
        "    " + _node("internet", _label("internet", [], INTERNET, "☁"), INTERNET, "ellipse"),
    ]
    for h in model.internet_hosts.values():
        lines = [
            str(h.ip),
            *([", ".join(f"{s.kind}/{s.port}" for s in h.services)] if h.services else []),
        ]
        out.append(
            "    "
            + _node(f"internet_host:{h.name}", _label(h.name, lines, INTERNET, "◉"), INTERNET)
        )
    out.append("  }")
    return out


def _vpc(model: Model, vpc: str) -> list[str]:
    v = model.vpcs[vpc]
    out = [
        f"  subgraph {_q('cluster_vpc_' + vpc)} {{",
        f'    label=<<B>VPC {escape(vpc)}</B>  {v.cidr}  <FONT POINT-SIZE="9">{v.id}</FONT>>;',
        f'    style="rounded"; color="{VPC_COLOUR}"; fontcolor="{VPC_COLOUR}"; penwidth=2;',
    ]
    igw = model.igw_of(vpc)
    if igw:
        out.append(
            "    "
            + _node(
                f"internet_gateway:{igw.name}",
                _label(f"internet gateway {igw.name}", [igw.id], GATEWAY, "⊕"),
                GATEWAY,
            )
        )
    tables = [t for t in model.route_tables.values() if t.vpc == vpc]
    rt_lines = [
        f"route table {t.name}{' (main)' if t.main else ''}: " + "; ".join(labels.routes(t))
        for t in tables
    ]
    out.append(
        "    "
        + _node(
            f"vpc_router:{vpc}",
            _label("VPC router", rt_lines, VPC_COLOUR, "⇆"),
            VPC_COLOUR,
            fill="#F4EDFF",
        )
    )
    azs: dict[str, list[Subnet]] = {}
    for s in model.subnets.values():
        if s.vpc == vpc:
            azs.setdefault(s.az, []).append(s)
    for az, subnets in azs.items():
        out.append(f"    subgraph {_q('cluster_az_' + vpc + '_' + az)} {{")
        out.append(f'      label="Availability Zone {az}"; {_style(AZ_COLOUR, "dashed,rounded")}')
        for s in subnets:
            out += _subnet(model, s)
        out.append("    }")
    out.append("  }")
    return out


def _rules(model: Model, vpc: str) -> list[str]:
    """Notes under the VPC with the rules of the groups and ACLs in use."""
    out = []
    for kind, lines in (
        ("security groups", labels.security_groups(model, vpc)),
        ("network ACLs", labels.network_acls(model, vpc)),
    ):
        if lines:
            name = f"{kind}:{vpc}"
            label = _label(kind, lines, VPC_COLOUR, "☰")
            out.append("  " + _node(name, label, "#879196", "note", "#FFFFFF"))
            for e in model.enis():  # under every ENI of the VPC: below the VPC's frame
                if model.subnets[e.subnet].vpc == vpc:
                    out.append(f"  {_q(f'{e.owner_kind}:{e.owner}')} -> {_q(name)} [style=invis];")
    return out


def _subnet(model: Model, s: Subnet) -> list[str]:
    colour, fill = PUBLIC if is_public(model, s) else PRIVATE
    kind = "Public" if is_public(model, s) else "Private"
    out = [
        f"      subgraph {_q('cluster_subnet_' + s.name)} {{",
        f"        label=<<B>{kind} subnet {escape(s.name)}</B>  {s.cidr or s.ipv6_cidr}>; "
        'style="filled,rounded"; '
        f'color="{colour}"; fillcolor="{fill}"; fontcolor="{colour}";',
    ]
    acl = model.network_acls[s.network_acl]
    edge = [
        f"route table: {s.route_table}",
        f"network ACL: {acl.name}{' (default)' if acl.is_default else ''}",
    ]
    out.append(
        "        "
        + _node(
            f"subnet:{s.name}", _label("subnet edge", edge, colour, "▦"), colour, "box", "white"
        )
    )
    for inst in model.instances.values():
        if inst.subnet != s.name:
            continue
        private = ", ".join(str(ip) for ip in inst.eni.private_ips)
        lines = [inst.id, *([f"private {private}"] if private else [])]
        if inst.public_ip:
            lines.append(f"{'elastic' if inst.eni.elastic_ip else 'public'} {inst.public_ip}")
        if inst.ipv6_address:
            lines.append(f"ipv6 {inst.ipv6_address}")
        lines.append(f"SG: {_groups(model, inst.eni.security_groups)}")
        for e in model.enis_of(inst.name)[1:]:  # its secondary ENIs (ref 9.20)
            ips = ", ".join(str(ip) for ip in e.private_ips)
            lines.append(f"eth{e.device_index} ({e.subnet}) {ips}, SG: "
                         f"{_groups(model, e.security_groups)}")  # fmt: skip
        if inst.services:
            lines.append("services: " + ", ".join(f"{x.kind}/{x.port}" for x in inst.services))
        if inst.state != "running":
            lines.append(f"state: {inst.state}")
        colour_i = EC2 if inst.state == "running" else "#999999"
        out.append(
            "        "
            + _node(f"instance:{inst.name}", _label(inst.name, lines, colour_i, "▣"), colour_i)
        )
    for nat in model.nat_gateways.values():
        if nat.subnet != s.name:
            continue
        lines = [nat.id, f"private {nat.eni.private_ip}", f"elastic {nat.eni.public_ip}"]
        out.append(
            "        "
            + _node(
                f"nat_gateway:{nat.name}", _label(f"NAT {nat.name}", lines, GATEWAY, "⇄"), GATEWAY
            )
        )
    out.append("      }")
    return out


def cables(model: Model) -> list[tuple[str, str]]:
    """The cables, from the internet down to the ENIs (so the internet is drawn on top)."""
    pairs = [(f"internet_host:{h.name}", "internet") for h in model.internet_hosts.values()]
    for g in model.internet_gateways.values():
        pairs.append(("internet", f"internet_gateway:{g.name}"))
        pairs.append((f"internet_gateway:{g.name}", f"vpc_router:{g.vpc}"))
    pairs += [(f"vpc_router:{s.vpc}", f"subnet:{s.name}") for s in model.subnets.values()]
    pairs += [(f"subnet:{e.subnet}", f"{e.owner_kind}:{e.owner}") for e in model.enis()]
    return pairs


def path_edges(hops: Sequence[str]) -> list[tuple[str, str]]:
    """Consecutive pairs of distinct hops."""
    clean = [h for i, h in enumerate(hops) if i == 0 or h != hops[i - 1]]
    return list(itertools.pairwise(clean))


def _overlay(o: Overlay) -> list[str]:
    colour = REACHABLE if o.reachable else BLOCKED
    out = [
        f'  {_q(a)} -> {_q(b)} [color="{colour}", penwidth=4, arrowhead=normal, '
        f'constraint=false, label={_q(str(i + 1))}, fontcolor="{colour}"];'
        for i, (a, b) in enumerate(path_edges(o.hops))
    ]
    if o.hops:
        out.append(f'  {_q(o.hops[0])} [penwidth=3, color="{colour}"];')
    if not o.reachable and o.hops:
        out.append(
            f'  {_q(o.hops[-1])} [penwidth=4, color="{BLOCKED}", fillcolor="#FDECEC", '
            f'xlabel=<<FONT COLOR="{BLOCKED}"><B>✖ dropped here</B></FONT>>];'
        )
    return out


def mermaid(model: Model, overlay: Overlay | None = None) -> str:
    """The diagram as a Mermaid flowchart, for Markdown."""

    def mid(node: str) -> str:
        return "n_" + "".join(c if c.isalnum() else "_" for c in node)

    lines = ["flowchart TB", f"  %% scenario {model.name} ({model.region})"]
    styles: list[str] = []
    lines.append('  subgraph internet_cluster["Internet"]')
    lines.append(f'    {mid("internet")}(("internet"))')
    for h in model.internet_hosts.values():
        lines.append(f'    {mid("internet_host:" + h.name)}["{h.name}<br/>{h.ip}"]')
    lines.append("  end")
    for vpc in model.vpcs.values():
        lines.append(f'  subgraph {mid("vpc:" + vpc.name)}["VPC {vpc.name} {vpc.cidr}"]')
        styles.append(f"  style {mid('vpc:' + vpc.name)} fill:#FFFFFF,stroke:{VPC_COLOUR}")
        igw = model.igw_of(vpc.name)
        if igw:
            lines.append(f'    {mid("internet_gateway:" + igw.name)}{{{{"IGW {igw.name}"}}}}')
        lines.append(f'    {mid("vpc_router:" + vpc.name)}[["VPC router"]]')
        for s in model.subnets.values():
            if s.vpc != vpc.name:
                continue
            kind = "public" if is_public(model, s) else "private"
            title = f"{kind} subnet {s.name} {s.cidr or s.ipv6_cidr} ({s.az})"
            lines.append(f'    subgraph {mid("cluster:" + s.name)}["{title}"]')
            stroke, fill = PUBLIC if kind == "public" else PRIVATE
            styles.append(f"  style {mid('cluster:' + s.name)} fill:{fill},stroke:{stroke}")
            lines.append(
                f'      {mid("subnet:" + s.name)}["edge: ACL {s.network_acl}, RT {s.route_table}"]'
            )
            for e in model.enis_in(s.name):
                label = f"{e.owner}<br/>{e.private_ip or e.ipv6_address}" + (
                    f"<br/>{e.public_ip}" if e.public_ip else ""
                )
                if e.owner_kind == "instance":
                    label += f"<br/>SG: {_groups(model, e.security_groups)}"
                lines.append(f'      {mid(f"{e.owner_kind}:{e.owner}")}["{label}"]')
                colour = EC2 if e.owner_kind == "instance" else GATEWAY
                styles.append(f"  style {mid(f'{e.owner_kind}:{e.owner}')} stroke:{colour}")
            lines.append("    end")
        lines.append("  end")
    lines += [f"  {mid(a)} --- {mid(b)}" for a, b in cables(model)]
    lines += styles  # AWS's colours, as in the Graphviz drawing
    if overlay:
        for a, b in path_edges(overlay.hops):
            lines.append(f"  {mid(a)} ==> {mid(b)}")
        if not overlay.reachable and overlay.hops:
            lines.append(f'  dropped{{"dropped: {overlay.drop or "no reason seen"}"}}')
            lines.append(f"  {mid(overlay.hops[-1])} -.- dropped")
            lines.append(f"  style dropped fill:{BLOCKED},color:#fff")
    return "\n".join(lines) + "\n"


def render_dot(text: str, fmt: str) -> bytes:
    """dot text -> svg or png bytes, with Graphviz's `dot` (Debian package graphviz)."""
    exe = shutil.which("dot")
    if exe is None:
        raise HostUnsupported(
            "Graphviz is not installed (apt-get install graphviz); .dot and .mmd need nothing"
        )
    done = subprocess.run(
        [exe, f"-T{fmt}"], input=text.encode(), capture_output=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise UsageError(f"dot failed: {done.stderr.decode(errors='replace').strip()[:500]}")
    return done.stdout


def write(model: Model, out: str, overlay: Overlay | None = None) -> None:
    """Writes the diagram in the format the file name ends with."""
    ext = out.rsplit(".", 1)[-1].lower() if "." in out else ""
    if ext == "mmd":
        data = mermaid(model, overlay).encode()
    elif ext == "dot":
        data = dot(model, overlay).encode()
    elif ext in ("svg", "png"):
        data = render_dot(dot(model, overlay), ext)
    else:
        raise UsageError(f"{out}: say the format by the file name: .svg, .png, .dot or .mmd")
    try:
        with open(out, "wb") as f:
            f.write(data)
    except OSError as e:
        raise UsageError(f"cannot write {out}: {e.strerror or e}") from None
