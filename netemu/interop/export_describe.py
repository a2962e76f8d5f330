"""Model -> the JSON `aws ec2 describe-*` prints for it (ref 11), one object per call.

Pure: no files. Ids are the model's (kept from an import, else derived from names); ids of
things the scenario has no name for (associations, allocations) are derived from their
owner's id, so the same model always exports the same JSON. The account is AWS's
documentation account 123456789012.
"""

from __future__ import annotations

from typing import Any

from netemu.interop import (
    dhcp_options,
    elastic_ips,
    ipv6,
    prefix_lists,
    transit_gateway,
    vpc_endpoints,
    vpc_peering,
)
from netemu.interop.export_enis import (
    ACCOUNT,
    CREATED,
    address_json,
    derived,
    dns_domain,
    eni_json,
    instance_json,
    tags_json,
)
from netemu.interop.export_flow_logs import flow_logs_json
from netemu.interop.names import IDLE_TIMEOUT_TAG
from netemu.model.types import (
    PROTO_ALL,
    PROTO_ICMP,
    PROTO_TCP,
    PROTO_UDP,
    Model,
    NatGateway,
    NetworkAcl,
    NetworkAclRule,
    Route,
    SecurityGroup,
    SecurityGroupRule,
)

_SG_PROTO = {PROTO_ALL: "-1", PROTO_TCP: "tcp", PROTO_UDP: "udp", PROTO_ICMP: "icmp"}
_SG_PROTO[58] = "icmpv6"  # ref 11.6
Json = dict[str, Any]


def model_to_describe(model: Model) -> dict[str, Json]:
    """{"describe-vpcs": {"Vpcs": [...]}, ...}; VPC attributes are one call per VPC, named
    `describe-vpc-attribute.<vpc-id>`."""
    out: dict[str, Json] = {
        "describe-vpcs": {"Vpcs": [_vpc(model, v.name) for v in model.vpcs.values()]},
        "describe-subnets": {"Subnets": [_subnet(model, s) for s in model.subnets]},
        "describe-route-tables": {"RouteTables": [_table(model, t) for t in model.route_tables]},
        "describe-internet-gateways": {
            "InternetGateways": [
                {
                    "Attachments": [{"State": "available", "VpcId": model.vpcs[g.vpc].id}],
                    "InternetGatewayId": g.id,
                    "OwnerId": ACCOUNT,
                    "Tags": tags_json(g.name),
                }
                for g in model.internet_gateways.values()
            ]
        },
        "describe-nat-gateways": {
            "NatGateways": [_nat(model, n) for n in model.nat_gateways.values()]
        },
        "describe-security-groups": {
            "SecurityGroups": [_group(model, g) for g in model.security_groups.values()]
        },
        "describe-security-group-rules": {
            "SecurityGroupRules": list(
                {  # an AWS-managed list's rule is one row, whatever its entries (17.7)
                    (g.id, egress, r.index, r.prefix_list_id or r): _rule_row(g, r, egress, model)
                    for g in model.security_groups.values()
                    for egress, rules in ((False, g.ingress), (True, g.egress))
                    for r in rules
                }.values()
            )
        },
        "describe-network-acls": {
            "NetworkAcls": [_acl(model, a) for a in model.network_acls.values()]
        },
        "describe-instances": {
            "Reservations": [
                {
                    "Groups": [],
                    "Instances": [instance_json(model, i)],
                    "OwnerId": ACCOUNT,
                    "ReservationId": derived("r", i.id),
                }
                for i in model.instances.values()
            ]
        },
        "describe-network-interfaces": {
            "NetworkInterfaces": [eni_json(model, e) for e in model.enis()]
        },
        "describe-addresses": {
            "Addresses": [
                elastic_ips.tag_address(model, address_json(model, e))
                for e in model.enis()
                if e.elastic_ip and e.public_ip
            ]
            + elastic_ips.unassociated(model)
        },
        "describe-dhcp-options": {"DhcpOptions": [_dhcp(model), *dhcp_options.export(model)]},
        "describe-flow-logs": {"FlowLogs": flow_logs_json(model)},
        "describe-vpc-peering-connections": vpc_peering.export(model),
        **transit_gateway.export(model),  # and its per-route-table calls (interop.transit_gateway)
    }
    vpc_endpoints.export(model, out)  # endpoints and AWS-managed prefix lists (ref 17)
    if any(v.ipv6_cidr for v in model.vpcs.values()):
        ipv6.export(model, out)  # dual stack only (interop.ipv6)
    prefix_lists.export(model, out)  # customer-managed lists and their entries (19.5)
    for v in model.vpcs.values():
        out[f"describe-vpc-attribute.{v.id}"] = {
            "EnableDnsHostnames": {"Value": v.dns_hostnames},
            "VpcId": v.id,
        }
    return out


