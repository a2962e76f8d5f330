"""AWS's host and domain names: `ip-a-b-c-d` private names, resource names (`i-…`) in
IPv6-only subnets, `ec2-a-b-c-d` public ones (ref 10.4, 16.12)."""

from __future__ import annotations

from ipaddress import IPv4Address

# us-east-1 predates the regional naming scheme and keeps its own names (10.1, 10.4).
US_EAST_1 = "us-east-1"


def domain_name(region: str) -> str:
    """The DHCP domain-name option of the default option set (10.1)."""
    return "ec2.internal" if region == US_EAST_1 else f"{region}.compute.internal"


def short_private_name(ip: IPv4Address) -> str:
    """`ip-172-30-0-10`: the host name an instance gets (DHCP option 12)."""
    return "ip-" + str(ip).replace(".", "-")


def host_name(ip: IPv4Address | None, instance_id: str) -> str:
    """The IP name `ip-a-b-c-d`, or the resource name (the instance id) of an instance
    without IPv4: IPv6-only subnets name hosts by resource (16.11)."""
    return short_private_name(ip) if ip is not None else instance_id


def private_dns_name(region: str, ip: IPv4Address) -> str:
    """`ip-172-30-0-10.ap-northeast-1.compute.internal`, `ip-10-0-0-5.ec2.internal`."""
    return f"{short_private_name(ip)}.{domain_name(region)}"


def public_dns_name(region: str, ip: IPv4Address) -> str:
    """`ec2-203-0-113-5.compute-1.amazonaws.com` in us-east-1,
    `ec2-203-0-113-5.ap-northeast-1.compute.amazonaws.com` elsewhere."""
    dashed = "ec2-" + str(ip).replace(".", "-")
    if region == US_EAST_1:
        return f"{dashed}.compute-1.amazonaws.com"
    return f"{dashed}.{region}.compute.amazonaws.com"
