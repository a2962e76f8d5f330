"""Random valid scenarios and random probes, for the model-versus-packets cross-check.

A scenario is built as plain data (what a YAML file holds) so that the shrinker can take
objects and rules out of it one at a time. Everything the generator writes is meant to be
valid; `generate` retries with the next seed in the rare case validation disagrees.
"""

from __future__ import annotations

import copy
import random
from ipaddress import IPv4Network
from typing import Any

import yaml

from netemu.errors import ScenarioInvalid
from netemu.model import load_model_text
from netemu.model.types import Model
from netemu.probe.engine import ProbeSpec

Data = dict[str, Any]
PORTS = (22, 80, 443, 3306, 53, 8080)
HOSTS = {"client": "198.51.100.10", "repo": "198.51.100.20", "far": "192.0.2.30"}
INTERNET_NETS = ("198.51.100.0/24", "192.0.2.0/24", "198.51.100.20/32", "192.0.2.0/25")


def _rule_traffic(rng: random.Random) -> Data:
    proto = rng.choice(["tcp", "tcp", "udp", "icmp", "all", "-1", "6", "17", "1", "47"])
    out: Data = {"protocol": proto}
    if proto in ("tcp", "udp", "6", "17"):
        if rng.random() < 0.6:
            out["port"] = rng.choice(PORTS)
        else:
            out["ports"] = rng.choice(
                ["1024-65535", "32768-65535", "0-65535", "20-3306", "40000-50000"]
            )
    elif proto == "icmp" and rng.random() < 0.3:
        out["icmp_type"], out["icmp_code"] = rng.choice([(8, -1), (0, 0), (3, 4), (-1, -1)])
    return out


def _peer(rng: random.Random, vpc_cidr: str, subnets: list[str]) -> str:
    choices = ["0.0.0.0/0", vpc_cidr, *INTERNET_NETS]
    if subnets:
        choices.append(rng.choice(subnets))
    return rng.choice(choices)


