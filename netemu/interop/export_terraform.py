"""Model -> Terraform HCL for the AWS provider, so a design tested offline can be deployed.

Security group rules are separate aws_vpc_security_group_*_rule resources, so groups that
reference each other make no dependency cycle. What AWS cannot be told (a chosen elastic
IP address, an explicit blackhole route, services) is written as a comment, not dropped.
"""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address

from netemu.interop import (
    terraform_ipv6,
    terraform_prefix_dhcp,
    terraform_tgw,
    terraform_vpc_extras,
)
from netemu.interop.names import SERVICES_TAG, service_text
from netemu.model.aws_services import managed_prefix_lists
from netemu.model.types import (
    PROTO_ALL,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    Model,
    NetworkAclRule,
    NetworkAclRule6,
    Route,
    SecurityGroup,
    SecurityGroupRule,
)
from netemu.model.validate_flow_logs import V2_FIELDS

_SG_PROTO = {PROTO_ALL: "-1", PROTO_TCP: "tcp", PROTO_UDP: "udp", PROTO_ICMP: "icmp"}


def _s(text: str) -> str:
    """An HCL string literal (JSON escapes, plus `${` and `%{` kept literal)."""
    return json.dumps(text, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")


def label(name: str) -> str:
    """A Terraform resource name: letters, digits, '_' and '-', not starting with a digit."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return clean if re.match(r"[A-Za-z_]", clean) else f"r_{clean}"


class _Hcl:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.rule_names: set[str] = set()

    def unique(self, name: str) -> str:
        """A rule resource name not used yet: group `main-default` and the default group of
        VPC `main` would otherwise both write `main-default_ingress_1`."""
        out, n = name, 2
        while out in self.rule_names:
            out, n = f"{name}_{n}", n + 1
        self.rule_names.add(out)
        return out

    def block(self, head: str, body: list[str], comment: str = "") -> None:
        if comment:
            self.lines.append(f"# {comment}")
        self.lines.append(head + " {")
        self.lines += [f"  {b}" if b else "" for b in body]
        self.lines += ["}", ""]


def _tags(name: str, extra: dict[str, str] | None = None) -> str:
    items = {"Name": name, **(extra or {})}
    return "tags = { " + ", ".join(f"{_s(k)} = {_s(v)}" for k, v in items.items()) + " }"


def model_to_terraform(model: Model) -> str:
    h = _Hcl()
    h.lines += [
        f"# Terraform for netemu scenario '{model.name}' (netemu export --format terraform).",
        "# Instances need an AMI of your Region: terraform apply -var ami=ami-...",
        "",
    ]
    if any(v.ipv6_cidr for v in model.vpcs.values()):  # AWS picks the blocks (docs/ipv6.md)
        h.lines[-1:-1] = [
            "# IPv6: AWS picks each VPC's /56; subnets take the /64 at the scenario's position",
            "# in it, and instances one address of their subnet (netemu used 2001:db8::/32).",
        ]
    h.block("terraform", ["required_providers {", '  aws = { source = "hashicorp/aws" }', "}"])
    h.block('provider "aws"', [f"region = {_s(model.region)}"])
    h.block('variable "ami"', ['description = "AMI for every instance"', "type        = string"])
    h.block('variable "instance_type"', ["type    = string", 'default = "t3.micro"'])
    for v in model.vpcs.values():
        body = [
            f"cidr_block           = {_s(str(v.cidr))}",
            "enable_dns_support   = true",
            f"enable_dns_hostnames = {str(v.dns_hostnames).lower()}",
            *terraform_ipv6.vpc_lines(v),
            _tags(v.name),
        ]
        note = (
            "the Region's default VPC in AWS; Terraform makes an ordinary one"
            if v.is_default
            else ""
        )
        h.block(f'resource "aws_vpc" "{label(v.name)}"', body, note)
    terraform_vpc_extras.write(h, model, label)  # blocks, peerings, spare elastic IPs
    terraform_prefix_dhcp.write(h, model, label)  # prefix lists, DHCP options sets
    terraform_tgw.write(h, model, label)  # transit gateways, attachments, their tables (18.2-18.5)
    for g in model.internet_gateways.values():
        body = [f"vpc_id = aws_vpc.{label(g.vpc)}.id", _tags(g.name)]
        h.block(f'resource "aws_internet_gateway" "{label(g.name)}"', body)
    terraform_ipv6.egress_only_gateways(model, h.block, _tags, label)
    for s in model.subnets.values():
        v4 = [f"cidr_block              = {_s(str(s.cidr))}"] if s.cidr else []  # 16.11
        body = [
            f"vpc_id                  = aws_vpc.{label(s.vpc)}.id",
            *v4,
            *terraform_ipv6.subnet_lines(model, s, label),
            f"availability_zone       = {_s(s.az)}",
            f"map_public_ip_on_launch = {str(s.public_ip_on_launch).lower()}",
            _tags(s.name),
        ]
        h.block(f'resource "aws_subnet" "{label(s.name)}"', body)
    _route_tables(h, model)
    _network_acls(h, model)
    for group in model.security_groups.values():
        _group(h, model, group)
    _nat_gateways(h, model)
    _instances(h, model)
    _network_interfaces(h, model)
    _flow_logs(h, model)
    return "\n".join(h.lines).rstrip() + "\n"


def _route(model: Model, r: Route) -> list[str] | None:
    dest = f"cidr_block = {_s(str(r.destination))}"
    if r.prefix_list:  # one route to the list, not one per entry (19.4)
        dest = f"destination_prefix_list_id = aws_ec2_managed_prefix_list.{label(r.prefix_list)}.id"
    if r.target_kind == "internet_gateway":
        target = f"gateway_id = aws_internet_gateway.{label(r.target or '')}.id"
    elif r.target_kind == "nat_gateway":
        target = f"nat_gateway_id = aws_nat_gateway.{label(r.target or '')}.id"
    elif r.target_kind == "vpc_peering_connection":
        target = (
            f"vpc_peering_connection_id = aws_vpc_peering_connection.{label(r.target or '')}.id"
        )
    elif r.target_kind == "transit_gateway":
        target = f"transit_gateway_id = aws_ec2_transit_gateway.{label(r.target or '')}.id"
    elif r.target_kind == "instance":
        eni = f"aws_instance.{label(r.target or '')}.primary_network_interface_id"
        target = f"network_interface_id = {eni}"
    else:
        return None
    return ["route {", f"  {dest}", f"  {target}", "}"]


def _route_tables(h: _Hcl, model: Model) -> None:
    for t in model.route_tables.values():
        body: list[str] = []
        lists: set[str] = set()
        for r in t.routes:
            if r.prefix_list in lists:
                continue
            lists |= {r.prefix_list} if r.prefix_list else set()
            lines = _route(model, r)
            if lines is not None:
                body += lines
            elif r.target_kind == "blackhole":
                why = "a blackhole route; AWS only shows one when its target is gone"
                body.append(f"# {r.destination}: {why}")
        body += terraform_ipv6.routes(t, label)
        if t.implicit:
            head = f'resource "aws_default_route_table" "{label(t.name)}"'
            body = [
                f"default_route_table_id = aws_vpc.{label(t.vpc)}.default_route_table_id",
                *body,
            ]
            h.block(head, [*body, _tags(t.name)], f"the main route table of VPC {t.vpc}")
            continue
        h.block(
            f'resource "aws_route_table" "{label(t.name)}"',
            [f"vpc_id = aws_vpc.{label(t.vpc)}.id", *body, _tags(t.name)],
        )
        if t.main:
            h.block(
                f'resource "aws_main_route_table_association" "{label(t.name)}"',
                [
                    f"vpc_id         = aws_vpc.{label(t.vpc)}.id",
                    f"route_table_id = aws_route_table.{label(t.name)}.id",
                ],
            )
    for s in model.subnets.values():
        table = model.route_tables[s.route_table]
        if not table.main:
            h.block(
                f'resource "aws_route_table_association" "{label(s.name)}"',
                [
                    f"subnet_id      = aws_subnet.{label(s.name)}.id",
                    f"route_table_id = aws_route_table.{label(table.name)}.id",
                ],
            )


def _acl_rule(kind: str, r: NetworkAclRule | NetworkAclRule6) -> list[str]:
    """An inline entry; IPv6 ones (Ipv6CidrBlock) are numbered apart from IPv4's (8.7)."""
    six = isinstance(r, NetworkAclRule6)
    key = "ipv6_cidr_block" if six else "cidr_block"
    lo, hi = r.ports or (0, 0)
    fields = [("rule_no", str(r.number)), ("action", _s(r.action)),
              ("protocol", _s(str(r.protocol))), (key, _s(str(r.cidr))),
              ("from_port", str(lo)), ("to_port", str(hi))]  # fmt: skip
    if r.protocol == (PROTO_ICMPV6 if six else PROTO_ICMP):
        icmp = (-1 if x is None else x for x in (r.icmp_type, r.icmp_code))  # -1: all
        fields += zip(("icmp_type", "icmp_code"), map(str, icmp), strict=True)
    return [f"{kind} {{", *(f"  {k:<{len(key)}} = {v}" for k, v in fields), "}"]


def _network_acls(h: _Hcl, model: Model) -> None:
    for a in model.network_acls.values():
        rules = [line for r in a.ingress for line in _acl_rule("ingress", r)]
        rules += [line for r in a.egress for line in _acl_rule("egress", r)]
        rules += [line for r in a.ingress_ipv6 for line in _acl_rule("ingress", r)]
        rules += [line for r in a.egress_ipv6 for line in _acl_rule("egress", r)]
        if a.is_default:
            head = f'resource "aws_default_network_acl" "{label(a.name)}"'
            first = f"default_network_acl_id = aws_vpc.{label(a.vpc)}.default_network_acl_id"
            h.block(head, [first, *rules], f"the default network ACL of VPC {a.vpc}")
            continue
        subnets = [
            f"aws_subnet.{label(s.name)}.id"
            for s in model.subnets.values()
            if s.network_acl == a.name
        ]
        body = [f"vpc_id     = aws_vpc.{label(a.vpc)}.id", f"subnet_ids = [{', '.join(subnets)}]"]
        h.block(f'resource "aws_network_acl" "{label(a.name)}"', [*body, *rules, _tags(a.name)])


def _group_ref(model: Model, group_id: str) -> str:
    g = model.security_groups[group_id]
    if g.is_default:
        return f"aws_default_security_group.{label(g.vpc)}.id"
    return f"aws_security_group.{label(g.name)}.id"


def _group(h: _Hcl, model: Model, g: SecurityGroup) -> None:
    ref = _group_ref(model, g.id)
    if g.is_default:
        h.block(
            f'resource "aws_default_security_group" "{label(g.vpc)}"',
            [f"vpc_id = aws_vpc.{label(g.vpc)}.id"],
            f"the default group of VPC {g.vpc}; its rules follow as separate resources",
        )
    else:
        h.block(
            f'resource "aws_security_group" "{label(g.name)}"',
            [f"name   = {_s(g.name)}", f"vpc_id = aws_vpc.{label(g.vpc)}.id", _tags(g.name)],
        )
    owner = label(g.vpc + "-default") if g.is_default else label(g.name)
    for direction, rules in (("ingress", g.ingress), ("egress", g.egress)):
        for i, r in enumerate(rules, 1):
            body = [f"security_group_id = {ref}", *_sg_rule(model, r)]
            name = h.unique(f"{owner}_{direction}_{i}")
            h.block(f'resource "aws_vpc_security_group_{direction}_rule" "{name}"', body)


def _pl_label(model: Model, pl_id: str) -> str:
    return managed_prefix_lists(model.region)[pl_id].service


def _sg_rule(model: Model, r: SecurityGroupRule) -> list[str]:
    out = [f"ip_protocol = {_s(_SG_PROTO.get(r.protocol, str(r.protocol)))}"]
    if r.ports is not None:
        out += [f"from_port = {r.ports[0]}", f"to_port = {r.ports[1]}"]
    elif r.protocol == PROTO_ICMP:
        out += [f"from_port = {r.icmp_type}", f"to_port = {r.icmp_code}"]
    if r.prefix_list_id is not None:  # an AWS-managed list, looked up by name (ref 17.7)
        out.append(f"prefix_list_id = data.aws_prefix_list.{_pl_label(model, r.prefix_list_id)}.id")
    elif r.cidr is not None:
        out.append(f"cidr_ipv4 = {_s(str(r.cidr))}")
    elif r.cidr_ipv6 is not None:
        out.append(f"cidr_ipv6 = {_s(str(r.cidr_ipv6))}")
    elif r.security_group is not None:
        out.append(f"referenced_security_group_id = {_group_ref(model, r.security_group)}")
    elif r.prefix_list is not None:
        out.append(f"prefix_list_id = aws_ec2_managed_prefix_list.{label(r.prefix_list)}.id")
    if r.description:
        out.append(f"description = {_s(r.description)}")
    return out


def _nat_gateways(h: _Hcl, model: Model) -> None:
    for n in model.nat_gateways.values():
        subnet = model.subnets[n.subnet]
        h.block(
            f'resource "aws_eip" "{label(n.name)}"',
            ['domain = "vpc"', _tags(n.name)],
            f"netemu used {n.eni.public_ip}; AWS picks the address",
        )
        body = [
            f"allocation_id = aws_eip.{label(n.name)}.id",
            f"subnet_id     = aws_subnet.{label(n.subnet)}.id",
            f"private_ip    = {_s(str(n.eni.private_ip))}",
            _tags(n.name),
        ]
        igw = model.igw_of(subnet.vpc)
        if igw is not None:  # a public NAT gateway needs the IGW first (ref 6.2)
            body.append(f"depends_on    = [aws_internet_gateway.{label(igw.name)}]")
        h.block(f'resource "aws_nat_gateway" "{label(n.name)}"', body)


def _instances(h: _Hcl, model: Model) -> None:
    for i in model.instances.values():
        groups = ", ".join(_group_ref(model, g) for g in i.eni.security_groups)
        auto = i.eni.public_ip is not None and not i.eni.elastic_ip
        extra = (
            {SERVICES_TAG: ",".join(service_text(s) for s in i.services)} if i.services else None
        )
        body = [
            "ami                         = var.ami",
            "instance_type               = var.instance_type",
            f"subnet_id                   = aws_subnet.{label(i.subnet)}.id",
            *([f"private_ip                  = {_s(str(i.private_ip))}"] if i.private_ip else []),
            f"vpc_security_group_ids      = [{groups}]",
            f"associate_public_ip_address = {str(auto).lower()}",
            f"source_dest_check           = {str(i.eni.source_dest_check).lower()}",
            *_secondary_ips(i.eni.secondary_private_ips),
            *terraform_ipv6.instance_lines(i),
            _tags(i.name, extra),
        ]
        h.block(f'resource "aws_instance" "{label(i.name)}"', body)
        if i.eni.elastic_ip:
            h.block(
                f'resource "aws_eip" "{label(i.name)}"',
                ['domain   = "vpc"', f"instance = aws_instance.{label(i.name)}.id"],
                f"netemu used {i.public_ip}; AWS picks the address",
            )
        if i.state == "stopped":
            h.block(
                f'resource "aws_ec2_instance_state" "{label(i.name)}"',
                [f"instance_id = aws_instance.{label(i.name)}.id", 'state       = "stopped"'],
            )


def _secondary_ips(ips: tuple[IPv4Address, ...]) -> list[str]:
    """aws_instance's secondary_private_ips line, if it has any (ref 9.21)."""
    if not ips:
        return []
    return [f"secondary_private_ips       = [{', '.join(_s(str(a)) for a in ips)}]"]


def _network_interfaces(h: _Hcl, model: Model) -> None:
    """Secondary ENIs: aws_network_interface attached at their device index (ref 9.20)."""
    for e in model.network_interfaces.values():
        groups = ", ".join(_group_ref(model, g) for g in e.security_groups)
        ips = ", ".join(_s(str(a)) for a in e.private_ips)
        body = [
            f"subnet_id         = aws_subnet.{label(e.subnet)}.id",
            f"private_ips       = [{ips}]",
            f"security_groups   = [{groups}]",
            f"source_dest_check = {str(e.source_dest_check).lower()}",
            "attachment {",
            f"  instance     = aws_instance.{label(e.owner)}.id",
            f"  device_index = {e.device_index}",
            "}",
            _tags(e.name),
        ]
        h.block(f'resource "aws_network_interface" "{label(e.name)}"', body)


def _flow_logs(h: _Hcl, model: Model) -> None:
    """aws_flow_log to an S3 bucket the user names (netemu writes files in S3's layout)."""
    if not model.flow_logs:
        return
    h.block('variable "flow_log_bucket_arn"', ['description = "S3 bucket for the flow logs"'])
    targets = {
        "vpc": ("vpc_id", "aws_vpc.{}.id"),
        "subnet": ("subnet_id", "aws_subnet.{}.id"),
        "instance": ("eni_id", "aws_instance.{}.primary_network_interface_id"),
        "nat_gateway": ("eni_id", "aws_nat_gateway.{}.network_interface_id"),
    }
    for f in model.flow_logs:
        key, ref = targets[f.resource_kind]
        interval = 60 if f.max_aggregation_interval <= 60 else 600  # AWS offers these (12.1)
        body = [
            f"{key} = {ref.format(label(f.resource))}",
            f"traffic_type = {_s(f.traffic_type)}",
            'log_destination_type = "s3"',
            "log_destination = var.flow_log_bucket_arn",
            f"max_aggregation_interval = {interval}",
        ]
        if f.log_format != V2_FIELDS:
            body.append("log_format = " + _s(" ".join("${" + x + "}" for x in f.log_format)))
        note = (
            f"netemu used {f.max_aggregation_interval} s"
            if interval != f.max_aggregation_interval
            else ""
        )
        h.block(f'resource "aws_flow_log" "{label(f.name)}"', [*body, _tags(f.name)], note)