def _dhcp(model: Model) -> Json:
    return {
        "DhcpConfigurations": [
            {"Key": "domain-name", "Values": [{"Value": dns_domain(model.region)}]},
            {"Key": "domain-name-servers", "Values": [{"Value": "AmazonProvidedDNS"}]},
        ],
        "DhcpOptionsId": derived("dopt", model.region),
        "OwnerId": ACCOUNT,
        "Tags": [],
    }


def _vpc(model: Model, name: str) -> Json:
    v = model.vpcs[name]
    return {
        "CidrBlock": str(v.cidr),
        "DhcpOptionsId": dhcp_options.vpc_set_id(model, name, derived("dopt", model.region)),
        "State": "available",
        "VpcId": v.id,
        "OwnerId": ACCOUNT,
        "InstanceTenancy": "default",
        "CidrBlockAssociationSet": [
            {
                # the primary's id as before; a secondary's from its block (1.4)
                "AssociationId": derived("vpc-cidr-assoc", v.id if c == v.cidr else f"{v.id}/{c}"),
                "CidrBlock": str(c),
                "CidrBlockState": {"State": "associated"},
            }
            for c in v.cidrs
        ],
        "IsDefault": v.is_default,
        "Tags": tags_json(v.name),
    }


def _subnet(model: Model, name: str) -> Json:
    s = model.subnets[name]
    used = len(model.enis_in(name))
    # An IPv6-only subnet has no IPv4 block: no CidrBlock, no IPv4 addresses (16.11).
    v4: Json = {"AvailableIpAddressCount": 0}
    if s.cidr is not None:
        v4 = {"AvailableIpAddressCount": s.cidr.num_addresses - 5 - used}  # ref 2.3, 2.10
        v4["CidrBlock"] = str(s.cidr)
    return {
        "AvailabilityZone": s.az,
        **v4,
        "DefaultForAz": s.default_for_az,
        "MapPublicIpOnLaunch": s.public_ip_on_launch,
        "State": "available",
        "SubnetId": s.id,
        "VpcId": model.vpcs[s.vpc].id,
        "OwnerId": ACCOUNT,
        "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [],
        "Tags": tags_json(s.name),
        "SubnetArn": f"arn:aws:ec2:{model.region}:{ACCOUNT}:subnet/{s.id}",
        "EnableDns64": False,
        "Ipv6Native": s.cidr is None,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name" if s.cidr is not None else "resource-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
    }


def _table(model: Model, name: str) -> Json:
    t = model.route_tables[name]
    assoc: list[Json] = []
    if t.main:
        assoc.append(_association(t.id, t.id, None))
    for s in model.subnets.values():
        if s.route_table == name and not t.main:
            assoc.append(_association(t.id, s.id, s.id))
    return {
        "Associations": assoc,
        "PropagatingVgws": [],
        "RouteTableId": t.id,
        "Routes": list(
            {_route_key(r): _route(model, r) for r in t.routes if r.prefix_list is None}.values()
        )
        + _list_routes(model, t.routes),
        "Tags": tags_json(t.name),
        "VpcId": model.vpcs[t.vpc].id,
        "OwnerId": ACCOUNT,
    }


def _association(table: str, seed: str, subnet: str | None) -> Json:
    a: Json = {"Main": subnet is None, "RouteTableAssociationId": derived("rtbassoc", seed)}
    a["RouteTableId"] = table
    if subnet is not None:
        a["SubnetId"] = subnet
    a["AssociationState"] = {"State": "associated"}
    return a


def _list_routes(model: Model, routes: tuple[Route, ...]) -> list[Json]:
    """A route to a prefix list is one route of the table, whatever its entries (19.4)."""
    first: dict[str, Route] = {}
    for r in routes:
        if r.prefix_list and r.prefix_list not in first:
            first[r.prefix_list] = r
    out = []
    for name, r in first.items():
        row = _route(model, r)
        del row["DestinationCidrBlock"]
        out.append({"DestinationPrefixListId": model.prefix_lists[name].id, **row})
    return out


