"""Model -> the service part of the Plan: the service daemon with its configuration and
metadata documents, one sshd per instance or host that lists `ssh`, the one-shot task that
makes the SSH keys, and 169.254.169.254 in every subnet namespace that holds instances.

The metadata address sits on `lo` of the subnet namespace: an instance reaches it through
its default route to base+1, one routed hop that ends in that namespace's input hook, where
no security group or network ACL is (they filter forwarded traffic only), as on AWS (7.11).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from netemu.model.aws_services import SERVICE_PORTS
from netemu.model.types import Eni, Instance, InternetHost, Model
from netemu.render import ipv6
from netemu.render import names as n
from netemu.render.hostnames import private_dns_name, public_dns_name
from netemu.render.plan import Address, File, Plan, Process
from netemu.services import config as cfg

# The interpreter running netemu now runs its daemons too, so they import the same netemu.
PYTHON = sys.executable
# Phases (render.dhcp: DHCP servers in 0, clients in 1). The keys are made while the DHCP
# clients run; the servers start last, once instances have their address. The daemon and
# the sshds share a phase so that `up` waits for their start-ups at once, not one after
# the other (the daemon takes about 80 ms, mostly importing asyncio).
KEYS_PHASE = 1
SERVERS_PHASE = 2

SSHD_CONFIG = """\
# netemu: the sshd of every instance and internet host of this scenario that lists `ssh`.
# Read instead of /etc/ssh/sshd_config (sshd -f); paths below the state directory (host
# key, authorized key, pid file) come on each sshd's command line.
AddressFamily inet
ListenAddress 0.0.0.0:22
# Root, by the scenario's key pair only: netemu makes no user accounts on the host.
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
# A bastion opens the connection to the next hop for `ssh -J` (direct-tcpip channels).
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
"""


def _owners(model: Model) -> list[tuple[str, str, Instance | InternetHost]]:
    """(kind, namespace, object) of everything that can list services."""
    s = model.name
    return [("i", n.instance_ns(s, i.name), i) for i in model.instances.values()] + [
        ("h", n.host_ns(s, h.name), h) for h in model.internet_hosts.values()
    ]


def _subnets_with_instances(model: Model) -> list[str]:
    held = {i.subnet for i in model.instances.values()}
    return [name for name in model.subnets if name in held]


_SERVICE_LISTENERS: tuple[tuple[cfg.ListenerKind, int], ...] = (
    ("http", SERVICE_PORTS[0]),
    ("http", SERVICE_PORTS[1]),
)


def listeners(model: Model) -> list[cfg.Listener]:
    # Dual stack: one socket on :: answers IPv4 and IPv6 alike (services.daemon).
    anywhere = "::" if ipv6.enabled(model) else "0.0.0.0"
    out = [
        cfg.Listener(ns, obj.name, svc.kind, svc.port, anywhere)
        for _, ns, obj in _owners(model)
        for svc in obj.services
        if svc.kind in ("http", "tcp", "udp")  # ssh and the servers are real programs
    ]
    out += [
        cfg.Listener(
            n.subnet_ns(model.name, sub), sub, "metadata", cfg.METADATA_PORT, cfg.METADATA_IP
        )
        for sub in _subnets_with_instances(model)
    ]
    # The service answers at an interface endpoint's ENI as at its public address (17.3).
    out += [
        cfg.Listener(n.endpoint_eni_ns(model.name, eni.owner), ep.service, kind, port, anywhere)
        for ep in model.vpc_endpoints.values()
        for eni in ep.network_interfaces
        for kind, port in _SERVICE_LISTENERS
    ]
    return out


def _interface(model: Model, eni: Eni) -> dict[str, Any]:
    """network/interfaces/macs/MAC/ of one ENI: its device number, all its private IPv4
    addresses, one a line (local-ipv4s, 9.21), its groups and subnet."""
    sub = model.subnets[eni.subnet]
    vpc = model.vpcs[sub.vpc]
    groups = [model.security_groups[g] for g in eni.security_groups]
    iface: dict[str, Any] = {
        "device-number": str(eni.device_index),
        "interface-id": eni.id,
        "local-hostname": (
            private_dns_name(model.region, eni.private_ip) if eni.private_ip else eni.id
        ),
        "local-ipv4s": "\n".join(str(ip) for ip in eni.private_ips),
        "mac": eni.mac,
        "security-group-ids": "\n".join(g.id for g in groups),
        "security-groups": "\n".join(g.name for g in groups),
        "subnet-id": sub.id,
        "subnet-ipv4-cidr-block": str(sub.cidr),
        "vpc-id": vpc.id,
        "vpc-ipv4-cidr-block": str(vpc.cidr),
    }
    if eni.public_ip is not None:
        iface["public-ipv4s"] = str(eni.public_ip)
        if vpc.dns_hostnames:  # public DNS names exist only with DNS hostnames on (10.3)
            iface["public-hostname"] = public_dns_name(model.region, eni.public_ip)
    return iface


def metadata_tree(model: Model, inst: Instance) -> dict[str, Any]:
    """What /latest/ holds for one instance; absent keys answer 404 (no public IP: no
    public-ipv4, as on AWS)."""
    eni, sub = inst.eni, model.subnets[inst.subnet]
    vpc = model.vpcs[sub.vpc]
    groups = [model.security_groups[g] for g in eni.security_groups]
    assert eni.private_ip is not None  # metadata_document serves IPv4 instances only
    local_name = private_dns_name(model.region, eni.private_ip)
    macs = {e.mac: _interface(model, e) for e in model.enis_of(inst.name)}  # every ENI (9.20)
    iface = macs[eni.mac]
    meta: dict[str, Any] = {
        "hostname": local_name,
        "instance-id": inst.id,
        "local-hostname": local_name,
        "local-ipv4": str(eni.private_ip),
        "mac": eni.mac,
        "network": {"interfaces": {"macs": macs}},
        "placement": {"availability-zone": sub.az, "region": model.region},
        "security-groups": "\n".join(g.name for g in groups),
    }
    if eni.public_ip is not None:
        meta["public-ipv4"] = iface["public-ipv4s"]
        if vpc.dns_hostnames:  # public DNS names exist only with DNS hostnames on (10.3)
            meta["public-hostname"] = iface["public-hostname"]
    document = {
        "availabilityZone": sub.az,
        "instanceId": inst.id,
        "privateIp": str(eni.private_ip),
        "region": model.region,
    }
    identity = {"document": json.dumps(document, indent=2)}
    return {
        "meta-data": dict(sorted(meta.items())),
        "dynamic": {"instance-identity": identity},
    }


def metadata_document(model: Model) -> str:
    """METADATA: per subnet namespace, per private address, the running instance's tree.
    A stopped instance has none (it answers nothing either)."""
    subnets: dict[str, dict[str, Any]] = {}
    for inst in model.instances.values():
        # IPv6-only instances: the IMDS IPv6 endpoint is not emulated (docs/ipv6.md).
        if inst.state != "running" or inst.private_ip is None:
            continue
        ns = n.subnet_ns(model.name, inst.subnet)
        subnets.setdefault(ns, {})[str(inst.private_ip)] = metadata_tree(model, inst)
    return json.dumps({"scenario": model.name, "subnets": subnets}, indent=1) + "\n"


def _sshd(kind: str, ns: str, name: str, key_name: str | None = None) -> Process:
    pid = cfg.sshd_pid_file(kind, name)
    keys = f"{{state}}/{cfg.KEY_PAIR}.pub"
    if key_name:  # the instance's EC2 key pair logs in as well (ref 9.12)
        keys += f" {{state}}/{cfg.key_pair_file(key_name)}"
    return Process(
        ns,
        f"sshd {'instance' if kind == 'i' else 'internet_host'}:{name}",
        (
            cfg.SSHD,
            "-D",  # stay in the foreground: the driver tracks it by PID
            "-e",  # log to stderr, which the driver keeps under logs/
            "-f",
            f"{{state}}/{cfg.SSHD_CONFIG}",
            "-h",
            f"{{state}}/{cfg.HOST_KEY}",
            "-o",
            f"AuthorizedKeysFile={keys}",
            "-o",
            f"PidFile={{state}}/{pid}",
        ),
        phase=SERVERS_PHASE,
        ready_file=pid,  # sshd writes it after its socket listens
        endpoint=name,
    )


def render(model: Model) -> tuple[list[Address], list[File], list[Process]]:
    inet = n.internet_ns(model.name)
    addresses = [
        Address(n.subnet_ns(model.name, sub), "lo", f"{cfg.METADATA_IP}/32")
        for sub in _subnets_with_instances(model)
    ]
    files: list[File] = []
    processes: list[Process] = []
    ssh_owners = [
        (kind, ns, obj.name)
        for kind, ns, obj in _owners(model)
        if any(svc.kind == "ssh" for svc in obj.services)
    ]
    if ssh_owners:
        files.append(File(cfg.SSHD_CONFIG, _sshd_config(model)))
        keys = (PYTHON, "-m", "netemu.services.sshkeys", "{state}")
        processes.append(Process(inet, "ssh keys", keys, phase=KEYS_PHASE, wait=True))
        key_names = {i.name: i.key_name for i in model.instances.values()}
        processes += [
            _sshd(kind, ns, name, key_names.get(name) if kind == "i" else None)
            for kind, ns, name in ssh_owners
        ]
        used = {k for k in key_names.values() if k}
        files += [
            File(cfg.key_pair_file(k), model.key_pairs[k].public_key + "\n") for k in sorted(used)
        ]
    found = listeners(model)
    if found:
        config = cfg.Config(model.name, tuple(found))
        files.append(File(cfg.CONFIG, config.to_json()))
        files.append(File(cfg.METADATA, metadata_document(model)))
        daemon = (PYTHON, "-m", "netemu.services", f"{{state}}/{cfg.CONFIG}")
        processes.append(
            Process(inet, "services", daemon, phase=SERVERS_PHASE, ready_file=cfg.READY)
        )
    return addresses, files, processes


def add(model: Model, plan: Plan) -> Plan:
    """`plan` with the services added."""
    addresses, files, processes = render(model)
    return dataclasses.replace(
        plan,
        addresses=plan.addresses + tuple(addresses),
        files=plan.files + tuple(files),
        processes=plan.processes + tuple(processes),
    )


def _sshd_config(model: Model) -> str:
    """sshd listens on IPv4, and on IPv6 too in a dual-stack scenario (render.ipv6)."""
    if not ipv6.enabled(model):
        return SSHD_CONFIG
    v4 = "AddressFamily inet\nListenAddress 0.0.0.0:22\n"
    both = "AddressFamily any\nListenAddress 0.0.0.0:22\nListenAddress [::]:22\n"
    return SSHD_CONFIG.replace(v4, both)
