"""The JSON Schema of the scenario format, built from the key lists the validator checks.

Every object's `properties` are exactly the tuple the validator passes to `check_keys` for
that object, and its `required` list the same required keys, so the schema and the
validator cannot drift apart (tests/unit/test_schema.py proves it both ways). The schema
adds what editors need: descriptions, value types and enumerations for completion. It is
deliberately looser than the validator on values (the validator gives the AWS reason).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from netemu.model.aws_services import SERVICES
from netemu.model.resolve import TOP_KEYS
from netemu.model.validate_checks import KEYS as RUN_KEYS
from netemu.model.validate_conntrack import BOUNDS as CONNTRACK_BOUNDS
from netemu.model.validate_dhcp_options import DOPT_KEYS
from netemu.model.validate_elastic_ips import EIP_KEYS
from netemu.model.validate_endpoints import ENDPOINT_KEYS, TYPES
from netemu.model.validate_enis import INSTANCE_KEYS, NAT_KEYS
from netemu.model.validate_expect import EXPECT_KEYS, REASONS
from netemu.model.validate_flow_logs import FLOW_LOG_FIELDS, FLOW_LOG_KEYS, TRAFFIC_TYPES
from netemu.model.validate_internet import HOST_KEYS, INTERNET_KEYS
from netemu.model.validate_ipv6 import EIGW_KEYS
from netemu.model.validate_key_pairs import KEY_PAIR_KEYS
from netemu.model.validate_network import IGW_KEYS, SUBNET_KEYS, TABLE_KEYS, VPC_KEYS
from netemu.model.validate_network_interfaces import ENI_KEYS, MAX_ENIS
from netemu.model.validate_peering import PEERING_KEYS, STATUSES
from netemu.model.validate_prefix_lists import ENTRY_KEYS as PL_ENTRY_KEYS
from netemu.model.validate_prefix_lists import PL_KEYS
from netemu.model.validate_routes import ROUTE_KEYS
from netemu.model.validate_security import (
    ACL_KEYS,
    ACL_RULE_KEYS,
    DEFAULT_RULES_KEYS,
    SG_KEYS,
    SG_RULE_KEYS,
)
from netemu.model.validate_servers import SERVER_KEYS, SERVER_REQUIRED
from netemu.model.validate_transit_gateway import ATTACHMENT_KEYS, RTB_KEYS, TGW_KEYS
from netemu.model.validate_transit_gateway import ROUTE_KEYS as TGW_ROUTE_KEYS

Schema = dict[str, Any]


def _object_of(keys: Sequence[str], required: Sequence[str]) -> Schema:
    out: Schema = {
        "type": "object",
        "properties": {k: {"type": "string"} for k in keys},
        "additionalProperties": False,
    }
    if required:
        out["required"] = list(required)
    return out


SCHEMA_ID = "https://netemu.invalid/scenario.schema.json"  # .invalid: never fetched

_NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"}
_TEXT: Schema = {"type": ["string", "number", "boolean"]}  # scalars as the YAML text
_INT: Schema = {"type": ["integer", "string"]}
_BOOL: Schema = {"type": "boolean"}
_CIDR: Schema = {"type": "string", "description": "a CIDR such as 10.0.0.0/16 (or ::/0 in rules)"}
_IP: Schema = {"type": "string", "description": "an IPv4 address such as 10.0.0.5"}
_PROTOCOL: Schema = {
    "anyOf": [
        {"enum": ["tcp", "udp", "icmp", "icmpv6", "all", "-1", -1]},
        {"type": "integer", "minimum": 0, "maximum": 255},
        {"type": "string", "pattern": "^[0-9]{1,3}$"},
    ],
    "description": "tcp, udp, icmp, icmpv6, all (or -1), or an IP protocol number",
}
_SERVER_OPTIONS: Schema = {
    kind: {
        "type": "object",
        "properties": {
            kind: _object_of(SERVER_KEYS[kind], SERVER_REQUIRED[kind]),
        },
        "required": [kind],
        "maxProperties": 1,  # one server per item (the validator says so, not check_keys)
    }
    for kind in SERVER_KEYS
}
_SERVICES: Schema = {
    "type": "array",
    "items": {
        "anyOf": [
            {"type": "string", "pattern": "^(ssh|http|nginx|(tcp|udp):[0-9]{1,5})$"},
            *_SERVER_OPTIONS.values(),
        ]
    },
    "description": 'ssh, http, "tcp:PORT" (accepts and answers), "udp:PORT" (echoes), '
    "nginx, {nginx: {database: INSTANCE}}, {mariadb: {database, user, password}}",
}

# The value schema of a key, wherever it appears; keys not listed take any value.
_VALUES: dict[str, Schema] = {
    "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,11}$"},
    "region": {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"},
    "description": {"type": "string"},
    "cidr": _CIDR,
    "destination": _CIDR,
    "public_pool": _CIDR,
    "dns_hostnames": _BOOL,
    "default": _BOOL,
    "main": _BOOL,
    "public_ip_on_launch": _BOOL,
    "public_ip": _BOOL,
    "source_dest_check": _BOOL,
    "blackhole": _BOOL,
    "azs": {"type": "array", "items": {"type": "string"}},
    "az": {"type": "string", "description": "a zone letter (a) or a full zone name"},
    "vpc": _NAME,
    "subnet": _NAME,
    "route_table": _NAME,
    "network_acl": _NAME,
    "internet_gateway": _NAME,
    "nat_gateway": _NAME,
    "vpc_peering_connection": _NAME,
    "transit_gateway": _NAME,
    "transit_gateway_id": {"type": "string", "description": "AWS's spelling of transit_gateway"},
    "cidrs": {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "description": "secondary IPv4 blocks (ref 1.4, 1.5)",
    },
    "requester": _NAME,
    "accepter": _NAME,
    "instance": _NAME,
    "security_group": _NAME,
    "security_groups": {"type": "array", "items": _NAME},
    "private_ip": _IP,
    "secondary_private_ips": {
        "type": "array",
        "items": _IP,
        "description": "more private IPv4 addresses of the ENI, from its subnet (ref 9.21)",
    },
    "ip": _IP,
    "elastic_ip": {"type": "string", "description": "an address, auto, or an elastic_ips name"},
    "idle_timeout": _INT,
    "state": {"enum": ["running", "stopped"]},
    "services": _SERVICES,
    "size": {"type": "integer", "minimum": 1, "description": "bytes of a real TCP download"},
    "public_key": {"type": "string", "description": "an OpenSSH public key line"},
    "key_name": {"type": "string", "description": "a key pair of the scenario"},
    "user_data": {"type": "string", "description": "a shell script run once at first launch"},
    "run": {"type": "string", "description": "a command run with /bin/sh -c in `from`"},
    "exit": {"anyOf": [_INT, {"enum": ["nonzero"]}]},
    "output": {"type": "string"},
    "timeout": {"type": ["number", "string"]},
    "protocol": _PROTOCOL,
    "port": _INT,
    "ports": {
        "anyOf": [_INT, {"type": "array", "items": _INT, "minItems": 2, "maxItems": 2}],
        "description": 'one port, "FROM-TO", or [FROM, TO]',
    },
    "icmp_type": _INT,
    "icmp_code": _INT,
    "rule": _INT,
    "action": {"enum": ["allow", "deny"]},
    "from": {"type": "string"},
    "to": {"type": "string"},
    "tcp": _INT,
    "udp": _INT,
    "icmp": _BOOL,
    "result": {"enum": ["reachable", "blocked"]},
    "reason": {"enum": list(REASONS)},
    "seen_source": {"type": "string", "description": "an address, nat or public_ip"},
    "source_port": _INT,
    "resource": {"type": "string", "description": "a VPC, subnet or instance name"},
    "traffic_type": {"enum": list(TRAFFIC_TYPES)},
    "max_aggregation_interval": {
        "type": "integer",
        "minimum": 1,
        "description": "seconds; AWS offers 60 or 600",
    },
    "ipv6": {"type": "boolean", "description": "an Amazon-provided /56 (from 2001:db8::/32)"},
    "ipv6_cidr": {"type": "string", "description": "an IPv6 CIDR (/56 for a VPC, /64 or auto)"},
    "cidr_ipv6": {"type": "string", "description": "an IPv6 CIDR such as ::/0"},
    "aws_services": {
        "type": "array",
        "items": {"enum": list(SERVICES)},
        "description": "emulated AWS services on the internet without an endpoint (ref 17.1)",
    },
    "ipv6_address": {"type": "string", "description": "an IPv6 address, auto or none"},
    "assign_ipv6_address_on_creation": _BOOL,
    "ipv6_native": _BOOL,
    "enable_dns64": {"type": "boolean", "description": "only false: DNS64 is not emulated"},
    "egress_only_internet_gateway": _NAME,
    "prefix_list_id": {
        "type": "string",
        "description": "a customer-managed list's name or pl- id, or an AWS-managed pl- id",
    },
    "destination_prefix_list_id": {"type": "string", "description": "a prefix list: name or id"},
    "dhcp_options_id": {"type": "string", "description": "a DHCP options set: name or dopt- id"},
    "address_family": {"enum": ["IPv4", "IPv6"]},
    "max_entries": {"type": "integer", "minimum": 1, "maximum": 1000},
    "domain_name_servers": {
        "type": "array",
        "items": {"type": "string"},
        "description": "up to four IPv4 addresses, or AmazonProvidedDNS",
    },
    "ntp_servers": {"type": "array", "items": _IP},
    "netbios_name_servers": {"type": "array", "items": _IP},
    "netbios_node_type": {"enum": [1, 2, 4, 8]},
    "family": {"enum": [4, 6], "description": "6: to the destination's IPv6 address"},
    "log_format": {
        "type": "string",
        "description": "space-separated ${field} names: " + " ".join(FLOW_LOG_FIELDS),
    },
}


_SECONDS = {k: {"type": "integer", "description": "seconds"} for k in CONNTRACK_BOUNDS}


def _object(
    keys: Sequence[str], required: Sequence[str] = (), nested: dict[str, Schema] | None = None
) -> Schema:
    props = {k: (nested or {}).get(k, _VALUES.get(k, {})) for k in keys}
    out: Schema = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


def _named(item: Schema, what: str) -> Schema:
    """A section: a mapping of object names to objects (empty allowed)."""
    return {
        "type": ["object", "null"],
        "description": f"{what}, by name",
        "propertyNames": _NAME,
        "additionalProperties": item,
    }


def _rules(rule: Schema) -> Schema:
    return {"type": ["array", "null"], "items": rule}


def schema() -> Schema:
    sg_rule = _object(SG_RULE_KEYS, ("protocol",))
    acl_rule = _object(ACL_RULE_KEYS, ("rule", "protocol", "action"))  # cidr or cidr_ipv6
    sg_directions = {"ingress": _rules(sg_rule), "egress": _rules(sg_rule)}
    acl_directions = {"ingress": _rules(acl_rule), "egress": _rules(acl_rule)}
    vpc = _object(
        VPC_KEYS,
        nested={
            "default_security_group": _object(DEFAULT_RULES_KEYS, nested=sg_directions),
            "default_network_acl": _object(DEFAULT_RULES_KEYS, nested=acl_directions),
        },
    )
    sections: dict[str, Schema] = {
        "vpcs": _named(vpc, "VPCs (cidr is required unless default: true)"),
        "internet_gateways": _named(_object(IGW_KEYS, ("vpc",)), "internet gateways"),
        "subnets": _named(
            _object(SUBNET_KEYS, ("vpc",)), "subnets (cidr is required unless ipv6_native: true)"
        ),
        "route_tables": _named(
            _object(
                TABLE_KEYS,
                ("vpc",),
                {"routes": _rules(_object(ROUTE_KEYS))},  # or a list
            ),
            "route tables",
        ),
        "nat_gateways": _named(_object(NAT_KEYS, ("subnet",)), "NAT gateways"),
        "security_groups": _named(_object(SG_KEYS, ("vpc",), sg_directions), "security groups"),
        "network_acls": _named(_object(ACL_KEYS, ("vpc",), acl_directions), "network ACLs"),
        "instances": _named(
            _object(
                INSTANCE_KEYS,
                ("subnet",),
                {"connection_tracking": _object(tuple(CONNTRACK_BOUNDS), nested=_SECONDS)},
            ),
            "instances",
        ),
        "internet": _object(
            INTERNET_KEYS,
            nested={"hosts": _named(_object(HOST_KEYS, ("ip",)), "internet hosts")},
        ),
        "expect": {
            "type": ["array", "null"],
            "items": {
                "anyOf": [
                    _object(EXPECT_KEYS, ("from", "to", "result")),
                    _object(RUN_KEYS, ("from", "run")),
                ]
            },
        },
        "key_pairs": _named(
            _object(KEY_PAIR_KEYS, ("public_key",)), "EC2 key pairs by public key (ref 9.12)"
        ),
        "flow_logs": _named(_object(FLOW_LOG_KEYS, ("resource",)), "VPC Flow Logs (reference 12)"),
        "elastic_ips": _named(
            _object(
                EIP_KEYS,
                nested={
                    "address": {"type": "string", "description": "default: from public_pool"},
                    "instance": _NAME,
                    "network_interface": {
                        "type": "string",
                        "description": "an ENI id, or a network_interfaces name (ref 9.20)",
                    },
                    "private_ip_address": {
                        "type": "string",
                        "description": "the ENI's primary private IP (netemu maps no other)",
                    },
                },
            ),
            "elastic IPs allocated, and associated with an instance or its ENI (ref 9.13)",
        ),
        "vpc_peering_connections": _named(
            _object(
                PEERING_KEYS,
                ("requester", "accepter"),
                {"status": {"enum": list(STATUSES), "description": "default active (ref 1.14)"}},
            ),
            "VPC peering connections (ref 1.10-1.17)",
        ),
        "egress_only_internet_gateways": _named(
            _object(EIGW_KEYS, ("vpc",)), "egress-only internet gateways: IPv6 out only (16.5)"
        ),
        "prefix_lists": _named(
            _object(
                PL_KEYS,
                ("address_family", "max_entries"),
                {"entries": _rules(_object(PL_ENTRY_KEYS, ("cidr",)))},
            ),
            "customer-managed prefix lists (ref 19)",
        ),
        "dhcp_options": _named(_object(DOPT_KEYS), "DHCP options sets (ref 10.20)"),
        **_transit_gateway_sections(),
        "vpc_endpoints": _named(
            _object(
                ENDPOINT_KEYS,
                ("vpc", "service_name"),
                {
                    "service_name": {
                        "type": "string",
                        "pattern": "^com\\.amazonaws\\.",
                        "description": "com.amazonaws.REGION.SERVICE (s3, dynamodb, sqs, ...)",
                    },
                    "vpc_endpoint_type": {"enum": list(TYPES), "description": "default Gateway"},
                    "route_table_ids": {"type": "array", "items": _NAME},
                    "subnet_ids": {"type": "array", "items": _NAME},
                    "security_group_ids": {"type": "array", "items": _NAME},
                    "private_dns_enabled": _BOOL,
                    "policy_document": {"description": "kept, not enforced"},
                },
            ),
            "VPC endpoints, Gateway or Interface (ref 17.1-17.5)",
        ),
        "network_interfaces": _named(
            _object(
                ENI_KEYS,
                ("subnet", "instance", "device_index"),
                {
                    "device_index": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_ENIS - 1,
                        "description": "1 and up: 0 is the instance's own ENI (ref 9.7, 9.20)",
                    },
                    "description": {"type": "string"},
                },
            ),
            "secondary ENIs attached to instances (ref 9.20)",
        ),
    }
    top = _object(TOP_KEYS, nested=sections)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "netemu scenario",
        "description": "AWS VPC networking emulated in one Linux kernel "
        "(docs: scenario-format; `netemu validate` gives the AWS reasons)",
        **top,
    }


def _transit_gateway_sections() -> dict[str, Schema]:
    """transit_gateways, their VPC attachments (either spelling), their route tables."""
    names = {"type": ["array", "null"], "items": _NAME}
    flags = {k: _BOOL for k in (*TGW_KEYS, *RTB_KEYS) if k.startswith("default_")}
    attachment = _object(
        ATTACHMENT_KEYS, ("transit_gateway", "vpc"), {"subnets": names, "subnet_ids": names}
    )
    route = _object(
        TGW_ROUTE_KEYS,
        nested={
            "destination_cidr_block": _CIDR,
            "transit_gateway_attachment": _NAME,
            "transit_gateway_attachment_id": _NAME,
        },
    )
    table = _object(
        RTB_KEYS,
        ("transit_gateway",),
        {"associations": names, "propagations": names, "routes": _rules(route), **flags},
    )
    what = "VPC attachments to transit gateways, one subnet per zone (ref 18.2)"
    return {
        "transit_gateways": _named(
            _object(TGW_KEYS, nested={"amazon_side_asn": _INT, **flags}),
            "transit gateways (ref 18.1, 18.4)",
        ),
        "transit_gateway_attachments": _named(attachment, what),
        "transit_gateway_vpc_attachments": _named(attachment, what),
        "transit_gateway_route_tables": _named(
            table, "transit gateway route tables: associations, propagations, routes (18.3-18.5)"
        ),
    }


def schema_text() -> str:
    return json.dumps(schema(), indent=2) + "\n"
