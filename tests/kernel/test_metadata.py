"""The instance metadata service at 169.254.169.254, with real packets (ref 7.11, 10.4,
10.6): each instance reads its own data only, with the IMDSv2 token step."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pytest

from netemu.driver import state as st
from netemu.render import services
from netemu.services import config as cfg
from netemu.testing import Running, running_text

NAME = "kimds"
SCENARIO = """
name: kimds
region: ap-northeast-1
vpcs:
  main: {cidr: 172.30.0.0/16, dns_hostnames: true}
internet_gateways:
  igw: {vpc: main}
subnets:
  public: {vpc: main, cidr: 172.30.0.0/24, public_ip_on_launch: true, route_table: public}
  private: {vpc: main, cidr: 172.30.1.0/24}
  locked: {vpc: main, cidr: 172.30.2.0/24, network_acl: closed}
route_tables:
  public:
    vpc: main
    routes: [{destination: 0.0.0.0/0, internet_gateway: igw}]
security_groups:
  silent: {vpc: main, ingress: [], egress: []}
network_acls:
  closed: {vpc: main, ingress: [], egress: []}   # only the implicit deny-all
instances:
  web: {subnet: public, private_ip: 172.30.0.10}
  app: {subnet: public, private_ip: 172.30.0.11, public_ip: false}
  db: {subnet: private, private_ip: 172.30.1.10}
  vault: {subnet: locked, private_ip: 172.30.2.10, security_groups: [silent]}
internet:
  hosts:
    client: {ip: 198.51.100.10}
"""
IMDS = "http://169.254.169.254"
TTL = "X-aws-ec2-metadata-token-ttl-seconds: 60"

# Captures the token answer and a later GET answer on eth0 and prints the IP TTL of each.
TTL_PROBE = """
import http.client, socket
cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
cap.bind(("eth0", 0x0800))
cap.settimeout(0.3)
def ask(method, path, headers):
    c = http.client.HTTPConnection("169.254.169.254", 80, timeout=3)
    c.request(method, path, headers=headers)
    body = c.getresponse().read().decode()
    c.close()
    return body
token = ask("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
ask("GET", "/latest/meta-data/instance-id", {"X-aws-ec2-metadata-token": token})
imds = socket.inet_aton("169.254.169.254")
ttls = []
while True:
    try:
        data, addr = cap.recvfrom(65535)
    except socket.timeout:
        break
    if data[12:16] == imds and b"HTTP/1.1 200" in data:
        ttls.append(data[8])
print(*ttls)
"""


@pytest.fixture(scope="module")
def s() -> Iterator[Running]:
    with running_text(SCENARIO, filename=f"{NAME}.yaml") as r:
        yield r


def curl(s: Running, who: str, *args: str) -> tuple[int, str]:
    """(HTTP status, body) of one request from inside `who`; status 0 if none came."""
    out = s.exec(who, "curl", "-sS", "--max-time", "2", "-w", "\n%{http_code}", *args)
    body, _, status = out.stdout.rpartition("\n")
    return int(status or 0), body


def token(s: Running, who: str) -> str:
    status, body = curl(s, who, "-X", "PUT", "-H", TTL, f"{IMDS}/latest/api/token")
    assert status == 200, body
    return body


def meta(s: Running, who: str, item: str, tok: str | None = None) -> tuple[int, str]:
    tok = token(s, who) if tok is None else tok
    return curl(s, who, "-H", f"X-aws-ec2-metadata-token: {tok}", f"{IMDS}/latest/meta-data/{item}")


@pytest.mark.parametrize("name", ["web", "app", "db"])
def test_each_instance_reads_its_own_metadata(s: Running, name: str) -> None:
    """10.6: local-ipv4, public-ipv4, mac, instance-id and host names of the caller."""
    inst = s.model.instances[name]
    tok = token(s, name)
    assert meta(s, name, "local-ipv4", tok) == (200, str(inst.private_ip))
    assert meta(s, name, "mac", tok) == (200, inst.eni.mac)
    assert meta(s, name, "instance-id", tok) == (200, inst.id)
    dashed = str(inst.private_ip).replace(".", "-")
    hostname = f"ip-{dashed}.ap-northeast-1.compute.internal"
    assert meta(s, name, "hostname", tok) == (200, hostname)
    assert meta(s, name, "local-hostname", tok) == (200, hostname)
    assert meta(s, name, "placement/availability-zone", tok) == (200, "ap-northeast-1a")
    if inst.public_ip is None:
        assert meta(s, name, "public-ipv4", tok)[0] == 404
    else:
        assert meta(s, name, "public-ipv4", tok) == (200, str(inst.public_ip))


def test_listing_names_what_the_instance_has(s: Running) -> None:
    status, body = meta(s, "web", "")
    assert status == 200
    assert {"hostname", "instance-id", "local-ipv4", "mac", "placement/", "public-ipv4"} <= set(
        body.split("\n")
    )
    assert "public-ipv4" not in meta(s, "app", "")[1].split("\n")


def test_imdsv1_request_without_token_is_refused(s: Running) -> None:
    """HttpTokens=required (the default of new instances on recent AMIs): 401."""
    assert curl(s, "web", f"{IMDS}/latest/meta-data/local-ipv4")[0] == 401
    status, _ = curl(s, "web", "-H", "X-aws-ec2-metadata-token: forged", f"{IMDS}/latest/")
    assert status == 401


def test_token_of_one_instance_is_refused_to_another(s: Running) -> None:
    """Tokens are bound to the instance that asked, even in the same subnet."""
    tok = token(s, "web")
    assert meta(s, "app", "local-ipv4", tok)[0] == 401
    assert meta(s, "web", "local-ipv4", tok) == (200, "172.30.0.10")


def test_token_request_needs_a_ttl(s: Running) -> None:
    assert curl(s, "web", "-X", "PUT", f"{IMDS}/latest/api/token")[0] == 400


def test_token_answer_leaves_with_ip_ttl_1(s: Running) -> None:
    """10.6: the PUT answer has hop limit 1 (HttpPutResponseHopLimit), later answers the
    usual TTL."""
    out = s.exec("web", "python3", "-c", TTL_PROBE)
    assert out.stdout.split() == ["1", "64"], out.stderr


def test_metadata_ignores_security_groups_and_network_acls(s: Running) -> None:
    """7.11: an instance whose group allows nothing out, in a subnet whose ACL denies
    everything, still reaches the metadata service."""
    assert meta(s, "vault", "local-ipv4") == (200, "172.30.2.10")


def test_metadata_is_not_reachable_from_the_internet(s: Running) -> None:
    assert curl(s, "client", "-X", "PUT", "-H", TTL, f"{IMDS}/latest/api/token")[0] == 0


def test_new_public_ip_shows_without_restart(s: Running) -> None:
    """9.3: a public IP can change (stop/start); rewriting the metadata document is
    enough, the service re-reads it at the next request."""
    web = s.model.instances["web"]
    moved = dataclasses.replace(web, eni=dataclasses.replace(web.eni, public_ip=None))
    model = dataclasses.replace(s.model, instances={**s.model.instances, "web": moved})
    path = os.path.join(st.state_dir(NAME), cfg.METADATA)
    try:
        cfg.write_atomic(path, services.metadata_document(model))
        assert meta(s, "web", "public-ipv4")[0] == 404
    finally:
        cfg.write_atomic(path, services.metadata_document(s.model))
    assert meta(s, "web", "public-ipv4") == (200, str(web.public_ip))
