"""Terraform's security group and network ACL resources -> describe-* groups and ACLs.

Inline rules (`aws_security_group.ingress[]`), separate ones (`aws_security_group_rule`,
`aws_vpc_security_group_ingress_rule`) and the defaults AWS gives every VPC (ref 7.4, 8.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Json = dict[str, Any]
_PROTO_NUMBERS = {"tcp": "6", "udp": "17", "icmp": "1", "all": "-1", "-1": "-1"}


def tf_tags(values: Mapping[str, Any]) -> list[Json]:
    tags = values.get("tags") or {}
    return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]


class RuleResources:
    """Mixed into the Terraform reader: the groups and ACLs it has seen, and their rules."""

    groups: dict[str, Json]
    acls: dict[str, Json]

    def add(self, key: str, item: Json) -> Json:
        raise NotImplementedError

    def _group_item(self, gid: str, vpc: str, name: str, default: bool = False) -> Json:
        group = self.groups.get(gid)
        if group is None:
            group = self.add(
                "SecurityGroups",
                {
                    "GroupId": gid,
                    "GroupName": name,
                    "VpcId": vpc,
                    "IpPermissions": [],
                    "IpPermissionsEgress": [],
                    "Tags": [],
                },
            )
            self.groups[gid] = group
            if default:  # AWS's rules for a default group (ref 7.4) until Terraform says otherwise
                group["IpPermissions"] = [
                    {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": gid}]}
                ]
                group["IpPermissionsEgress"] = [
                    {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                ]
        return group

    def _security_group(self, r: Mapping[str, Any], v: Json) -> None:
        default = r["type"] == "aws_default_security_group"
        group = self._group_item(
            v["id"], v.get("vpc_id") or "", "default" if default else v.get("name") or v["id"]
        )
        group["Tags"] = tf_tags(v)
        group["IpPermissions"] = [_permission(p, v["id"]) for p in v.get("ingress") or []]
        group["IpPermissionsEgress"] = [_permission(p, v["id"]) for p in v.get("egress") or []]

    def _security_group_rule(self, r: Mapping[str, Any], v: Json) -> None:
        group = self.groups.get(v["security_group_id"])
        if group is None:
            return
        spec = dict(
            v,
            security_groups=[v["source_security_group_id"]]
            if v.get("source_security_group_id")
            else [],
        )
        perm = _permission(spec, v["security_group_id"])
        key = "IpPermissionsEgress" if v.get("type") == "egress" else "IpPermissions"
        if perm not in group[key]:  # a refreshed group already lists its separate rules
            group[key].append(perm)

    def _vpc_security_group_ingress_rule(self, r: Mapping[str, Any], v: Json) -> None:
        spec = {
            "protocol": v.get("ip_protocol"),
            "from_port": v.get("from_port"),
            "to_port": v.get("to_port"),
            "cidr_blocks": [v["cidr_ipv4"]] if v.get("cidr_ipv4") else [],
            "ipv6_cidr_blocks": [v["cidr_ipv6"]] if v.get("cidr_ipv6") else [],
            "prefix_list_ids": [v["prefix_list_id"]] if v.get("prefix_list_id") else [],
            "security_groups": [v["referenced_security_group_id"]]
            if v.get("referenced_security_group_id")
            else [],
            "description": v.get("description"),
            "security_group_id": v["security_group_id"],
            "type": "egress" if r["type"].endswith("egress_rule") else "ingress",
        }
        self._security_group_rule(r, spec)

    _vpc_security_group_egress_rule = _vpc_security_group_ingress_rule

    def _acl_item(self, aid: str, vpc: str, entries_default: bool, default: bool = False) -> Json:
        acl = self.acls.get(aid)
        if acl is None:
            acl = self.add(
                "NetworkAcls",
                {
                    "NetworkAclId": aid,
                    "VpcId": vpc,
                    "IsDefault": default,
                    "Entries": [],
                    "Associations": [],
                    "Tags": [],
                },
            )
            self.acls[aid] = acl
            if entries_default:  # rule 100 allows all, both ways (ref 8.4)
                acl["Entries"] = [
                    {
                        "RuleNumber": 100,
                        "Protocol": "-1",
                        "RuleAction": "allow",
                        "Egress": e,
                        "CidrBlock": "0.0.0.0/0",
                    }
                    for e in (True, False)
                ]
        return acl

    def _network_acl(self, r: Mapping[str, Any], v: Json) -> None:
        default = r["type"] == "aws_default_network_acl"
        acl = self._acl_item(v["id"], v.get("vpc_id") or "", False, default)
        acl["Tags"] = tf_tags(v)
        acl["Entries"] = [
            _entry(e, egress)
            for egress in (False, True)
            for e in v.get("egress" if egress else "ingress") or []
        ]
        acl["Associations"] = [
            {"NetworkAclId": v["id"], "SubnetId": s} for s in v.get("subnet_ids") or []
        ]

    def _network_acl_rule(self, r: Mapping[str, Any], v: Json) -> None:
        acl = self.acls.get(v["network_acl_id"])
        if acl is not None:
            spec = dict(v, rule_no=v.get("rule_number"), action=v.get("rule_action"))
            acl["Entries"].append(_entry(spec, bool(v.get("egress"))))

    def _network_acl_association(self, r: Mapping[str, Any], v: Json) -> None:
        for other in self.acls.values():
            other["Associations"] = [
                a for a in other["Associations"] if a["SubnetId"] != v["subnet_id"]
            ]
        acl = self.acls.get(v["network_acl_id"])
        if acl is not None:
            acl["Associations"].append(
                {"NetworkAclId": v["network_acl_id"], "SubnetId": v["subnet_id"]}
            )


def _permission(p: Mapping[str, Any], own: str) -> Json:
    protocol = str(p.get("protocol") or "-1").lower()
    protocol = {"all": "-1", "6": "tcp", "17": "udp", "1": "icmp"}.get(protocol, protocol)
    out: Json = {"IpProtocol": protocol}
    if protocol != "-1":
        out.update(FromPort=p.get("from_port"), ToPort=p.get("to_port"))
    desc = {"Description": p["description"]} if p.get("description") else {}
    out["IpRanges"] = [{"CidrIp": c, **desc} for c in p.get("cidr_blocks") or []]
    out["Ipv6Ranges"] = [{"CidrIpv6": c} for c in p.get("ipv6_cidr_blocks") or []]
    out["PrefixListIds"] = [{"PrefixListId": c} for c in p.get("prefix_list_ids") or []]
    peers = list(p.get("security_groups") or []) + ([own] if p.get("self") else [])
    out["UserIdGroupPairs"] = [{"GroupId": g, **desc} for g in peers]
    return out


def _entry(e: Mapping[str, Any], egress: bool) -> Json:
    protocol = _PROTO_NUMBERS.get(str(e.get("protocol")).lower(), str(e.get("protocol")))
    out: Json = {
        "RuleNumber": int(e["rule_no"]),
        "Egress": egress,
        "Protocol": protocol,
        "RuleAction": str(e.get("action", "deny")).lower(),
    }
    if e.get("cidr_block"):
        out["CidrBlock"] = e["cidr_block"]
    if e.get("ipv6_cidr_block"):
        out["Ipv6CidrBlock"] = e["ipv6_cidr_block"]
    if protocol in ("6", "17"):
        out["PortRange"] = {"From": e.get("from_port"), "To": e.get("to_port")}
    if protocol == "1":
        out["IcmpTypeCode"] = {"Type": e.get("icmp_type", -1), "Code": e.get("icmp_code", -1)}
    return out
