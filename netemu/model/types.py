"""The resolved model: frozen dataclasses named after AWS objects, every default applied.

A Model is what `resolve()` returns for a valid scenario. Nothing here touches the kernel;
render/ turns a Model into a Plan. Every address, MAC and AWS-style id is fixed here so that
the same scenario always yields the same kernel objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Literal

from netemu.model.transit_gateway import (
    TransitGateway,
    TransitGatewayRouteTable,
    TransitGatewayVpcAttachment,
)

# IP protocol numbers used throughout; -1 means "all" as in the AWS API.
PROTO_ALL = -1
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58


@dataclass(frozen=True)
class Pos:
    """Where a value stood in the scenario file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Vpc:
    name: str
    id: str  # vpc-…
    cidr: IPv4Network
    dns_hostnames: bool
    is_default: bool
    index: int  # 0-based order in the scenario; used for kernel table numbers
    secondary_cidrs: tuple[IPv4Network, ...] = ()  # `cidrs:`, associated later (ref 1.4)
    ipv6_cidr: IPv6Network | None = None  # the Amazon-provided /56 (model.validate_ipv6)
    dhcp_options: str | None = None  # DhcpOptions.name; None: the Region's default set (10.20)

    @property
    def cidrs(self) -> tuple[IPv4Network, ...]:
        """Every IPv4 block of the VPC, the primary first (ref 1.4)."""
        return (self.cidr, *self.secondary_cidrs)

    def holds(self, address: IPv4Address) -> bool:
        """Whether an address lies in one of the VPC's blocks."""
        return any(address in c for c in self.cidrs)

    @property
    def dns_ip(self) -> IPv4Address:
        """AmazonProvidedDNS answers at the primary CIDR's base+2 (ref 10.2)."""
        return self.cidr.network_address + 2


@dataclass(frozen=True)
class InternetGateway:
    name: str
    id: str  # igw-…
    vpc: str  # Vpc.name


@dataclass(frozen=True)
class Subnet:
    name: str
    id: str  # subnet-…
    vpc: str
    cidr: IPv4Network | None  # None: an IPv6-only subnet (ipv6_native, ref 16.11)
    az: str  # full zone name, e.g. ap-northeast-1a
    public_ip_on_launch: bool
    route_table: str  # RouteTable.name (explicit or the VPC's main table)
    network_acl: str  # NetworkAcl.name (explicit or the VPC's default ACL)
    index: int  # 0-based order among all subnets
    default_for_az: bool = False  # a subnet of the default VPC shortcut (DefaultForAz, ref 3.2)
    ipv6_cidr: IPv6Network | None = None  # a /64 of the VPC's /56 (ref 16.2)
    assign_ipv6_address_on_creation: bool = False  # ref 16.3

    @property
    def router_ip(self) -> IPv4Address | None:
        """The VPC router answers at base+1 of every subnet (ref 2.3); an IPv6-only subnet
        has no IPv4 router address."""
        return None if self.cidr is None else self.cidr.network_address + 1


RouteTargetKind = Literal[
    "local",
    "internet_gateway",
    "nat_gateway",
    "instance",
    "blackhole",
    "vpc_peering_connection",
    "transit_gateway",
    "vpc_endpoint",  # a gateway endpoint's route to its service's prefix list (ref 17.2)
]


@dataclass(frozen=True)
class VpcPeeringConnection:
    """A VPC peering connection between two VPCs of the scenario (ref 1.10-1.12, 1.14)."""

    name: str
    id: str  # pcx-…
    requester: str  # Vpc.name
    accepter: str  # Vpc.name
    status: Literal["active", "pending-acceptance", "rejected"]
    index: int  # 0-based order in the scenario; names its kernel link

    @property
    def active(self) -> bool:
        return self.status == "active"

    def other(self, vpc: str) -> str:
        """The VPC at the other end from `vpc`."""
        return self.accepter if vpc == self.requester else self.requester


@dataclass(frozen=True)
class VpcEndpoint:
    """A VPC endpoint (ref 17.1-17.5): a gateway endpoint adds routes to its service's
    prefix list in its route tables; an interface endpoint puts one ENI in each subnet."""

    name: str
    id: str  # vpce-…
    vpc: str  # Vpc.name
    service: str  # AwsService.short (model.aws_services)
    service_name: str  # com.amazonaws.REGION.SERVICE
    vpc_endpoint_type: Literal["Gateway", "Interface"]
    route_table_ids: tuple[str, ...] = ()  # RouteTable.name, Gateway only
    subnet_ids: tuple[str, ...] = ()  # Subnet.name, Interface only
    security_group_ids: tuple[str, ...] = ()  # SecurityGroup.id, Interface only
    private_dns_enabled: bool = False  # Interface only
    index: int = 0  # 0-based order in the scenario; names its kernel link
    policy: str | None = None  # PolicyDocument: kept, not enforced (aws-decisions.md)
    # Interface only: one requester-managed ENI per subnet, owner "<name>-<zone letter>".
    network_interfaces: tuple[Eni, ...] = ()


