"""Every reason code the static walker emits, in one table (ref 13.3), aligned with probes.

The kernel side names its codes in netemu/probe/reason.py; this table is the static side's
list, so the two can be compared and kept aligned. `ALIASES` maps an older or netemu-only
spelling to the code it stands for: both sides are compared through `canonical()`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    name: str
    meaning: str
    observed: bool = True  # False: the kernel drops such packets without a named rule


NO_ROUTE_TO_DESTINATION = "NO_ROUTE_TO_DESTINATION"
BAD_STATE_ROUTE = "BAD_STATE_ROUTE"
SUBNET_ACL_RESTRICTION = "SUBNET_ACL_RESTRICTION"
ENI_SG_RULES_MISMATCH = "ENI_SG_RULES_MISMATCH"
ENI_SOURCE_DEST_CHECK_RESTRICTION = "ENI_SOURCE_DEST_CHECK_RESTRICTION"
IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS = "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS"
IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS = "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"
DISCONNECTED_VPCS = "DISCONNECTED_VPCS"
IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS = "IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS"
IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS = "IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS"
NGW_REQUIRES_SOURCE_IN_VPC = "NGW_REQUIRES_SOURCE_IN_VPC"
PCX_REQUIRES_ADDRESS_IN_VPC_CIDR = "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR"
NO_POSSIBLE_DESTINATION = "NO_POSSIBLE_DESTINATION"
TGW_RTB_CANNOT_ROUTE = "TGW_RTB_CANNOT_ROUTE"
TGW_RTB_BAD_STATE_ROUTE = "TGW_RTB_BAD_STATE_ROUTE"
TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION = "TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION"
TGW_ROUTE_AZ_RESTRICTION = "TGW_ROUTE_AZ_RESTRICTION"
PROTOCOL_RESTRICTION = "PROTOCOL_RESTRICTION"
BAD_STATE = "BAD_STATE"
# Static-only: what the kernel drops without naming (a routing loop ends when the TTL runs
# out; a reply that comes back from another address is not recognised as a reply).
ROUTING_LOOP = "ROUTING_LOOP"
REPLY_FROM_OTHER_ADDRESS = "REPLY_FROM_OTHER_ADDRESS"
NOT_FORWARDED = "NOT_FORWARDED"

TABLE: dict[str, Code] = {
    c.name: c
    for c in (
        Code(NO_ROUTE_TO_DESTINATION, "no route table, subnet or internet route leads there"),
        Code(BAD_STATE_ROUTE, "the route that matches is a blackhole (4.10)"),
        Code(SUBNET_ACL_RESTRICTION, "the subnet's network ACL does not admit it (8.1, 8.2)"),
        Code(ENI_SG_RULES_MISMATCH, "no security group rule of the ENI admits it (7.2)"),
        Code(ENI_SOURCE_DEST_CHECK_RESTRICTION, "source/destination check of the ENI (9.9)"),
        Code(IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS, "the source has no public IP (5.5)"),
        Code(IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS, "the destination has no public IP (5.5)"),
        Code(DISCONNECTED_VPCS, "a private address of another VPC (1.9)"),
        Code(IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS, "a private source from outside (5.5)"),
        Code(IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS, "a private destination (5.5)"),
        Code(NGW_REQUIRES_SOURCE_IN_VPC, "a NAT gateway forwards only its VPC's flows (6.14)"),
        Code(
            PCX_REQUIRES_ADDRESS_IN_VPC_CIDR,
            "a peering connection carries only traffic for the peer VPC (1.10, 1.12)",
        ),
        Code(NO_POSSIBLE_DESTINATION, "a NAT gateway answers nothing sent to it (6.10)"),
        Code(TGW_RTB_CANNOT_ROUTE, "the transit gateway route table has no route (18.5)"),
        Code(TGW_RTB_BAD_STATE_ROUTE, "a blackhole transit gateway route (18.5)"),
        Code(TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION, "an attachment with no route table (18.3)"),
        Code(TGW_ROUTE_AZ_RESTRICTION, "no attachment subnet in the source's zone (18.2)"),
        Code(PROTOCOL_RESTRICTION, "a NAT gateway carries only TCP, UDP, ICMP (6.11)"),
        Code(BAD_STATE, "the instance is stopped (9.10)"),
        Code(ROUTING_LOOP, "the routes send the packet round in a loop", observed=False),
        Code(
            REPLY_FROM_OTHER_ADDRESS,
            "the reply leaves through a NAT gateway and returns from its address",
            observed=False,
        ),
        Code(NOT_FORWARDED, "an instance that does not forward received it", observed=False),
    )
}

# Old or netemu-only spelling -> the code it is compared as (the old names stay accepted
# in `reason:` expectations through probe.reason.satisfies).
ALIASES: dict[str, str] = {}


def canonical(code: str | None) -> str | None:
    if code is None:
        return None
    return ALIASES.get(code, code)


def observed(code: str | None) -> bool:
    """Whether a probe can name this code (False: the kernel's drop carries no name)."""
    return code is None or TABLE.get(canonical(code) or "", Code("", "")).observed
