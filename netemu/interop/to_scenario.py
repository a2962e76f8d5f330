"""`describe-*` data -> a scenario dict plus notes on what could not be carried over.

Pure: no files, no printing. `data` maps each API's top-level key (`Vpcs`, `Subnets`,
`Reservations`, ...) to its list, as `aws ec2 describe-*` prints them (ref 11).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from netemu.errors import Problem, ScenarioInvalid
from netemu.interop import (
    dhcp_options,
    elastic_ips,
    ipv6,
    prefix_lists,
    transit_gateway,
    unsupported,
    vpc_endpoints,
    vpc_peering,
)
from netemu.interop.names import Namer, tag
from netemu.interop.notes import Note
from netemu.interop.rules import ALL_SG, acl_rules, sg_rules
from netemu.interop.to_endpoints import Endpoints
from netemu.interop.to_flow_logs import flow_logs
from netemu.model.validate_internet import DEFAULT_HOST

Data = Mapping[str, Sequence[Mapping[str, Any]]]
Scenario = dict[str, Any]
_REGION_OF_AZ = re.compile(r"([a-z]{2}(-[a-z]+)+-[0-9]{1,2})[a-z]$")
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
    if not data.get("Vpcs"):
        msg = "no VPC to import: the sources hold no describe-vpcs output (Vpcs)"
        raise ScenarioInvalid([Problem(None, msg, file=source)])
    try:
        return _Converter(data, internet).run(name, region)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        msg = f"unexpected describe-* shape: {_what(e)} (is this aws ec2 describe-* output?)"
        raise ScenarioInvalid([Problem(None, msg, file=source)]) from None


def _default_groups(groups: Sequence[Mapping[str, Any]]) -> set[str]:
    """The one default group of each VPC (ref 7.4). A snapshot may hold two groups named
    `default` in one VPC (AWS cannot); the one AWS describes as such wins, the other is
    imported as an ordinary group rather than lost."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for g in groups:
        if g.get("GroupName") != "default":
            continue
        vpc = str(g.get("VpcId"))
        official = g.get("Description") == "default VPC security group"
        if vpc not in chosen or (
            official and chosen[vpc].get("Description") != g.get("Description")
        ):
            chosen[vpc] = g
    return {str(g["GroupId"]) for g in chosen.values()}


def _what(e: Exception) -> str:
    if isinstance(e, KeyError):
        return f"a required field {e} is missing"
    return str(e) or type(e).__name__