@dataclass(frozen=True)
class Route:
    destination: IPv4Network
    target_kind: RouteTargetKind
    target: str | None  # object name for gateway/instance targets; None for local/blackhole
    pos: Pos | None = None  # None for implicit routes (the local route)
    # A route to a prefix list is one kernel route per entry, each carrying the list:
    prefix_list: str | None = None  # a customer-managed list's name (PrefixList, 19.4)
    prefix_list_id: str | None = None  # an AWS-managed list's pl- id (gateway endpoint, 17.2)


Route6TargetKind = Literal[
    "local", "internet_gateway", "egress_only_internet_gateway", "instance", "blackhole"
]


@dataclass(frozen=True)
class Route6:
    """An IPv6 route (DestinationIpv6CidrBlock): IPv4 and IPv6 are routed apart (ref 4.5)."""

    destination: IPv6Network
    target_kind: Route6TargetKind
    target: str | None
    pos: Pos | None = None


@dataclass(frozen=True)
class RouteTable:
    name: str  # declared name; an implicit main table is named "<vpc>-main"
    id: str  # rtb-…
    vpc: str
    main: bool
    routes: tuple[Route, ...]  # the local route first, then the scenario's in file order
    implicit: bool = False  # True for the main table netemu created because none was declared
    ipv6_routes: tuple[Route6, ...] = ()  # the IPv6 local route first when the VPC has IPv6


@dataclass(frozen=True)
class SecurityGroupRule:
    """One rule of a security group, in AWS terms (ref 7.5).

    protocol: IP protocol number, PROTO_ALL (-1) for all traffic.
    ports: (from, to) inclusive for tcp/udp; None otherwise.
    icmp_type / icmp_code: for icmp, -1 = any; None otherwise.
    Exactly one of cidr and security_group (SecurityGroup.id) is set.
    """

    index: int  # 0-based position in its direction's list
    protocol: int
    ports: tuple[int, int] | None
    icmp_type: int | None
    icmp_code: int | None
    cidr: IPv4Network | None
    security_group: str | None
    pos: Pos | None = None
    description: str | None = None  # the rule's optional description (ref 7.5)
    cidr_ipv6: IPv6Network | None = None  # set instead of cidr for an IPv6 rule (CidrIpv6)
    # PrefixListId, two ways: a customer-managed list stays one rule matching the list's
    # nftables set (by name, 19.3); an AWS-managed list stands as one rule per entry, each
    # with its cidr and the list's id, all with the same index (model.validate_endpoints, 17.7).
    prefix_list: str | None = None
    prefix_list_id: str | None = None


@dataclass(frozen=True)
class SecurityGroup:
    name: str  # `default` for each VPC's default group
    id: str  # sg-…; unique across the scenario (two VPCs each have a `default`)
    vpc: str
    ingress: tuple[SecurityGroupRule, ...]
    egress: tuple[SecurityGroupRule, ...]
    is_default: bool = False


@dataclass(frozen=True)
class NetworkAclRule:
    """One numbered entry of a network ACL (ref 8.2, 8.8). cidr is the source for
    ingress rules and the destination for egress rules."""

    number: int  # 1..32766
    protocol: int  # PROTO_ALL for all
    ports: tuple[int, int] | None
    icmp_type: int | None
    icmp_code: int | None
    cidr: IPv4Network
    action: Literal["allow", "deny"]
    pos: Pos | None = None


@dataclass(frozen=True)
class NetworkAclRule6:
    """An IPv6 entry (Ipv6CidrBlock) of a network ACL: IPv4 and IPv6 entries are separate
    lists with their own numbers and never match the other family (ref 8.7, 8.8)."""

    number: int
    protocol: int
    ports: tuple[int, int] | None
    icmp_type: int | None
    icmp_code: int | None
    cidr: IPv6Network
    action: Literal["allow", "deny"]
    pos: Pos | None = None