def _vpc(rng: random.Random, d: Data, k: int) -> None:
    vpc, cidr = f"v{k}", f"10.{k + 1}.0.0/16"
    d["vpcs"][vpc] = {"cidr": cidr}
    igw = rng.random() < 0.85
    if igw:
        d["internet_gateways"][f"igw{k}"] = {"vpc": vpc}
    nsub = rng.randint(1, 4)
    subs = [f"s{k}{i}" for i in range(nsub)]
    cidrs = [f"10.{k + 1}.{i}.0/24" for i in range(nsub)]
    # NAT gateways and instances first: route tables may target them.
    nats = []
    if igw:
        for i in range(rng.choice([0, 0, 1, 1, 2])):
            nat = f"nat{k}{i}"
            d["nat_gateways"][nat] = {"subnet": rng.choice(subs), "elastic_ip": "auto"}
            nats.append(nat)
    groups = [f"g{k}{i}" for i in range(rng.randint(1, 3))]
    insts = []
    for i in range(rng.randint(2, 5)):
        name = f"i{k}{i}"
        inst: Data = {
            "subnet": rng.choice(subs),
            "security_groups": rng.sample([*groups, "default"], rng.randint(1, 2)),
        }
        if rng.random() < 0.5:
            inst["public_ip"] = rng.random() < 0.7
        if rng.random() < 0.2:
            inst["source_dest_check"] = False
        if rng.random() < 0.05:
            inst["state"] = "stopped"
        if rng.random() < 0.2:  # a reservation high in the subnet, away from the auto picks
            sub_index = subs.index(inst["subnet"])
            inst["private_ip"] = f"10.{k + 1}.{sub_index}.{100 + i}"
        if rng.random() < 0.4:
            inst["services"] = rng.sample(["ssh", "http", "tcp:3306", "udp:53"], 2)
        d["instances"][name] = inst
        insts.append(name)
    for g in groups:
        sg: Data = {"vpc": vpc, "ingress": []}
        if rng.random() < 0.4:  # wide open groups make replies, NAT and forwarding matter
            sg["ingress"].append({"protocol": "all", "cidr": "0.0.0.0/0"})
        for _ in range(rng.randint(0, 4)):
            r = _rule_traffic(rng)
            if rng.random() < 0.25:
                r["security_group"] = rng.choice([*groups, "default"])
            else:
                r["cidr"] = _peer(rng, cidr, cidrs)
            sg["ingress"].append(r)
        if rng.random() < 0.4:
            sg["egress"] = []
            for _ in range(rng.randint(0, 3)):
                r = _rule_traffic(rng)
                r["cidr"] = _peer(rng, cidr, cidrs)
                sg["egress"].append(r)
        d["security_groups"][g] = sg
    acls = [f"a{k}{i}" for i in range(rng.choice([0, 1, 1, 2]))]
    for a in acls:
        acl: Data = {"vpc": vpc, "ingress": [], "egress": []}
        for direction in ("ingress", "egress"):
            numbers = rng.sample(range(1, 40), rng.randint(0, 5))
            for n in numbers:
                r = {"rule": n * 10, **_rule_traffic(rng), "cidr": _peer(rng, cidr, cidrs)}
                r["action"] = "allow" if rng.random() < 0.7 else "deny"
                acl[direction].append(r)
            if rng.random() < 0.5:
                acl[direction].append(
                    {"rule": 500, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}
                )
        d["network_acls"][a] = acl
    tables = [f"r{k}{i}" for i in range(rng.randint(1, 3))]
    targets: list[Data] = [{"blackhole": True}]
    if igw:
        targets += [{"internet_gateway": f"igw{k}"}] * 3
    targets += [{"nat_gateway": n} for n in nats] * 2
    targets += [{"instance": i} for i in insts]
    main = rng.choice([None, *tables])
    for t in tables:
        table: Data = {"vpc": vpc, "routes": []}
        if t == main:
            table["main"] = True
        dests = rng.sample(["0.0.0.0/0", *INTERNET_NETS], rng.randint(0, 3))
        for dest in dests:
            table["routes"].append({"destination": dest, **rng.choice(targets)})
        if rng.random() < 0.15 and (nats or insts):  # a whole-subnet route (ref 4.6)
            kind, name = rng.choice(
                [("nat_gateway", n) for n in nats] + [("instance", i) for i in insts]
            )
            table["routes"].append({"destination": rng.choice(cidrs), kind: name})
        d["route_tables"][t] = table
    nsubs = [f"10.{k + 1}.{i}.0/24" for i in range(nsub)]
    if rng.random() < 0.2:  # the default group's rules replaced (7.4)
        d["vpcs"][vpc]["default_security_group"] = {
            "ingress": [{**_rule_traffic(rng), "cidr": _peer(rng, cidr, nsubs)}],
            "egress": [] if rng.random() < 0.5 else [{"protocol": "all", "cidr": "0.0.0.0/0"}],
        }
    if rng.random() < 0.2:  # the default ACL's rules replaced (8.4)
        d["vpcs"][vpc]["default_network_acl"] = {
            "ingress": [
                {
                    "rule": 50,
                    **_rule_traffic(rng),
                    "cidr": _peer(rng, cidr, nsubs),
                    "action": "deny",
                },
                {"rule": 100, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"},
            ]
        }
    for s, c in zip(subs, cidrs, strict=True):
        sub: Data = {"vpc": vpc, "cidr": c}
        if rng.random() < 0.5:
            sub["public_ip_on_launch"] = True
        if rng.random() < 0.7:
            sub["route_table"] = rng.choice(tables)
        if acls and rng.random() < 0.5:
            sub["network_acl"] = rng.choice(acls)
        d["subnets"][s] = sub


def scenario_data(seed: int, name: str = "fz") -> Data:
    rng = random.Random(seed)
    d: Data = {
        "name": name,
        "region": "ap-northeast-1",
        "vpcs": {},
        "internet_gateways": {},
        "subnets": {},
        "route_tables": {},
        "nat_gateways": {},
        "security_groups": {},
        "network_acls": {},
        "instances": {},
        "internet": {
            "hosts": {
                h: {"ip": ip, **({"services": ["http"]} if h == "repo" else {})}
                for h, ip in HOSTS.items()
            }
        },
    }
    for k in range(rng.choice([1, 1, 1, 2])):
        _vpc(rng, d, k)
    return d


def to_yaml(d: Data) -> str:
    return yaml.safe_dump(d, sort_keys=False, default_flow_style=None, width=100)


def load(d: Data) -> Model:
    model, _ = load_model_text(to_yaml(d), f"{d['name']}.yaml")
    return model


def generate(seed: int, name: str = "fz") -> tuple[Data, Model]:
    """A valid random scenario; seeds whose scenario does not validate are skipped."""
    for attempt in range(50):
        d = scenario_data(seed * 1000 + attempt, name)
        try:
            return d, load(d)
        except ScenarioInvalid:
            continue
    raise RuntimeError(f"no valid scenario from seed {seed}")


def probes(model: Model, seed: int, count: int) -> list[ProbeSpec]:
    """Random probes between instances, internet hosts, NAT gateways and addresses, each
    with its own source port (so no two share a connection-tracking entry)."""
    rng = random.Random(seed)
    v4 = [name for name, i in model.instances.items() if i.private_ip]  # the probes are IPv4
    sources = [*v4, *model.internet_hosts]
    addresses: list[str] = [str(e.public_ip) for e in model.enis() if e.public_ip]
    for sub in model.subnets.values():
        if sub.cidr is not None:
            addresses.append(str(sub.cidr.network_address + 200))  # held by no ENI
    for vpc in model.vpcs.values():
        addresses.append(str(IPv4Network(vpc.cidr).network_address + 250 * 256 + 9))
    addresses += ["192.0.2.77", "203.0.113.250"]
    kinds = [
        (v4, 0.6),
        (list(model.internet_hosts), 0.15),
        (list(model.nat_gateways), 0.05),
        (addresses, 0.2),
    ]
    ports = rng.sample(range(1024, 65535), count)
    out: list[ProbeSpec] = []
    while len(out) < count:
        pool = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        if not pool:
            continue
        src, dst = rng.choice(sources), rng.choice(pool)
        if src == dst:
            continue
        proto = rng.choice(["tcp", "tcp", "udp", "icmp"])
        port = None if proto == "icmp" else rng.choice(PORTS)
        sport = None if proto == "icmp" else ports[len(out)]
        out.append(ProbeSpec(src, dst, proto, port, sport))  # type: ignore[arg-type]
    return out


def variants(d: Data) -> list[Data]:
    """Every scenario with one object or rule fewer, smallest step last (for shrinking)."""
    out: list[Data] = []
    for section in (
        "instances",
        "nat_gateways",
        "subnets",
        "route_tables",
        "network_acls",
        "security_groups",
        "internet_gateways",
        "vpcs",
    ):
        for name in list(d.get(section, {})):
            v = copy.deepcopy(d)
            del v[section][name]
            out.append(v)
    for section, lists in (
        ("security_groups", ("ingress", "egress")),
        ("network_acls", ("ingress", "egress")),
        ("route_tables", ("routes",)),
    ):
        for name, obj in d.get(section, {}).items():
            for key in lists:
                for i in range(len(obj.get(key) or [])):
                    v = copy.deepcopy(d)
                    del v[section][name][key][i]
                    out.append(v)
    for name, inst in d.get("instances", {}).items():
        for key in ("public_ip", "source_dest_check", "state", "services"):
            if key in inst:
                v = copy.deepcopy(d)
                del v["instances"][name][key]
                out.append(v)
    for name, sub in d.get("subnets", {}).items():
        for key in ("route_table", "network_acl", "public_ip_on_launch"):
            if key in sub:
                v = copy.deepcopy(d)
                del v["subnets"][name][key]
                out.append(v)
    return out
