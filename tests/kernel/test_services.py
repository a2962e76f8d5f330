"""Services inside instances and internet hosts, real sshd and `netemu ssh`, with real
packets (scenario-format.md 1 services and 4; ref 5.3, 6.7, 6.8; issue 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from netemu.driver import state as st
from netemu.services import privsep
from netemu.testing import Running, running_text

NAME = "ksvc"
LEAKCHECK = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "tools", "leakcheck"
)
SCENARIO = """
name: {name}
region: ap-northeast-1
vpcs:
  main: {{cidr: 172.30.0.0/16}}
internet_gateways:
  igw: {{vpc: main}}
subnets:
  public: {{vpc: main, cidr: 172.30.0.0/24, public_ip_on_launch: true, route_table: public}}
  private: {{vpc: main, cidr: 172.30.1.0/24, route_table: private}}
route_tables:
  public:
    vpc: main
    routes: [{{destination: 0.0.0.0/0, internet_gateway: igw}}]
  private:
    vpc: main
    routes: [{{destination: 0.0.0.0/0, nat_gateway: nat}}]
nat_gateways:
  nat: {{subnet: public, elastic_ip: auto}}
security_groups:
  web:
    vpc: main
    ingress:
      - {{protocol: tcp, port: 22, cidr: 0.0.0.0/0}}
      - {{protocol: tcp, port: 80, cidr: 0.0.0.0/0}}
      - {{protocol: tcp, port: 7000, cidr: 0.0.0.0/0}}
      - {{protocol: udp, port: 7001, cidr: 0.0.0.0/0}}
instances:
  # Both in the default group, so they talk freely; web also admits the internet.
  web:
    subnet: public
    private_ip: 172.30.0.10
    security_groups: [default, web]
    services: [ssh, http, "tcp:7000", "udp:7001"]
  db: {{subnet: private, private_ip: 172.30.1.10, services: [ssh, "tcp:3306"]}}
internet:
  hosts:
    client: {{ip: 198.51.100.10}}
    repo: {{ip: 198.51.100.20, services: [http]}}
