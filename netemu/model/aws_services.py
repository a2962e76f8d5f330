"""The emulated AWS regional services behind VPC endpoints, and their AWS-managed prefix
lists (ref 17.1, 17.6).

Each service has public addresses of its own, from a documentation range (architecture.md
4): it lives on the emulated internet as an internet host named after it, reachable through
an internet gateway or NAT gateway like any public service, and privately through a VPC
endpoint. The AWS-managed prefix list of a gateway service (com.amazonaws.REGION.s3) holds
those addresses, as AWS's lists hold the service's public ranges of the Region. Real lists
hold dozens of ranges; one per service keeps every address the emulation uses readable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network


@dataclass(frozen=True)
class AwsService:
    """An emulated regional AWS service (`short` as in com.amazonaws.REGION.<short>)."""

    short: str  # s3, dynamodb, sqs, ...
    cidr: IPv4Network  # its public range: the AWS-managed prefix list's one entry
    address: IPv4Address  # where its HTTP(S) front end answers
    gateway: bool  # offered as a gateway endpoint (only S3 and DynamoDB, ref 17.1)

    def service_name(self, region: str) -> str:
        return f"com.amazonaws.{region}.{self.short}"

    def dns_name(self, region: str) -> str:
        """Its regional DNS name (s3.us-east-1.amazonaws.com)."""
        return f"{self.short}.{region}.amazonaws.com"


def _svc(short: str, cidr: str, host: int, gateway: bool = False) -> AwsService:
    net = IPv4Network(cidr)
    return AwsService(short, net, net.network_address + host, gateway)


# 198.51.100.128/25 is kept for AWS services: the default internet host (198.51.100.10), the
# book's hosts (.20 ...) and the default public pool (203.0.113.0/24) lie elsewhere.
SERVICES: dict[str, AwsService] = {
    s.short: s
    for s in (
        _svc("s3", "198.51.100.128/27", 4, gateway=True),
        _svc("dynamodb", "198.51.100.160/28", 4, gateway=True),
        _svc("sqs", "198.51.100.176/30", 1),
        _svc("sts", "198.51.100.180/30", 1),
        _svc("ssm", "198.51.100.184/30", 1),
        _svc("secretsmanager", "198.51.100.188/30", 1),
        _svc("kms", "198.51.100.192/30", 1),
        _svc("logs", "198.51.100.196/30", 1),
        _svc("ec2", "198.51.100.200/30", 1),
    )
}
SERVICE_RANGE = IPv4Network("198.51.100.128/25")
# The HTTP front end answers on 80 and on 443 in plain HTTP: the emulation has no TLS, but
# a client reaches the service on HTTPS's port as on AWS (aws-decisions.md).
SERVICE_PORTS = (80, 443)


def service_by_name(region: str, service_name: str) -> AwsService | None:
    """The service a `service_name` of the scenario's Region names, or None."""
    head = f"com.amazonaws.{region}."
    if not service_name.startswith(head):
        return None
    return SERVICES.get(service_name[len(head) :])


@dataclass(frozen=True)
class AwsManagedPrefixList:
    """An AWS-managed prefix list (owner AWS, read-only; ref 17.6)."""

    id: str  # pl-…
    name: str  # com.amazonaws.REGION.s3
    cidrs: tuple[IPv4Network, ...]
    service: str  # AwsService.short


def prefix_list_id(region: str, short: str) -> str:
    """A stable pl- id per Region and service (AWS's own ids differ per Region too)."""
    digest = hashlib.sha256(f"com.amazonaws.{region}.{short}".encode()).hexdigest()
    return f"pl-{digest[:8]}"


def managed_prefix_lists(region: str) -> dict[str, AwsManagedPrefixList]:
    """The Region's AWS-managed prefix lists of the gateway services, by id."""
    out = {}
    for s in SERVICES.values():
        if s.gateway:
            pid = prefix_list_id(region, s.short)
            out[pid] = AwsManagedPrefixList(pid, s.service_name(region), (s.cidr,), s.short)
    return out


def managed_prefix_list(region: str, short: str) -> AwsManagedPrefixList:
    return managed_prefix_lists(region)[prefix_list_id(region, short)]
