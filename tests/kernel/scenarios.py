"""Small scenario texts the kernel tests share: one VPC, a public and a private subnet."""

from __future__ import annotations

BASE = """
name: {name}
region: ap-northeast-1
vpcs:
  main: {{cidr: 172.30.0.0/16}}
internet_gateways:
  igw: {{vpc: main}}
subnets:
  public: {{vpc: main, cidr: 172.30.0.0/24, public_ip_on_launch: true, route_table: public{public_extra}}}
  private: {{vpc: main, cidr: 172.30.1.0/24, route_table: private{private_extra}}}
route_tables:
  public:
    vpc: main
    routes:
{public_routes}
  private:
    vpc: main
    routes:
{private_routes}
security_groups:
  open:
    vpc: main
    ingress:
      - {{protocol: all, cidr: 0.0.0.0/0}}
{groups}
network_acls:
{acls}
instances:
  web: {{subnet: public, private_ip: 172.30.0.10, security_groups: [{web_groups}]{web_extra}}}
  app: {{subnet: public, private_ip: 172.30.0.11, security_groups: [{app_groups}], public_ip: false}}
  db: {{subnet: private, private_ip: 172.30.1.10, security_groups: [{db_groups}]{db_extra}}}
{more_instances}
internet:
  hosts:
    client: {{ip: 198.51.100.10}}
    repo: {{ip: 198.51.100.20}}
"""

DEFAULTS = dict(
    name="kt",
    public_extra="",
    private_extra="",
    public_routes="      - {destination: 0.0.0.0/0, internet_gateway: igw}",
    private_routes="      []",
    groups="",
    acls="  {}",
    web_groups="open",
    app_groups="open",
    db_groups="open",
    web_extra="",
    db_extra="",
    more_instances="",
)


def vpc(**changes: str) -> str:
    """The base scenario with some of its parts replaced (see DEFAULTS for the names)."""
    unknown = set(changes) - set(DEFAULTS)
    assert not unknown, unknown
    return BASE.format(**{**DEFAULTS, **changes})