"""

TCP_CLIENT = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
print(s.recv(200).decode(), end="")
"""
UDP_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"hello netemu", (sys.argv[1], int(sys.argv[2])))
data, peer = s.recvfrom(200)
print(data.decode(), peer[0], peer[1])
"""


@pytest.fixture(scope="module")
def s() -> Iterator[Running]:
    with running_text(SCENARIO.format(name=NAME), filename=f"{NAME}.yaml") as r:
        yield r


def _get(s: Running, source: str, address: str) -> dict[str, object]:
    out = s.exec(source, "curl", "-sS", "--max-time", "3", f"http://{address}/index.html")
    assert out.returncode == 0, out.stderr
    body: dict[str, object] = json.loads(out.stdout)
    return body


def netemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_http_reports_the_client_address_it_saw(s: Running) -> None:
    """An internet host reaching a public instance shows its own address (5.3: the IGW
    rewrites only the instance's side)."""
    web = s.model.instances["web"]
    body = _get(s, "client", str(web.public_ip))
    assert body["client"] == "198.51.100.10"
    assert body["server"] == "web" and body["path"] == "/index.html"


def test_http_through_nat_gateway_sees_the_elastic_ip(s: Running) -> None:
    """6.7, 6.8: a private instance's request leaves through the NAT gateway; the server
    sees the elastic IP, with a source port in 1024-65535."""
    body = _get(s, "db", "198.51.100.20")
    assert body["server"] == "repo"
    assert body["client"] == str(s.model.nat_gateways["nat"].eni.public_ip)
    assert isinstance(body["port"], int) and 1024 <= body["port"] <= 65535


def test_http_from_public_instance_shows_its_public_ip(s: Running) -> None:
    """5.3: outbound, the IGW maps the instance's private source to its public IP."""
    body = _get(s, "web", "198.51.100.20")
    assert body["client"] == str(s.model.instances["web"].public_ip)


def test_tcp_listener_answers(s: Running) -> None:
    web = s.model.instances["web"]
    out = s.exec("client", "python3", "-c", TCP_CLIENT, str(web.public_ip), "7000")
    assert out.stdout == "netemu web tcp/7000\n", out.stderr
    inside = s.exec("web", "python3", "-c", TCP_CLIENT, "172.30.1.10", "3306")
    assert inside.stdout == "netemu db tcp/3306\n", inside.stderr


def test_udp_service_echoes_from_its_port(s: Running) -> None:
    web = s.model.instances["web"]
    out = s.exec("client", "python3", "-c", UDP_CLIENT, str(web.public_ip), "7001")
    assert out.stdout.split() == ["hello", "netemu", str(web.public_ip), "7001"], out.stderr


def test_service_port_is_probed_reachable(s: Running) -> None:
    """A probe to a UDP service is answered by the service itself."""
    assert s.probe("client", "web", udp=7001).result == "reachable"
    assert s.probe("client", "web", tcp=22).result == "reachable"


def test_ssh_through_bastion_reaches_private_instance(s: Running) -> None:
    """The bastion flow of issue 4: internet -> web's public IP, then web -> db's private
    IP, with the real ssh client and the scenario's key pair."""
    out = netemu("ssh", "-s", NAME, "db", "--jump", "web", "--", "ip", "-4", "-o", "addr")
    assert out.returncode == 0, out.stderr
    assert "172.30.1.10/24" in out.stdout
    who = netemu("ssh", "-s", NAME, "db", "--jump", "web", "--", "echo", "$SSH_CONNECTION")
    # db sees the bastion's private address: the second hop stays inside the VPC.
    assert who.stdout.split()[:1] == ["172.30.0.10"], who.stderr
    # The login lands in the instance: its own host name and resolver (10.1, 10.4).
    where = netemu(
        "ssh", "-s", NAME, "db", "--jump", "web", "--", "sh", "-c", "hostname; cat /etc/resolv.conf"
    )
    assert where.stdout.splitlines()[0] == "ip-172-30-1-10", where.stderr
    assert "nameserver 172.30.0.2" in where.stdout


def test_ssh_from_internet_to_private_instance_fails(s: Running) -> None:
    """db has no public IP: from the internet its private address is unroutable (5.5)."""
    out = netemu("ssh", "-s", NAME, "db", "--", "true")
    assert out.returncode == 255
    assert "172.30.1.10" in out.stderr


def test_ssh_exit_status_is_the_remote_commands(s: Running) -> None:
    web = netemu("ssh", "-s", NAME, "web", "--from", "client", "--", "exit", "7")
    assert web.returncode == 7, web.stderr


def test_ssh_accepts_only_the_scenario_key(s: Running) -> None:
    """PermitRootLogin prohibit-password, no passwords: without the key pair, no login."""
    web = str(s.model.instances["web"].public_ip)
    out = s.exec(
        "client", "ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "IdentitiesOnly=yes", "-i", "/dev/null", f"root@{web}", "true",
    )  # fmt: skip
    assert out.returncode == 255
    assert "Permission denied" in out.stderr


def test_key_pair_lives_in_the_state_directory(s: Running) -> None:
    """Like an EC2 key pair: made per scenario, the private half readable by root only."""
    ssh_dir = os.path.join(st.state_dir(NAME), "ssh")
    assert os.stat(os.path.join(ssh_dir, "id_ed25519")).st_mode & 0o077 == 0
    with open(os.path.join(ssh_dir, "id_ed25519.pub")) as f:
        assert f.read().startswith("ssh-ed25519 ")


def _our_processes(name: str) -> list[str]:
    marker = f"/run/netemu/{name}/"
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(f"{pid} {cmdline}")
    return found


def test_down_stops_every_service_process() -> None:
    """architecture.md 3: the daemon and every sshd (and its sessions) end at `down`."""
    name = "ksvcdown"
    with running_text(SCENARIO.format(name=name), filename=f"{name}.yaml") as r:
        running = _our_processes(name)
        assert any("netemu.services" in p for p in running)
        assert sum("sshd" in p for p in running) == 2
        session = subprocess.Popen(
            [sys.executable, "-m", "netemu.cli", "ssh", "-s", name, "web", "--", "sleep", "60"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert r.probe("client", "web", tcp=22).result == "reachable"
    session.wait(timeout=10)
    assert _our_processes(name) == []
    if os.path.exists(LEAKCHECK):  # other scenarios may be up: look at this one's lines only
        out = subprocess.run(["bash", LEAKCHECK], capture_output=True, text=True, check=False)
        assert [x for x in out.stdout.splitlines() if f"-{name}-" in x or f"/{name}" in x] == []
    if not st.running():  # the last scenario is gone: /run/sshd too, if netemu made it
        assert not os.path.exists(privsep.MARKER)