class _Converter(Endpoints):
    def __init__(self, data: Data, internet: Sequence[tuple[str, str]]) -> None:
        self.data = data
        self.notes: list[Note] = []
        self.hosts = list(internet) or [(DEFAULT_HOST[0], str(DEFAULT_HOST[1]))]
        self.endpoints = Namer(h for h, _ in self.hosts)  # instances, NATs, hosts share names
        self.vpc: dict[str, str] = {}  # vpc id -> name
        self.subnet: dict[str, str] = {}  # subnet id -> name
        self.table: dict[str, str] = {}  # rtb id -> name
        self.acl: dict[str, str] = {}  # non-default ACL id -> name
        self.igw: dict[str, str] = {}
        self.eigw: dict[str, str] = {}  # eigw id -> name
        self.nat: dict[str, str] = {}
        self.group: dict[str, str] = {}  # sg id -> name ("default" for a default group)
        self.instance: dict[str, str] = {}
        self.eni_owner: dict[str, str] = {}  # primary ENI id -> instance name
        self.secondary_enis: dict[str, str] = {}  # secondary ENI id -> its name (9.20)
        self.pcx: dict[str, str] = {}  # pcx id -> name
        self.pl: dict[str, str] = {}  # customer-managed prefix list id -> name
        self.tgw: dict[str, str] = {}  # tgw id -> name
        self.out: Scenario = {}

    def items(self, key: str) -> Sequence[Mapping[str, Any]]:
        return self.data.get(key) or []

    def run(self, name: str | None, region: str | None) -> tuple[Scenario, list[Note]]:
        out = self.out
        if name:
            out["name"] = name
        out["region"] = region or self._region()
        self._vpcs()
        out["dhcp_options"], of_vpc = dhcp_options.read(self.data, self.vpc)
        for vid, dopt in of_vpc.items():
            out["vpcs"][self.vpc[vid]]["dhcp_options_id"] = dopt
        out["prefix_lists"], self.pl = prefix_lists.read(self.data, self.notes)
        pcx, self.pcx = vpc_peering.read(self.items("VpcPeeringConnections"), self.vpc, self.notes)
        out["vpc_peering_connections"] = pcx
        self._internet_gateways()
        eigws = list(self.items("EgressOnlyInternetGateways"))
        self.out["egress_only_internet_gateways"], self.eigw = ipv6.egress_only_gateways(
            eigws, self.vpc
        )
        self._subnets()
        self._nat_gateways()  # before route tables: routes name them
        sections, self.tgw = transit_gateway.read(self.data, self.vpc, self.subnet, self.notes)
        out.update(sections)
        self._instances()
        out["elastic_ips"] = elastic_ips.read(
            self.items("Addresses"),
            {**self.eni_owner, **self.instance},
            out["instances"],
            self._public,
            self.secondary_enis,
        )
        self._route_tables()
        self._security_groups()
        self._network_acls()
        self._associations()
        table_vpc = {str(t["RouteTableId"]): str(t["VpcId"]) for t in self.items("RouteTables")}
        ids = {
            "vpc": self.vpc,
            "table": self.table,
            "subnet": self.subnet,
            "group": self.group,
            "table_vpc": table_vpc,
        }
        endpoints = self.items("VpcEndpoints")
        out["vpc_endpoints"] = vpc_endpoints.read(endpoints, out["region"], ids, self.notes)
        out["flow_logs"] = flow_logs(self.items("FlowLogs"), self._flow_log_targets(), self.notes)
        out["internet"] = {"hosts": {h: {"ip": ip} for h, ip in self.hosts}}
        for h, ip in self.hosts:
            self.notes.append(Note(h, f"internet host '{h}' at {ip}", "added"))
        self.notes += unsupported.notes(self.data, self.vpc, self.known_enis(), set(self.instance))
        self.notes = list(dict.fromkeys(self.notes))  # one ENI may be seen twice
        ordered = (
            "name",
            "region",
            "vpcs",
            "dhcp_options",
            "prefix_lists",
            "vpc_peering_connections",
            "internet_gateways",
            "subnets",
            "route_tables",
            "nat_gateways",
            "security_groups",
            "network_acls",
            "instances",
            "network_interfaces",
            "elastic_ips",
            "egress_only_internet_gateways",
            "transit_gateways",
            "transit_gateway_attachments",
            "transit_gateway_route_tables",
            "vpc_endpoints",
            "internet",
            "flow_logs",
        )
        return {k: out[k] for k in ordered if out.get(k)}, self.notes

    def known_enis(self) -> set[str]:
        nat_enis = {
            str(a["NetworkInterfaceId"])
            for n in self.items("NatGateways")
            for a in n.get("NatGatewayAddresses") or []
            if a.get("NetworkInterfaceId")
        }
        return set(self.eni_owner) | nat_enis | set(self.secondary_enis)

    def _flow_log_targets(self) -> dict[str, str]:
        """VPC, subnet and ENI ids -> the name of what a flow log on them covers."""
        nat_enis = {
            str(a["NetworkInterfaceId"]): self.nat[str(n["NatGatewayId"])]
            for n in self.items("NatGateways")
            if str(n.get("NatGatewayId")) in self.nat
            for a in n.get("NatGatewayAddresses") or []
            if a.get("NetworkInterfaceId")
        }
        return {**self.vpc, **self.subnet, **self.eni_owner, **nat_enis}

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
            secondary = [  # the VPC's other blocks, in association order (1.4)
                str(assoc["CidrBlock"])
                for assoc in v.get("CidrBlockAssociationSet") or []
                if assoc.get("CidrBlock") != v["CidrBlock"]
                and (assoc.get("CidrBlockState") or {}).get("State", "associated") == "associated"
            ]
            if secondary:
                spec["cidrs"] = secondary
            six = ipv6.block(v)
            if six and ipv6.closed_world(six):
                spec["ipv6_cidr"] = six
            elif ipv6.amazon_block_pending(v):  # a Terraform plan's block: known after apply
                spec["ipv6"] = True
            elif six:
                msg = f"IPv6 block {six} is outside 2001:db8::/32, the only IPv6 netemu emulates"
                self.notes.append(Note(vid, msg + "; left out"))
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
            self.subnet[sid] = name
            az = str(s.get("AvailabilityZone") or region + "a")
            short = az[len(region) :] if az.startswith(region) else az
            spec: dict[str, Any] = {"id": sid, "vpc": self.vpc[vid]}
            if s.get("Ipv6Native"):  # IPv6-only: no IPv4 block (16.11)
                spec["ipv6_native"] = True
            elif s.get("CidrBlock"):
                spec["cidr"] = str(s["CidrBlock"])
            else:
                self.notes.append(Note(sid, "no CidrBlock and not Ipv6Native; left out"))
                continue
            spec["az"] = short if re.fullmatch(r"[a-z]", short) else az
            if s.get("MapPublicIpOnLaunch"):
                spec["public_ip_on_launch"] = True
            if s.get("DefaultForAz"):
                spec["default_for_az"] = True
            six = ipv6.block(s)
            vpc6 = self.out["vpcs"][self.vpc[vid]]
            if not six and ipv6.amazon_block_pending(s) and ("ipv6_cidr" in vpc6 or "ipv6" in vpc6):
                spec["ipv6_cidr"] = "auto"  # a Terraform plan's block: known after apply
                if s.get("AssignIpv6AddressOnCreation"):
                    spec["assign_ipv6_address_on_creation"] = True
            elif six and "ipv6_cidr" not in self.out["vpcs"][self.vpc[vid]]:
                self.notes.append(Note(sid, f"IPv6 CIDR {six}: its VPC has no IPv6 block here"))
            elif six:
                spec["ipv6_cidr"] = six
                if s.get("AssignIpv6AddressOnCreation") and not s.get("Ipv6Native"):
                    spec["assign_ipv6_address_on_creation"] = True
            subnets[name] = spec
        self.out["subnets"] = subnets

    def _route_tables(self) -> None:
        names = Namer()
        tables: dict[str, Any] = {}
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

    def _endpoint_route(self, gateway: str) -> bool:
        return gateway.startswith("vpce-") and any(
            e.get("VpcEndpointId") == gateway for e in self.items("VpcEndpoints")
        )

    def _route(self, tid: str, r: Mapping[str, Any]) -> dict[str, Any] | None:
        if r.get("GatewayId") == "local":
            return None  # implicit (ref 4.4)
        dest = r.get("DestinationCidrBlock")
        target = unsupported.route_target(r)
        if dest is None and r.get("DestinationPrefixListId") in self.pl:  # 19.4
            return self._route_to(
                {"destination_prefix_list_id": self.pl[r["DestinationPrefixListId"]]}, tid, r
            )
        six = ipv6.route(r, self.igw, self.eigw) if r.get("DestinationIpv6CidrBlock") else None
        if six is not None:
            return six
        if r.get("DestinationPrefixListId") and self._endpoint_route(str(r.get("GatewayId"))):
            return None  # the gateway endpoint puts it back (ref 17.2)
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
        return self._route_to({"destination": dest}, tid, r)

    def _route_to(
        self, where: dict[str, Any], tid: str, r: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The route to `where` (a CIDR or a prefix list) with its target."""
        if r.get("VpcPeeringConnectionId") in self.pcx:  # blackhole while not active (1.14)
            return {**where, "vpc_peering_connection": self.pcx[r["VpcPeeringConnectionId"]]}
        if r.get("TransitGatewayId") in self.tgw and r.get("State") != "blackhole":
            return {**where, "transit_gateway": self.tgw[r["TransitGatewayId"]]}
        if r.get("State") == "blackhole":  # its target is gone (ref 4.10)
            return {**where, "blackhole": True}
        gateway = str(r.get("GatewayId") or "")
        if gateway in self.igw:
            return {**where, "internet_gateway": self.igw[gateway]}
        if r.get("NatGatewayId") in self.nat:
            return {**where, "nat_gateway": self.nat[r["NatGatewayId"]]}
        if r.get("InstanceId") in self.instance:
            return {**where, "instance": self.instance[r["InstanceId"]]}
        if r.get("NetworkInterfaceId") in self.eni_owner:
            return {**where, "instance": self.eni_owner[r["NetworkInterfaceId"]]}
        target = unsupported.route_target(r)
        shown = next(iter(where.values()))
        self.notes.append(Note(tid, f"route {shown} -> {target}: {unsupported.why(target)}"))
        return None

    def _security_groups(self) -> None:
        names = Namer(["default"])
        groups = unsupported.groups_with_rules(self.data, self.notes)
        defaults = _default_groups(groups)
        for g in groups:
            if g.get("VpcId") in self.vpc:
                gid = str(g["GroupId"])
                self.group[gid] = (
                    "default"
                    if gid in defaults
                    else names.name(tag(g) or g.get("GroupName"), gid, "sg-")
                )
        out: dict[str, Any] = {}
        aws_managed = vpc_endpoints.prefix_list_mapper(self.data, self.out["region"])

        def pl(pid: str) -> str | None:  # a customer-managed list of the import (19.3), else
            return self.pl.get(pid) or aws_managed(pid)  # an AWS-managed one (17.7)

        for g in groups:
            gid = str(g["GroupId"])
            if gid not in self.group:
                continue
            vpc = self.vpc[g["VpcId"]]

            def peer(other: str, vpc_id: str = str(g["VpcId"])) -> str | None:
                """A group of this VPC, or a named group of another imported VPC (a peer
                VPC's group, ref 1.16; validation judges whether they are peered)."""
                owner = next((x.get("VpcId") for x in groups if x["GroupId"] == other), None)
                name = self.group.get(other)
                if owner == vpc_id or (name is not None and name != "default"):
                    return name
                return None

            ingress = sg_rules(gid, g.get("IpPermissions") or [], peer, self.notes, "ingress", pl)
            egress = sg_rules(
                gid, g.get("IpPermissionsEgress") or [], peer, self.notes, "egress", pl
            )
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
        enis = (self.out.get("network_interfaces") or {}).values()  # their own groups (9.6)
        for inst in [*self.out["instances"].values(), *enis]:
            for g in inst["security_groups"]:
                if g not in self.group:
                    msg = f"security group {g} is not in the import (describe-security-groups)"
                    self.notes.append(Note(inst["id"], msg + "; left out"))
            inst["security_groups"] = [
                self.group[g] for g in inst["security_groups"] if g in self.group
            ]
            if inst["security_groups"] in (["default"], []):  # the default group (ref 7.1)
                del inst["security_groups"]

    def _network_acls(self) -> None:
        names = Namer(f"{v}-default" for v in self.vpc.values())
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