def _route_key(r: Route) -> str:
    """Routes of one prefix list are one route in AWS's output (ref 17.2)."""
    return r.prefix_list_id or str(r.destination)


def _route(model: Model, r: Route) -> Json:
    out: Json = {"DestinationCidrBlock": str(r.destination)}
    origin, state = "CreateRoute", "active"
    if r.target_kind == "vpc_endpoint" and r.target:  # a gateway endpoint's route (17.2)
        out = {
            "DestinationPrefixListId": r.prefix_list_id,
            "GatewayId": model.vpc_endpoints[r.target].id,
        }
    elif r.target_kind == "local":
        out["GatewayId"] = "local"
        origin = "CreateRouteTable"
    elif r.target_kind == "internet_gateway" and r.target:
        out["GatewayId"] = model.internet_gateways[r.target].id
    elif r.target_kind == "nat_gateway" and r.target:
        out["NatGatewayId"] = model.nat_gateways[r.target].id
    elif r.target_kind == "vpc_peering_connection" and r.target:
        pcx = model.vpc_peering_connections[r.target]
        out["VpcPeeringConnectionId"] = pcx.id
        state = "active" if pcx.active else "blackhole"  # ref 1.14
    elif r.target_kind == "transit_gateway" and r.target:
        out["TransitGatewayId"] = model.transit_gateways[r.target].id
    elif r.target_kind == "instance" and r.target:
        inst = model.instances[r.target]
        out.update(InstanceId=inst.id, InstanceOwnerId=ACCOUNT, NetworkInterfaceId=inst.eni.id)
    else:  # a blackhole: AWS shows the deleted target it still points at (ref 4.10)
        out["NatGatewayId"] = derived("nat", f"blackhole/{r.destination}")
        state = "blackhole"
    out.update(Origin=origin, State=state)
    return out


def _nat(model: Model, n: NatGateway) -> Json:
    extra = {IDLE_TIMEOUT_TAG: str(n.idle_timeout)} if n.idle_timeout != 350 else None
    return {
        "CreateTime": CREATED,
        "NatGatewayAddresses": [
            {
                "AllocationId": derived("eipalloc", n.eni.id),
                "NetworkInterfaceId": n.eni.id,
                "PrivateIp": str(n.eni.private_ip),
                "PublicIp": str(n.eni.public_ip),
                "AssociationId": derived("eipassoc", n.eni.id),
                "IsPrimary": True,
                "Status": "succeeded",
            }
        ],
        "NatGatewayId": n.id,
        "State": "available",
        "SubnetId": model.subnets[n.subnet].id,
        "VpcId": model.vpcs[model.subnets[n.subnet].vpc].id,
        "Tags": tags_json(n.name, extra),
        "ConnectivityType": "public",
    }


def _permissions(model: Model, rules: tuple[SecurityGroupRule, ...], vpc: str) -> list[Json]:
    """Rules sharing protocol and ports form one IpPermission, as AWS prints them (ref 11.6)."""
    perms: dict[tuple[int, int | None, int | None], Json] = {}
    for r in rules:
        lo, hi = r.ports if r.ports else (r.icmp_type, r.icmp_code)
        key = (r.protocol, lo, hi)
        if key not in perms:
            p: Json = {"IpProtocol": _SG_PROTO.get(r.protocol, str(r.protocol))}
            if r.protocol in (PROTO_TCP, PROTO_UDP, PROTO_ICMP, 58):
                p.update(FromPort=lo, ToPort=hi)
            p.update(IpRanges=[], Ipv6Ranges=[], PrefixListIds=[], UserIdGroupPairs=[])
            perms[key] = p
        desc = {"Description": r.description} if r.description else {}
        if r.prefix_list_id is not None:  # one entry per list, not per CIDR (ref 17.7)
            entry = {"PrefixListId": r.prefix_list_id, **desc}
            if entry not in perms[key]["PrefixListIds"]:
                perms[key]["PrefixListIds"].append(entry)
        elif r.cidr is not None:
            perms[key]["IpRanges"].append({"CidrIp": str(r.cidr), **desc})
        elif r.cidr_ipv6 is not None:
            perms[key]["Ipv6Ranges"].append({"CidrIpv6": str(r.cidr_ipv6), **desc})
        elif r.security_group is not None:
            pair = {**desc, "GroupId": r.security_group, "UserId": ACCOUNT}
            peer = model.security_groups[r.security_group].vpc
            pcx = model.peering_between(peer, vpc) if peer != vpc else None
            if pcx is not None:  # a peer VPC's group (ref 1.16), as AWS prints it
                pair.update(VpcId=model.vpcs[peer].id, VpcPeeringConnectionId=pcx.id)
            perms[key]["UserIdGroupPairs"].append(pair)
        elif r.prefix_list is not None:
            pl_id = model.prefix_lists[r.prefix_list].id
            perms[key]["PrefixListIds"].append({**desc, "PrefixListId": pl_id})
    return list(perms.values())