@dataclass(frozen=True)
class NetworkAcl:
    name: str  # declared name; a VPC's default ACL is named "<vpc>-default"
    id: str  # acl-…
    vpc: str
    ingress: tuple[NetworkAclRule, ...]  # sorted by number; the implicit `*` deny is not listed
    egress: tuple[NetworkAclRule, ...]
    is_default: bool = False
    ingress_ipv6: tuple[NetworkAclRule6, ...] = ()  # sorted by number, then the `*` deny
    egress_ipv6: tuple[NetworkAclRule6, ...] = ()


@dataclass(frozen=True)
class Service:
    kind: Literal["ssh", "http", "tcp", "udp", "mariadb", "nginx"]
    port: int  # 22 for ssh, 80 for http and nginx, 3306 for mariadb
    # A real server's options from the scenario (netemu.services.servers_model), sorted by key.
    settings: tuple[tuple[str, str], ...] = ()

    def setting(self, key: str) -> str | None:
        return dict(self.settings).get(key)


@dataclass(frozen=True)
class ConnectionTracking:
    """Idle timeouts of an ENI's tracked connections, in seconds, with AWS's defaults and
    the API's names (ConnectionTrackingSpecification, ref 7.17)."""

    tcp_established_timeout: int = 432000  # 60-432000
    udp_stream_timeout: int = 180  # 60-180: a UDP flow with more than one exchange
    udp_timeout: int = 30  # 30-60: one direction, or a single request and response


@dataclass(frozen=True)
class Eni:
    """An elastic network interface: the instance's (or NAT gateway's) eth0."""

    id: str  # eni-…
    subnet: str
    private_ip: IPv4Address | None  # None: an ENI of an IPv6-only subnet (ref 16.11)
    mac: str  # 02:xx:xx:xx:xx:xx, stable per ENI id
    security_groups: tuple[str, ...]  # SecurityGroup.id; empty for a NAT gateway (ref 6.13)
    source_dest_check: bool
    public_ip: IPv4Address | None  # auto-assigned or elastic; the IGW maps it 1:1 (ref 5.3)
    elastic_ip: bool  # True when public_ip is an elastic IP
    owner_kind: Literal["instance", "nat_gateway", "vpc_endpoint"]
    owner: str  # Instance.name, NatGateway.name or VpcEndpoint.name
    port: int  # 0-based index of this ENI inside its subnet (its port there)
    connection_tracking: ConnectionTracking = ConnectionTracking()
    ipv6_address: IPv6Address | None = None  # a global unicast address of the subnet's /64
    # A secondary ENI (`network_interfaces:`, model.validate_network_interfaces) is attached
    # at device index 1 and up; the instance's own ENI is index 0 (ref 9.7, 9.20).
    device_index: int = 0
    secondary_private_ips: tuple[IPv4Address, ...] = ()  # from its subnet (ref 9.8, 9.21)
    name: str = ""  # the `network_interfaces:` name of a secondary ENI; "" for a primary

    @property
    def label(self) -> str:
        """What a drop names it by: `eni:web` for an instance's own ENI, `eni:web-back` for
        a secondary one (its `network_interfaces:` name)."""
        return self.name or self.owner

    @property
    def private_ips(self) -> tuple[IPv4Address, ...]:
        """Every private IPv4 address of the ENI, the primary first (ref 9.6); none for an
        ENI of an IPv6-only subnet (16.11)."""
        if self.private_ip is None:
            return ()
        return (self.private_ip, *self.secondary_private_ips)


@dataclass(frozen=True)
class KeyPair:
    """An EC2 key pair: its public key is authorized on the instances launched with it."""

    name: str
    public_key: str  # one OpenSSH public key line


@dataclass(frozen=True)
class ElasticIp:
    """An elastic IP declared as an object (`elastic_ips:`): allocated, and associated with
    at most one instance, whose auto-assigned public IP it then replaces (ref 9.4, 9.13)."""

    name: str
    allocation_id: str  # eipalloc-…
    address: IPv4Address
    instance: str | None  # Instance.name it is associated with; None: allocated only
    network_interface: str | None = None  # the secondary ENI's name, when it is on one (9.20)


@dataclass(frozen=True)
class Instance:
    name: str
    id: str  # i-…
    eni: Eni
    services: tuple[Service, ...]
    state: Literal["running", "stopped"]
    user_data: str | None = None  # a script run once at first launch (services.user_data)
    key_name: str | None = None  # KeyPair.name: its public key may log in as well (ref 9.12)

    def server(self, kind: str) -> Service | None:
        return next((s for s in self.services if s.kind == kind), None)

    @property
    def subnet(self) -> str:
        return self.eni.subnet

    @property
    def private_ip(self) -> IPv4Address | None:
        return self.eni.private_ip

    @property
    def public_ip(self) -> IPv4Address | None:
        return self.eni.public_ip

    @property
    def ipv6_address(self) -> IPv6Address | None:
        return self.eni.ipv6_address


