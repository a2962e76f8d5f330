"""`describe-*` data -> a scenario dict plus notes on what could not be carried over.

Pure: no files, no printing. `data` maps each API's top-level key (`Vpcs`, `Subnets`,
`Reservations`, ...) to its list, as `aws ec2 describe-*` prints them (ref 11).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from netemu.errors import Problem, ScenarioInvalid
from netemu.interop import unsupported
from netemu.interop.names import IDLE_TIMEOUT_TAG, SERVICES_TAG, Namer, tag
from netemu.interop.notes import Note
from netemu.interop.rules import ALL_SG, acl_rules, sg_rules
from netemu.model.validate_internet import DEFAULT_HOST, is_public

Data = Mapping[str, Sequence[Mapping[str, Any]]]
Scenario = dict[str, Any]
UNKNOWN_PUBLIC_IP = "NetemuPublicIpUnknown"  # a Terraform plan's public IP, known after apply
_REGION_OF_AZ = re.compile(r"([a-z]{2}(-[a-z]+)+-[0-9]{1,2})[a-z]$")
_LIVE_INSTANCE = {
    "pending": "running",
    "running": "running",
    "stopping": "stopped",
    "stopped": "stopped",
}
_DEFAULT_SG_IN = [{"protocol": "all", "security_group": "default"}]  # ref 7.4
_DEFAULT_ACL = [{"rule": 100, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}]


def describe_to_scenario(
    data: Data,
    name: str | None = None,
    region: str | None = None,
    internet: Sequence[tuple[str, str]] = (),
    source: str = "<describe>",
) -> tuple[Scenario, list[Note]]:
    """The scenario dict (YAML-ready, keys in contract order) and the notes.

    internet: (name, ip) internet hosts; none given adds the contract's default host.
    Raises ScenarioInvalid (naming `source`) when the data has the wrong shape."""
    try:
        return _Converter(data, internet).run(name, region)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        msg = f"unexpected describe-* shape: {_what(e)} (is this aws ec2 describe-* output?)"
        raise ScenarioInvalid([Problem(None, msg, file=source)]) from None


def _what(e: Exception) -> str:
    if isinstance(e, KeyError):
        return f"a required field {e} is missing"
    return str(e) or type(e).__name__


class _Converter:
    def __init__(self, data: Data, internet: Sequence[tuple[str, str]]) -> None:
        self.data = data
        self.notes: list[Note] = []
        self.hosts = list(internet) or [(DEFAULT_HOST[0], str(DEFAULT_HOST[1]))]
        self.endpoints = Namer(h for h, _ in self.hosts)  # instances, NATs, hosts share names
        self.vpc: dict[str, str] = {}  # vpc id -> name
        self.subnet: dict[str, str] = {}  # subnet id -> name
        self.subnet_vpc: dict[str, str] = {}  # subnet id -> vpc id
        self.igw: dict[str, str] = {}
        self.nat: dict[str, str] = {}
        self.group: dict[str, str] = {}  # sg id -> name ("default" for a default group)
        self.instance: dict[str, str] = {}
        self.eni_owner: dict[str, str] = {}  # primary ENI id -> instance name
        self.out: Scenario = {}

    def items(self, key: str) -> Sequence[Mapping[str, Any]]:
        return self.data.get(key) or []

    def run(self, name: str | None, region: str | None) -> tuple[Scenario, list[Note]]:
        out = self.out
        if name:
            out["name"] = name
        out["region"] = region or self._region()
        self._vpcs()
        self._internet_gateways()
        self._subnets()
        self._nat_gateways()  # before route tables: routes name them
        self._instances()
        self._route_tables()
        self._security_groups()
        self._network_acls()
        self._associations()
        out["internet"] = {"hosts": {h: {"ip": ip} for h, ip in self.hosts}}
        for h, ip in self.hosts:
            self.notes.append(Note(h, f"internet host '{h}' at {ip}", "added"))
        self.notes += unsupported.notes(self.data, self.vpc, self.known_enis())
        ordered = (
            "name",
            "region",
            "vpcs",
            "internet_gateways",
            "subnets",
            "route_tables",
            "nat_gateways",
            "security_groups",
            "network_acls",
            "instances",
            "internet",
        )
        return {k: out[k] for k in ordered if out.get(k)}, self.notes

    def known_enis(self) -> set[str]:
        nat_enis = {
            str(a["NetworkInterfaceId"])
            for n in self.items("NatGateways")
            for a in n.get("NatGatewayAddresses") or []
            if a.get("NetworkInterfaceId")
        }
        return set(self.eni_owner) | nat_enis

    def _region(self) -> str:
        for s in self.items("Subnets"):
            match = _REGION_OF_AZ.fullmatch(str(s.get("AvailabilityZone", "")))
            if match:
                return match[1]
        return "us-east-1"

    def _vpcs(self) -> None:
        names = Namer()
        dns = {
            str(a["VpcId"]): a["EnableDnsHostnames"]["Value"]
            for a in self.items("VpcAttributes")
            if "EnableDnsHostnames" in a
        }
        vpcs: dict[str, Any] = {}
        for v in self.items("Vpcs"):
            vid = str(v["VpcId"])
            name = names.name(tag(v), vid)
            self.vpc[vid] = name
            spec: dict[str, Any] = {"id": vid, "cidr": str(v["CidrBlock"])}
            if v.get("IsDefault"):
                spec["is_default"] = True
            if vid in dns and bool(dns[vid]) != bool(v.get("IsDefault")):
                spec["dns_hostnames"] = bool(dns[vid])
            for assoc in v.get("CidrBlockAssociationSet") or []:
                state = (assoc.get("CidrBlockState") or {}).get("State", "associated")
                if assoc.get("CidrBlock") != v["CidrBlock"] and state == "associated":
                    msg = f"secondary CIDR {assoc['CidrBlock']} is not emulated yet"
                    self.notes.append(Note(vid, msg))
            for assoc in v.get("Ipv6CidrBlockAssociationSet") or []:
                msg = f"IPv6 CIDR {assoc.get('Ipv6CidrBlock')} is not emulated yet"
                self.notes.append(Note(vid, msg))
            vpcs[name] = spec
        self.out["vpcs"] = vpcs

    def _internet_gateways(self) -> None:
        names = Namer()
        igws: dict[str, Any] = {}
        for g in self.items("InternetGateways"):
            gid = str(g["InternetGatewayId"])
            attached = [
                a
                for a in g.get("Attachments") or []
                if a.get("State") in ("available", "attached") and a["VpcId"] in self.vpc
            ]
            if not attached:
                self.notes.append(Note(gid, "not attached to an imported VPC; left out", "skipped"))
                continue
            name = names.name(tag(g), gid)
            self.igw[gid] = name
            igws[name] = {"id": gid, "vpc": self.vpc[attached[0]["VpcId"]]}
        self.out["internet_gateways"] = igws

    def _subnets(self) -> None:
        names = Namer()
        subnets: dict[str, Any] = {}
        region = self.out["region"]
        for s in self.items("Subnets"):
            sid, vid = str(s["SubnetId"]), str(s["VpcId"])
            if vid not in self.vpc:
                self.notes.append(Note(sid, f"its VPC {vid} is not in the import; left out"))
                continue
            name = names.name(tag(s), sid)
            self.subnet[sid], self.subnet_vpc[sid] = name, vid
            az = str(s.get("AvailabilityZone") or region + "a")
            short = az[len(region) :] if az.startswith(region) else az
            spec: dict[str, Any] = {"id": sid, "vpc": self.vpc[vid], "cidr": str(s["CidrBlock"])}
            spec["az"] = short if re.fullmatch(r"[a-z]", short) else az
            if s.get("MapPublicIpOnLaunch"):
                spec["public_ip_on_launch"] = True
            if s.get("DefaultForAz"):
                spec["default_for_az"] = True
            for assoc in s.get("Ipv6CidrBlockAssociationSet") or []:
                msg = f"IPv6 CIDR {assoc.get('Ipv6CidrBlock')} is not emulated yet"
                self.notes.append(Note(sid, msg))
            subnets[name] = spec
        self.out["subnets"] = subnets

    def _nat_gateways(self) -> None:
        nats: dict[str, Any] = {}
        for n in self.items("NatGateways"):
            nid, state = str(n["NatGatewayId"]), n.get("State", "available")
            if state not in ("pending", "available"):
                self.notes.append(Note(nid, f"state {state}; left out", "skipped"))
                continue
            if n.get("SubnetId") not in self.subnet:
                self.notes.append(Note(nid, "its subnet is not in the import; left out"))
                continue
            if n.get("ConnectivityType", "public") == "private":
                self.notes.append(Note(nid, "private NAT gateways are not emulated yet"))
                continue
            addresses = list(n.get("NatGatewayAddresses") or [])
            primary = next((a for a in addresses if a.get("IsPrimary")), None)
            primary = primary or (addresses[0] if addresses else {})
            name = self.endpoints.name(tag(n), nid)
            self.nat[nid] = name
            spec: dict[str, Any] = {"id": nid, "subnet": self.subnet[n["SubnetId"]]}
            if primary.get("NetworkInterfaceId"):
                spec["network_interface_id"] = primary["NetworkInterfaceId"]
            private = self._private(nid, spec["subnet"], primary.get("PrivateIp"))
            if private:
                spec["private_ip"] = private
            public = self._public(nid, primary.get("PublicIp"))
            spec["elastic_ip"] = public or "auto"
            timeout = tag(n, IDLE_TIMEOUT_TAG)
            if timeout and timeout.isdigit():
                spec["idle_timeout"] = int(timeout)
            for extra in addresses:
                if extra is not primary:
                    msg = f"secondary address {extra.get('PrivateIp')} is not emulated yet"
                    self.notes.append(Note(nid, msg))
            nats[name] = spec
        self.out["nat_gateways"] = nats

    def _instances(self) -> None:
        elastic = {str(a["PublicIp"]) for a in self.items("Addresses") if a.get("PublicIp")}
        instances: dict[str, Any] = {}
        for r in self.items("Reservations"):
            for i in r["Instances"]:
                spec = self._instance(i, elastic, bool(self.items("Addresses")))
                if spec is not None:
                    name = self.endpoints.name(tag(i), str(i["InstanceId"]))
                    self.instance[str(i["InstanceId"])] = name
                    if spec.get("network_interface_id"):
                        self.eni_owner[spec["network_interface_id"]] = name
                    instances[name] = spec
        self.out["instances"] = instances

    def _instance(
        self, i: Mapping[str, Any], elastic: set[str], have_addresses: bool
    ) -> dict[str, Any] | None:
        iid = str(i["InstanceId"])
        state = str((i.get("State") or {}).get("Name", "running"))
        if state not in _LIVE_INSTANCE:
            self.notes.append(Note(iid, f"state {state}; left out", "skipped"))
            return None
        if i.get("SubnetId") not in self.subnet:
            self.notes.append(Note(iid, "not in a subnet of the import; left out"))
            return None
        enis = sorted(
            i.get("NetworkInterfaces") or [],
            key=lambda e: (e.get("Attachment") or {}).get("DeviceIndex", 0),
        )
        eni = enis[0] if enis else {}
        spec: dict[str, Any] = {"id": iid, "subnet": self.subnet[i["SubnetId"]]}
        if eni.get("NetworkInterfaceId"):
            spec["network_interface_id"] = eni["NetworkInterfaceId"]
        private = self._private(iid, spec["subnet"], i.get("PrivateIpAddress"))
        if private:  # absent in a Terraform plan: the lowest free one
            spec["private_ip"] = private
        public = i.get("PublicIpAddress") or (eni.get("Association") or {}).get("PublicIp")
        if public:
            owner = (eni.get("Association") or {}).get("IpOwnerId", "amazon")
            is_eip = public in elastic if have_addresses else owner != "amazon"
            usable = self._public(iid, str(public))
            if is_eip:
                spec["elastic_ip"] = usable or "auto"
            else:
                spec["public_ip"] = usable or True
        elif (
            self.out["subnets"][spec["subnet"]].get("public_ip_on_launch")
            and state in ("pending", "running")
            and not i.get(UNKNOWN_PUBLIC_IP)
        ):  # launched without the subnet's auto public IP (ref 2.6)
            spec["public_ip"] = False
        groups = eni.get("Groups") or i.get("SecurityGroups") or []
        spec["security_groups"] = [str(g["GroupId"]) for g in groups]  # names set later
        if i.get("SourceDestCheck") is False:
            spec["source_dest_check"] = False
        if _LIVE_INSTANCE[state] == "stopped":
            spec["state"] = "stopped"
        services = tag(i, SERVICES_TAG)
        if services:
            spec["services"] = [s.strip() for s in services.split(",") if s.strip()]
        for extra in enis[1:]:
            msg = f"second network interface {extra.get('NetworkInterfaceId')}"
            self.notes.append(Note(iid, msg + " is not emulated yet"))
        for ip in eni.get("PrivateIpAddresses") or []:
            if not ip.get("Primary", True):
                msg = f"secondary private IP {ip.get('PrivateIpAddress')} is not emulated yet"
                self.notes.append(Note(iid, msg))
        if eni.get("Ipv6Addresses"):
            self.notes.append(Note(iid, "IPv6 addresses are not emulated yet"))
        return spec

    def _private(self, oid: str, subnet: str, ip: Any) -> str | None:
        """The private IP, or None (the lowest free) when it is not usable in its subnet."""
        if not ip:
            return None
        cidr = IPv4Network(self.out["subnets"][subnet]["cidr"], strict=False)
        try:
            usable = IPv4Address(str(ip)) in cidr
        except ValueError:
            usable = False
        if not usable:
            msg = f"private IP {ip} is not inside its subnet {cidr}; netemu picks the lowest free"
            self.notes.append(Note(oid, msg, "changed"))
            return None
        return str(ip)

    def _public(self, oid: str, ip: Any) -> str | None:
        """A public IP kept as it is (ref 5.3), or None (one from the pool) when it is not a
        public address, like the 127.x elastic IPs of some emulators."""
        if not ip:
            return None
        try:
            public = is_public(IPv4Address(str(ip)))
        except ValueError:
            public = False
        if not public:
            msg = f"public IP {ip} is not a public address; netemu picks one from its pool"
            self.notes.append(Note(oid, msg, "changed"))
            return None
        return str(ip)

    def _route_tables(self) -> None:
        names = Namer()
        tables: dict[str, Any] = {}
        self.table: dict[str, str] = {}
        for t in self.items("RouteTables"):
            tid, vid = str(t["RouteTableId"]), str(t["VpcId"])
            if vid not in self.vpc:
                continue  # its VPC was reported
            name = names.name(tag(t), tid)
            self.table[tid] = name
            spec: dict[str, Any] = {"id": tid, "vpc": self.vpc[vid]}
            if any(a.get("Main") for a in t.get("Associations") or []):
                spec["main"] = True
            routes = [r for r in (self._route(tid, route) for route in t.get("Routes") or []) if r]
            if routes:
                spec["routes"] = routes
            for a in t.get("Associations") or []:
                if a.get("GatewayId"):
                    msg = f"edge association with {a['GatewayId']} is not emulated yet"
                    self.notes.append(Note(tid, msg))
            tables[name] = spec
        self.out["route_tables"] = tables

    def _route(self, tid: str, r: Mapping[str, Any]) -> dict[str, Any] | None:
        if r.get("GatewayId") == "local":
            return None  # implicit (ref 4.4)
        dest = r.get("DestinationCidrBlock")
        target = unsupported.route_target(r)
        if dest is None:
            where = r.get("DestinationIpv6CidrBlock") or r.get("DestinationPrefixListId")
            kind = "IPv6" if r.get("DestinationIpv6CidrBlock") else "prefix list"
            self.notes.append(
                Note(tid, f"route {where} -> {target}: {kind} destinations are not emulated yet")
            )
            return None
        if r.get("Origin") == "EnableVgwRoutePropagation":
            self.notes.append(Note(tid, f"propagated route {dest} -> {target} is not emulated"))
            return None
        if r.get("State") == "blackhole":  # its target is gone (ref 4.10)
            return {"destination": dest, "blackhole": True}
        gateway = str(r.get("GatewayId") or "")
        if gateway in self.igw:
            return {"destination": dest, "internet_gateway": self.igw[gateway]}
        if r.get("NatGatewayId") in self.nat:
            return {"destination": dest, "nat_gateway": self.nat[r["NatGatewayId"]]}
        if r.get("InstanceId") in self.instance:
            return {"destination": dest, "instance": self.instance[r["InstanceId"]]}
        if r.get("NetworkInterfaceId") in self.eni_owner:
            return {"destination": dest, "instance": self.eni_owner[r["NetworkInterfaceId"]]}
        self.notes.append(Note(tid, f"route {dest} -> {target}: {unsupported.why(target)}"))
        return None

    def _security_groups(self) -> None:
        names = Namer(["default"])
        groups = unsupported.groups_with_rules(self.data, self.notes)
        for g in groups:
            if g.get("VpcId") in self.vpc:
                gid = str(g["GroupId"])
                default = g.get("GroupName") == "default"
                self.group[gid] = (
                    "default" if default else names.name(tag(g) or g.get("GroupName"), gid, "sg-")
                )
        out: dict[str, Any] = {}
        for g in groups:
            gid = str(g["GroupId"])
            if gid not in self.group:
                continue
            vpc = self.vpc[g["VpcId"]]

            def peer(other: str, vpc_id: str = str(g["VpcId"])) -> str | None:
                same = any(x["GroupId"] == other and x.get("VpcId") == vpc_id for x in groups)
                return self.group.get(other) if same else None

            ingress = sg_rules(gid, g.get("IpPermissions") or [], peer, self.notes, "ingress")
            egress = sg_rules(gid, g.get("IpPermissionsEgress") or [], peer, self.notes, "egress")
            if self.group[gid] == "default":
                spec: dict[str, Any] = {"id": gid}
                if ingress != _DEFAULT_SG_IN:
                    spec["ingress"] = ingress
                if egress != [ALL_SG]:
                    spec["egress"] = egress
                self.out["vpcs"][vpc]["default_security_group"] = spec
                continue
            spec = {"id": gid, "vpc": vpc}
            if ingress:
                spec["ingress"] = ingress
            if egress != [ALL_SG]:
                spec["egress"] = egress
            out[self.group[gid]] = spec
        self.out["security_groups"] = out
        for inst in self.out["instances"].values():
            inst["security_groups"] = [
                self.group[g] for g in inst["security_groups"] if g in self.group
            ]
            if inst["security_groups"] == ["default"]:
                del inst["security_groups"]

    def _network_acls(self) -> None:
        names = Namer(f"{v}-default" for v in self.vpc.values())
        self.acl: dict[str, str] = {}
        out: dict[str, Any] = {}
        for a in self.items("NetworkAcls"):
            aid, vid = str(a["NetworkAclId"]), str(a["VpcId"])
            if vid not in self.vpc:
                continue
            entries = list(a.get("Entries") or [])
            ingress = acl_rules(aid, entries, False, self.notes)
            egress = acl_rules(aid, entries, True, self.notes)
            if a.get("IsDefault"):
                spec: dict[str, Any] = {"id": aid}
                if ingress != _DEFAULT_ACL:
                    spec["ingress"] = ingress
                if egress != _DEFAULT_ACL:
                    spec["egress"] = egress
                self.out["vpcs"][self.vpc[vid]]["default_network_acl"] = spec
                continue
            self.acl[aid] = names.name(tag(a), aid)
            out[self.acl[aid]] = {
                "id": aid,
                "vpc": self.vpc[vid],
                "ingress": ingress,
                "egress": egress,
            }
        self.out["network_acls"] = out

    def _associations(self) -> None:
        """Explicit subnet associations (ref 2.8); implicit ones stay implicit."""
        subnets = self.out["subnets"]
        for t in self.items("RouteTables"):
            for a in t.get("Associations") or []:
                sid = a.get("SubnetId")
                if sid in self.subnet and str(t["RouteTableId"]) in self.table:
                    subnets[self.subnet[sid]]["route_table"] = self.table[str(t["RouteTableId"])]
        for acl in self.items("NetworkAcls"):
            for a in acl.get("Associations") or []:
                sid = a.get("SubnetId")
                if sid in self.subnet and str(acl["NetworkAclId"]) in self.acl:
                    subnets[self.subnet[sid]]["network_acl"] = self.acl[str(acl["NetworkAclId"])]