def _group(model: Model, g: SecurityGroup) -> Json:
    return {
        "Description": "default VPC security group" if g.is_default else g.name,
        "GroupName": g.name,
        "IpPermissions": _permissions(model, g.ingress, g.vpc),
        "OwnerId": ACCOUNT,
        "GroupId": g.id,
        "IpPermissionsEgress": _permissions(model, g.egress, g.vpc),
        "Tags": [] if g.is_default else tags_json(g.name),
        "VpcId": model.vpcs[g.vpc].id,
    }


def _rule_row(g: SecurityGroup, r: SecurityGroupRule, egress: bool, model: Model) -> Json:
    """One row of describe-security-group-rules (ref 11.6): -1/-1 ports for protocol -1."""
    direction = "egress" if egress else "ingress"
    out: Json = {
        "SecurityGroupRuleId": derived("sgr", f"{g.id}/{direction}/{r.index}"),
        "GroupId": g.id,
        "GroupOwnerId": ACCOUNT,
        "IsEgress": egress,
        "IpProtocol": _SG_PROTO.get(r.protocol, str(r.protocol)),
    }
    lo, hi = r.ports if r.ports else (r.icmp_type, r.icmp_code)
    out.update(FromPort=-1 if lo is None else lo, ToPort=-1 if hi is None else hi)
    if r.prefix_list_id is not None:
        out["PrefixListId"] = r.prefix_list_id
    elif r.cidr is not None:
        out["CidrIpv4"] = str(r.cidr)
    elif r.cidr_ipv6 is not None:
        out["CidrIpv6"] = str(r.cidr_ipv6)
    elif r.security_group is not None:
        out["ReferencedGroupInfo"] = {"GroupId": r.security_group, "UserId": ACCOUNT}
    elif r.prefix_list is not None:
        out["PrefixListId"] = model.prefix_lists[r.prefix_list].id
    if r.description:
        out["Description"] = r.description
    out["Tags"] = []
    return out


def _entry(r: NetworkAclRule | None, egress: bool) -> Json:
    if r is None:  # the `*` rule (ref 8.3)
        return {
            "CidrBlock": "0.0.0.0/0",
            "Egress": egress,
            "Protocol": "-1",
            "RuleAction": "deny",
            "RuleNumber": 32767,
        }
    e: Json = {"CidrBlock": str(r.cidr), "Egress": egress}
    if r.protocol == PROTO_ICMP:
        e["IcmpTypeCode"] = {"Code": r.icmp_code, "Type": r.icmp_type}
    if r.ports is not None:
        e["PortRange"] = {"From": r.ports[0], "To": r.ports[1]}
    e.update(Protocol=str(r.protocol), RuleAction=r.action, RuleNumber=r.number)
    return e


def _acl(model: Model, a: NetworkAcl) -> Json:
    entries = [_entry(r, True) for r in a.egress] + [_entry(None, True)]
    entries += [_entry(r, False) for r in a.ingress] + [_entry(None, False)]
    return {
        "Associations": [
            {
                "NetworkAclAssociationId": derived("aclassoc", s.id),
                "NetworkAclId": a.id,
                "SubnetId": s.id,
            }
            for s in model.subnets.values()
            if s.network_acl == a.name
        ],
        "Entries": entries,
        "IsDefault": a.is_default,
        "NetworkAclId": a.id,
        "Tags": [] if a.is_default else tags_json(a.name),
        "VpcId": model.vpcs[a.vpc].id,
        "OwnerId": ACCOUNT,
    }