@dataclass(frozen=True)
class NatGateway:
    name: str
    id: str  # nat-…
    eni: Eni  # public_ip = its elastic IP
    idle_timeout: int = 350  # seconds an idle TCP mapping lives (ref 6.12)

    @property
    def subnet(self) -> str:
        return self.eni.subnet


@dataclass(frozen=True)
class EgressOnlyInternetGateway:
    """Outbound-only IPv6 to the internet, stateful: the IPv6 NAT-gateway role without
    translation (ref 16.5)."""

    name: str
    id: str  # eigw-…
    vpc: str


@dataclass(frozen=True)
class InternetHost:
    name: str
    ip: IPv4Address
    services: tuple[Service, ...]
    ipv6: IPv6Address | None = None  # given, or picked when a VPC has IPv6
    aws_service: str | None = None  # an emulated AWS service (model.aws_services), not declared


@dataclass(frozen=True)
class Expectation:
    source: str  # `from`: an instance or internet host name
    destination: str  # `to`: an instance, host, NAT gateway name, or an IPv4 address
    protocol: Literal["tcp", "udp", "icmp"]
    port: int | None  # None for icmp
    result: Literal["reachable", "blocked"]
    reason: str | None = None
    seen_source: str | None = None  # an address, "nat" or "public_ip"
    source_port: int | None = None
    pos: Pos | None = None
    size: int | None = None  # tcp only: a real download of this many bytes (probe.transfer)
    family: Literal[4, 6] = 4  # 6: to the destination's IPv6 address


@dataclass(frozen=True)
class CommandCheck:
    """An expectation run as a real command (`run:`) inside an instance or internet host,
    judged by its exit status and output (model.validate_checks, probe.command)."""

    source: str  # `from`
    command: str  # for /bin/sh -c, with {private_ip:NAME} and {public_ip:NAME} filled in
    exit: int | Literal["nonzero"] = 0
    output: str | None = None  # must appear in what the command printed
    timeout: float = 10.0
    pos: Pos | None = None


@dataclass(frozen=True)
class PrefixListEntry:
    cidr: IPv4Network | IPv6Network
    description: str | None = None


@dataclass(frozen=True)
class ManagedPrefixList:
    """A customer-managed prefix list (ref 19.1): a named set of CIDRs of one family that
    security group rules and routes reference as a whole."""

    name: str  # the scenario's key
    id: str  # pl-…
    prefix_list_name: str  # PrefixListName
    address_family: Literal["IPv4", "IPv6"]
    max_entries: int  # what a reference counts toward quotas (19.2)
    entries: tuple[PrefixListEntry, ...]

    def holds(self, address: IPv4Address | IPv6Address) -> bool:
        """Whether an address lies in one of the entries (of its own family)."""
        return any(address.version == e.cidr.version and address in e.cidr for e in self.entries)


@dataclass(frozen=True)
class DhcpOptions:
    """A DHCP options set (ref 10.20): what instances of the VPCs associated with it learn
    by DHCP. AmazonProvidedDNS stands for the VPC's resolver at base+2 (10.2)."""

    name: str
    id: str  # dopt-…
    domain_name: str | None
    domain_name_servers: tuple[str, ...]  # IPv4 addresses or AmazonProvidedDNS
    ntp_servers: tuple[IPv4Address, ...] = ()
    netbios_name_servers: tuple[IPv4Address, ...] = ()
    netbios_node_type: int | None = None


@dataclass(frozen=True)
class FlowLog:
    """A VPC Flow Log (ref 12.1): which ENIs it covers, what it keeps, its record format."""

    name: str
    id: str  # fl-…
    resource_kind: Literal["vpc", "subnet", "instance", "nat_gateway"]
    resource: str  # the object's name
    traffic_type: Literal["ACCEPT", "REJECT", "ALL"]
    max_aggregation_interval: int  # seconds; AWS offers 60 and 600 (the default)
    log_format: tuple[str, ...]  # field names in order; the version-2 default (ref 12.2)


