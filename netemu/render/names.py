"""The one place that names kernel objects: namespaces, interfaces, tables, transit addresses.

Namespaces are `ne-<scenario>-<kind>-<object>`; interface names are short (the kernel allows
15 characters) and meaningful inside their namespace; the AWS name rides along as ifalias.
"""

from __future__ import annotations

PREFIX = "ne-"

# Transit links between the emulation's own routers use link-local addresses, which AWS
# forbids as VPC CIDRs (ref 1.3), so they never collide with a scenario's addresses.
# Each pair is (upstream side, downstream side); the same pair is reused on every link of
# its kind because neighbours are per device.
SUBNET_LINK = ("169.254.1.1", "169.254.1.2")  # VPC router <-> subnet
IGW_LINK = ("169.254.2.1", "169.254.2.2")  # VPC router <-> internet gateway
INTERNET_LINK = ("169.254.3.1", "169.254.3.2")  # internet <-> internet gateway
HOST_GATEWAY = "169.254.4.1"  # the internet's address on every link to a host
PEERING_LINK = ("169.254.5.1", "169.254.5.2")  # requester's VPC router <-> accepter's
TGW_LINK = ("169.254.18.1", "169.254.18.2")  # transit gateway <-> an attached VPC's router
VPCE_LINK = ("169.254.6.1", "169.254.6.2")  # VPC router <-> a gateway endpoint's service

# Interface names inside namespaces.
ENI_IF = "eth0"  # the ENI inside an instance or NAT gateway
UPLINK_IF = "up"  # subnet namespace -> VPC router
ROUTER_IGW_IF = "igw"  # VPC router -> internet gateway
IGW_VPC_IF = "vpc"  # internet gateway -> VPC router
IGW_INET_IF = "inet"  # internet gateway -> internet

# An instance's policy routing for a secondary ENI: table and rule priority 10000 + its
# device index, as Amazon Linux 2023's amazon-ec2-net-utils sets them (ref 9.23).
ENI_TABLE_BASE = 10000

# Kernel routing table of a route table: 1000 + its index in the scenario.
ROUTE_TABLE_BASE = 1000
RULE_PRIORITY_BASE = 1000


def scenario_prefix(scenario: str) -> str:
    return f"{PREFIX}{scenario}-"


def instance_ns(scenario: str, name: str) -> str:
    return f"{PREFIX}{scenario}-i-{name}"


def nat_gateway_ns(scenario: str, name: str) -> str:
    return f"{PREFIX}{scenario}-n-{name}"


def subnet_ns(scenario: str, name: str) -> str:
    return f"{PREFIX}{scenario}-s-{name}"


def router_ns(scenario: str, vpc: str) -> str:
    return f"{PREFIX}{scenario}-r-{vpc}"


def igw_ns(scenario: str, name: str) -> str:
    return f"{PREFIX}{scenario}-g-{name}"


def internet_ns(scenario: str) -> str:
    return f"{PREFIX}{scenario}-inet"


def endpoint_eni_ns(scenario: str, owner: str) -> str:
    """An interface endpoint's ENI (owner "<endpoint>-<zone letter>", render.vpc_endpoints)."""
    return f"{PREFIX}{scenario}-e-{owner}"


def host_ns(scenario: str, name: str) -> str:
    return f"{PREFIX}{scenario}-h-{name}"


def eni_if(device_index: int) -> str:
    """An ENI inside its instance: eth0 for the primary, eth1... by device index (9.20)."""
    return f"eth{device_index}"


def eni_port_if(port: int) -> str:
    """The subnet namespace's end of an ENI's cable."""
    return f"e{port}"


def router_subnet_if(subnet_index: int) -> str:
    return f"s{subnet_index}"


def router_peering_if(peering_index: int) -> str:
    """A VPC router's end of a peering connection's cable (render.vpc_peering)."""
    return f"x{peering_index}"


def transit_gateway_ns(scenario: str, name: str) -> str:
    return f"{PREFIX}{scenario}-tgw-{name}"


def tgw_attachment_if(attachment_index: int) -> str:
    """The transit gateway's end of a VPC attachment's cable (render.transit_gateway)."""
    return f"a{attachment_index}"


def router_tgw_if(attachment_index: int) -> str:
    """The VPC router's end of a VPC attachment's cable."""
    return f"tg{attachment_index}"


def router_endpoint_if(endpoint_index: int) -> str:
    """A VPC router's end of a gateway endpoint's cable (render.vpc_endpoints)."""
    return f"v{endpoint_index}"


def service_endpoint_if(endpoint_index: int) -> str:
    """The emulated service's end of a gateway endpoint's cable (render.vpc_endpoints)."""
    return f"vpce{endpoint_index}"


def internet_igw_if(igw_index: int) -> str:
    return f"g{igw_index}"


def internet_host_if(host_index: int) -> str:
    return f"h{host_index}"


def kernel_table(route_table_index: int) -> int:
    return ROUTE_TABLE_BASE + route_table_index


NFT_TABLE = "netemu"  # one inet table per namespace; "ne" alone is an nft keyword


# A subnet's security-group chains and sets, IPv4 and (v6) IPv6 ones: a group's rules, an
# ENI's jumps to its groups, the addresses of a group's members (render.security_group,
# render.ipv6_rules).
def group_chain(group_id: str, direction: str, v6: bool = False) -> str:
    return f"sg{'6' if v6 else ''}_{group_id}_{direction}"


def eni_chain(port: int, direction: str, v6: bool = False) -> str:
    return f"eni{'6' if v6 else ''}_{port}_{direction}"


def members_set(group_id: str, v6: bool = False) -> str:
    return f"members{'6' if v6 else ''}_{group_id}"


def acl_chain(direction: str, v6: bool = False) -> str:
    """A subnet's network ACL entries in one direction (render.network_acl, ipv6_rules)."""
    return f"acl{'6' if v6 else ''}_{direction}"