@dataclass(frozen=True)
class Model:
    """A whole resolved scenario. Dicts keep the scenario's order."""

    name: str
    region: str
    source: str  # the scenario file path as given
    vpcs: dict[str, Vpc]
    internet_gateways: dict[str, InternetGateway]
    subnets: dict[str, Subnet]
    route_tables: dict[str, RouteTable]
    security_groups: dict[str, SecurityGroup]  # keyed by SecurityGroup.id
    network_acls: dict[str, NetworkAcl]
    instances: dict[str, Instance]
    nat_gateways: dict[str, NatGateway]
    public_pool: IPv4Network
    internet_hosts: dict[str, InternetHost]
    expectations: tuple[Expectation, ...] = field(default_factory=tuple)
    key_pairs: dict[str, KeyPair] = field(default_factory=dict)
    command_checks: tuple[CommandCheck, ...] = ()  # expectations with `run:`
    flow_logs: tuple[FlowLog, ...] = ()
    vpc_peering_connections: dict[str, VpcPeeringConnection] = field(default_factory=dict)
    elastic_ips: dict[str, ElasticIp] = field(default_factory=dict)  # declared ones only
    egress_only_internet_gateways: dict[str, EgressOnlyInternetGateway] = field(
        default_factory=dict
    )
    prefix_lists: dict[str, ManagedPrefixList] = field(default_factory=dict)
    dhcp_options: dict[str, DhcpOptions] = field(default_factory=dict)
    transit_gateways: dict[str, TransitGateway] = field(default_factory=dict)
    transit_gateway_attachments: dict[str, TransitGatewayVpcAttachment] = field(
        default_factory=dict
    )
    transit_gateway_route_tables: dict[str, TransitGatewayRouteTable] = field(default_factory=dict)
    vpc_endpoints: dict[str, VpcEndpoint] = field(default_factory=dict)
    # Secondary ENIs attached to instances, by their `network_interfaces:` name (ref 9.20).
    network_interfaces: dict[str, Eni] = field(default_factory=dict)

    def enis(self) -> list[Eni]:
        """Every ENI: instances' primary ones, NAT gateways', secondary ENIs, then interface
        endpoints' ENIs, each in scenario order."""
        return (
            [i.eni for i in self.instances.values()]
            + [n.eni for n in self.nat_gateways.values()]
            + list(self.network_interfaces.values())
            + [e for ep in self.vpc_endpoints.values() for e in ep.network_interfaces]
        )

    def enis_of(self, instance: str) -> list[Eni]:
        """An instance's ENIs by device index, its primary (0) first (ref 9.20). Only its
        own primary and the secondary ENIs can be an instance's, so the others are not
        scanned: render asks this of every instance (3,000 instances took 0.8 s)."""
        inst = self.instances.get(instance)
        primary = [inst.eni] if inst is not None else []
        return sorted(
            (e for e in [*primary, *self.network_interfaces.values()]
             if e.owner_kind == "instance" and e.owner == instance),
            key=lambda e: e.device_index,
        )  # fmt: skip

    def enis_in(self, subnet: str) -> list[Eni]:
        return sorted((e for e in self.enis() if e.subnet == subnet), key=lambda e: e.port)

    def igw_of(self, vpc: str) -> InternetGateway | None:
        return next((g for g in self.internet_gateways.values() if g.vpc == vpc), None)

    def peering_between(self, a: str, b: str) -> VpcPeeringConnection | None:
        """The active peering connection between VPCs a and b, if any (ref 1.10)."""
        return next(
            (
                p
                for p in self.vpc_peering_connections.values()
                if p.active and {p.requester, p.accepter} == {a, b}
            ),
            None,
        )

    def attachment_of(self, vpc: str, tgw: str) -> TransitGatewayVpcAttachment | None:
        """The VPC's attachment to transit gateway `tgw` (one at most, ref 18.2)."""
        return next(
            (
                a
                for a in self.transit_gateway_attachments.values()
                if a.vpc == vpc and a.transit_gateway == tgw
            ),
            None,
        )

    def transit_gateway_between(self, a: str, b: str) -> TransitGateway | None:
        """A transit gateway both VPCs are attached to, if any (ref 18.1): they may then
        reach each other, as far as its route tables say."""
        return next(
            (
                t
                for t in self.transit_gateways.values()
                if self.attachment_of(a, t.name) and self.attachment_of(b, t.name)
            ),
            None,
        )

    def group(self, vpc: str, name: str) -> SecurityGroup | None:
        """The security group called `name` in `vpc` (names are unique per VPC, ref 7.8)."""
        return next(
            (g for g in self.security_groups.values() if g.vpc == vpc and g.name == name), None
        )
