"""Rendering of services, sshd and instance metadata (scenario-format.md 1 services; ref
10.4, 10.6), and the metadata service's answers, without a kernel."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from netemu import cli
from netemu.errors import UsageError
from netemu.model import load_model_text
from netemu.model.types import Model
from netemu.render import render
from netemu.render import services as rs
from netemu.render.plan import Address, File, Process
from netemu.services import config as cfg
from netemu.services import privsep, ssh_client
from netemu.services.httpd import Peer, Request
from netemu.services.metadata import Metadata, lookup

SCENARIO = """
name: svc
region: {region}
vpcs:
  main: {{cidr: 172.30.0.0/16, dns_hostnames: true}}
internet_gateways:
  igw: {{vpc: main}}
subnets:
  public: {{vpc: main, cidr: 172.30.0.0/24, public_ip_on_launch: true, route_table: public}}
  private: {{vpc: main, cidr: 172.30.1.0/24}}
  empty: {{vpc: main, cidr: 172.30.2.0/24}}
route_tables:
  public:
    vpc: main
    routes: [{{destination: 0.0.0.0/0, internet_gateway: igw}}]
instances:
  web: {{subnet: public, private_ip: 172.30.0.10, services: [ssh, http, "tcp:7000", "udp:7001"]}}
  db: {{subnet: private, private_ip: 172.30.1.10, services: {db_services}}}
internet:
  hosts:
    client: {{ip: 198.51.100.10}}
    repo: {{ip: 198.51.100.20, services: [http]}}
"""


def _model(region: str = "ap-northeast-1", db_services: str = "[ssh]") -> Model:
    text = SCENARIO.format(region=region, db_services=db_services)
    model, _ = load_model_text(textwrap.dedent(text).lstrip("\n"))
    return model


def _parts(model: Model) -> tuple[list[Address], dict[str, File], list[Process]]:
    addresses, files, processes = rs.render(model)
    return addresses, {f.path: f for f in files}, processes


def _tree(model: Model, name: str) -> dict[str, object]:
    tree: dict[str, object] = rs.metadata_tree(model, model.instances[name])["meta-data"]
    return tree


def test_one_daemon_per_scenario_serves_every_listener() -> None:
    """One process for all http/tcp/udp services and metadata, not one per instance."""
    model = _model()
    _, files, processes = _parts(model)
    daemons = [p for p in processes if p.argv[1:3] == ("-m", "netemu.services")]
    assert len(daemons) == 1
    (daemon,) = daemons
    assert daemon.ns == "ne-svc-inet"
    assert daemon.ready_file == cfg.READY and not daemon.wait
    assert daemon.argv[-1] == "{state}/" + cfg.CONFIG
    config = cfg.Config.from_json(files[cfg.CONFIG].content)
    got = {(x.ns, x.kind, x.port, x.address) for x in config.listeners}
    assert got == {
        ("ne-svc-i-web", "http", 80, "0.0.0.0"),
        ("ne-svc-i-web", "tcp", 7000, "0.0.0.0"),
        ("ne-svc-i-web", "udp", 7001, "0.0.0.0"),
        ("ne-svc-h-repo", "http", 80, "0.0.0.0"),
        ("ne-svc-s-public", "metadata", 80, "169.254.169.254"),
        ("ne-svc-s-private", "metadata", 80, "169.254.169.254"),
    }
    assert config.http_tokens == "required"


def test_config_survives_json() -> None:
    config = cfg.Config("x", (cfg.Listener("ns", "web", "udp", 53),), "optional")
    assert cfg.Config.from_json(config.to_json()) == config


def test_metadata_address_on_lo_of_each_subnet_with_instances() -> None:
    """10.6: 169.254.169.254 answers in the instance's own subnet namespace; a subnet
    without instances needs none."""
    addresses, _, _ = _parts(_model())
    assert addresses == [
        Address("ne-svc-s-public", "lo", "169.254.169.254/32"),
        Address("ne-svc-s-private", "lo", "169.254.169.254/32"),
    ]


def test_one_sshd_per_owner_listing_ssh_after_its_keys() -> None:
    """Real sshd per instance or host with `ssh`; the keys are made by an earlier task."""
    _, files, processes = _parts(_model())
    sshds = [p for p in processes if p.argv[0] == cfg.SSHD]
    assert [p.ns for p in sshds] == ["ne-svc-i-web", "ne-svc-i-db"]
    (keys,) = [p for p in processes if "netemu.services.sshkeys" in p.argv]
    assert keys.wait and all(keys.phase < p.phase for p in sshds)
    web = sshds[0]
    assert "-D" in web.argv and "-e" in web.argv
    assert web.argv[web.argv.index("-f") + 1] == "{state}/" + cfg.SSHD_CONFIG
    assert "AuthorizedKeysFile={state}/ssh/id_ed25519.pub" in web.argv
    assert web.ready_file == "ssh/i-web.pid" and f"PidFile={{state}}/{web.ready_file}" in web.argv
    conf = files[cfg.SSHD_CONFIG].content
    assert "PermitRootLogin prohibit-password" in conf
    assert "UsePAM no" in conf and "PasswordAuthentication no" in conf


def test_no_ssh_no_keys_and_no_sshd() -> None:
    text = SCENARIO.format(region="ap-northeast-1", db_services="[]").replace("ssh, ", "")
    model, _ = load_model_text(textwrap.dedent(text).lstrip("\n"))
    _, files, processes = _parts(model)
    assert cfg.SSHD_CONFIG not in files
    assert not [p for p in processes if p.argv[0] == cfg.SSHD or "sshkeys" in " ".join(p.argv)]


def test_plan_includes_services() -> None:
    """render() adds the services to the rest of the plan."""
    plan = render(_model())
    assert any(p.name == "services" for p in plan.processes)
    assert Address("ne-svc-s-public", "lo", "169.254.169.254/32") in plan.addresses


def test_metadata_reports_the_instance_itself() -> None:
    """10.6: local-ipv4, public-ipv4, mac, instance-id, hostname, placement."""
    model = _model()
    web, tree = model.instances["web"], _tree(model, "web")
    assert tree["local-ipv4"] == "172.30.0.10"
    assert tree["public-ipv4"] == str(web.public_ip)
    assert tree["mac"] == web.eni.mac
    assert tree["instance-id"] == web.id
    assert tree["hostname"] == "ip-172-30-0-10.ap-northeast-1.compute.internal"
    assert tree["local-hostname"] == tree["hostname"]
    assert tree["public-hostname"] == "ec2-203-0-113-1.ap-northeast-1.compute.amazonaws.com"
    assert tree["placement"] == {"availability-zone": "ap-northeast-1a", "region": "ap-northeast-1"}


def test_metadata_has_no_public_ipv4_without_public_ip() -> None:
    """10.6: an instance without a public address has no public-ipv4 (404)."""
    tree = _tree(_model(), "db")
    assert "public-ipv4" not in tree and "public-hostname" not in tree
    assert lookup({"meta-data": tree}, "/latest/meta-data/public-ipv4").status == 404


def test_hostname_in_us_east_1_is_ec2_internal() -> None:
    """10.4: `ip-a-b-c-d.ec2.internal` in us-east-1."""
    assert _tree(_model("us-east-1"), "web")["hostname"] == "ip-172-30-0-10.ec2.internal"


def test_metadata_document_keys_instances_by_subnet_and_address() -> None:
    model = _model()
    doc = json.loads(rs.metadata_document(model))
    assert set(doc["subnets"]) == {"ne-svc-s-public", "ne-svc-s-private"}
    assert doc["subnets"]["ne-svc-s-private"]["172.30.1.10"]["meta-data"]["instance-id"] == (
        model.instances["db"].id
    )


# -- the metadata service's answers ---------------------------------------------------------


@pytest.fixture
def imds(tmp_path: Path) -> Metadata:
    path = tmp_path / "metadata.json"
    path.write_text(rs.metadata_document(_model()))
    return Metadata(str(path))


def _req(method: str, path: str, **headers: str) -> Request:
    return Request(
        method, path, "HTTP/1.1", {k.lower().replace("_", "-"): v for k, v in headers.items()}
    )


WEB = ("ne-svc-s-public", Peer("172.30.0.10", 40000))
DB = ("ne-svc-s-private", Peer("172.30.1.10", 40000))


def _token(imds: Metadata, who: tuple[str, Peer], ttl: str = "60", now: float = 0.0) -> str:
    ns, peer = who
    put = _req("PUT", "/latest/api/token", x_aws_ec2_metadata_token_ttl_seconds=ttl)
    resp = imds.handle(ns, put, peer, now=now)
    assert resp.status == 200 and resp.ip_ttl == 1
    return resp.body


def test_imdsv1_request_is_refused(imds: Metadata) -> None:
    """HttpTokens=required: a GET without a token gets 401."""
    ns, peer = WEB
    assert imds.handle(ns, _req("GET", "/latest/meta-data/local-ipv4"), peer).status == 401


def test_token_admits_its_own_instance_only(imds: Metadata) -> None:
    token = _token(imds, WEB)
    get = _req("GET", "/latest/meta-data/local-ipv4", x_aws_ec2_metadata_token=token)
    assert imds.handle(WEB[0], get, WEB[1], now=1).body == "172.30.0.10"
    assert imds.handle(DB[0], get, DB[1], now=1).status == 401


def test_token_expires_after_its_ttl(imds: Metadata) -> None:
    token = _token(imds, WEB, ttl="10", now=100.0)
    get = _req("GET", "/latest/meta-data/mac", x_aws_ec2_metadata_token=token)
    assert imds.handle(WEB[0], get, WEB[1], now=109.0).status == 200
    assert imds.handle(WEB[0], get, WEB[1], now=110.0).status == 401


@pytest.mark.parametrize("ttl", ["", "0", "21601", "x"])
def test_token_ttl_must_be_1_to_21600(imds: Metadata, ttl: str) -> None:
    put = _req("PUT", "/latest/api/token", x_aws_ec2_metadata_token_ttl_seconds=ttl)
    assert imds.handle(WEB[0], put, WEB[1]).status == 400


def test_token_request_through_a_proxy_is_refused(imds: Metadata) -> None:
    headers = {"x_aws_ec2_metadata_token_ttl_seconds": "5", "x_forwarded_for": "10.0.0.1"}
    put = _req("PUT", "/latest/api/token", **headers)
    assert imds.handle(WEB[0], put, WEB[1]).status == 403


def test_unknown_caller_is_refused(imds: Metadata) -> None:
    assert imds.handle("ne-svc-s-public", _req("GET", "/"), Peer("172.30.0.99", 1)).status == 403


def test_listing_marks_directories(imds: Metadata) -> None:
    token = _token(imds, WEB)
    get = _req("GET", "/latest/meta-data/", x_aws_ec2_metadata_token=token)
    listing = imds.handle(WEB[0], get, WEB[1], now=1).body.split("\n")
    assert {"instance-id", "local-ipv4", "mac", "placement/", "public-ipv4"} <= set(listing)


def test_metadata_follows_a_rewritten_document(imds: Metadata, tmp_path: Path) -> None:
    """A changed public IP (stop/start) shows at the next request: nothing is cached."""
    token = _token(imds, WEB)
    get = _req("GET", "/latest/meta-data/public-ipv4", x_aws_ec2_metadata_token=token)
    before = imds.handle(WEB[0], get, WEB[1], now=1).body
    doc = json.loads((tmp_path / "metadata.json").read_text())
    doc["subnets"]["ne-svc-s-public"]["172.30.0.10"]["meta-data"]["public-ipv4"] = "203.0.113.99"
    cfg.write_atomic(str(tmp_path / "metadata.json"), json.dumps(doc))
    after = imds.handle(WEB[0], get, WEB[1], now=2).body
    assert (before, after) == ("203.0.113.1", "203.0.113.99")


# -- netemu ssh -----------------------------------------------------------------------------


def _state_with_key(tmp_path: Path) -> str:
    (tmp_path / "ssh").mkdir()
    (tmp_path / cfg.KEY_PAIR).write_text("key")
    return str(tmp_path)


def test_ssh_through_bastion_uses_its_public_ip_then_the_private_ip(tmp_path: Path) -> None:
    """The bastion flow: -J to web's public IP from the internet, then db's private IP."""
    model = _model()
    ssh = ssh_client.command(model, _state_with_key(tmp_path), "db", jump="web", remote=["id"])
    assert (ssh.source, ssh.ns) == ("client", "ne-svc-h-client")
    argv = list(ssh.argv)
    assert argv[argv.index("-J") + 1] == f"root@{model.instances['web'].public_ip}"
    assert argv[-3:] == ["--", "root@172.30.1.10", "id"]
    assert argv[argv.index("-F") + 1] == f"{tmp_path}/{cfg.SSH_CONFIG}"


def test_ssh_direct_to_public_instance_uses_its_public_ip(tmp_path: Path) -> None:
    model, state = _model(), _state_with_key(tmp_path)
    ssh = ssh_client.command(model, state, "web")
    assert ssh.argv[-1] == f"root@{model.instances['web'].public_ip}"
    inside = ssh_client.command(model, state, "web", from_="db")
    assert (inside.ns, inside.argv[-1]) == ("ne-svc-i-db", "root@172.30.0.10")


def test_ssh_without_any_ssh_service_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        ssh_client.command(_model(), str(tmp_path), "web")


@pytest.mark.parametrize(
    "argv",
    [
        ["ssh", "-s", "x", "--jump", "web", "db", "--", "ls", "-l"],
        ["ssh", "db", "-s", "x", "--jump", "web", "--", "ls", "-l"],
        ["ssh", "-s", "x", "db", "--jump", "web", "ls", "-l"],
    ],
)
def test_ssh_options_may_follow_the_target(argv: list[str]) -> None:
    opts = cli._ssh_options(cli.build_parser().parse_args(argv))
    assert (opts.scenario, opts.target, opts.jump, opts.source) == ("x", "db", "web", None)
    assert opts.command == ["ls", "-l"]


# -- /run/sshd ------------------------------------------------------------------------------


@pytest.fixture
def privsep_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "sshd"
    monkeypatch.setattr(privsep, "PRIVSEP_DIR", str(where))
    monkeypatch.setattr(privsep, "MARKER", str(where / "created-by-netemu"))
    monkeypatch.setattr(privsep, "_sshd_running", lambda: False)
    return where


def test_privsep_dir_made_by_netemu_is_removed_again(privsep_dir: Path) -> None:
    privsep.ensure()
    assert privsep_dir.is_dir() and (privsep_dir.stat().st_mode & 0o777) == 0o755
    privsep.release()
    assert not privsep_dir.exists()


def test_privsep_dir_of_the_host_is_left_alone(privsep_dir: Path) -> None:
    privsep_dir.mkdir()
    privsep.ensure()
    privsep.release()
    assert privsep_dir.is_dir() and list(privsep_dir.iterdir()) == []


def test_privsep_dir_stays_while_an_sshd_runs(
    privsep_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    privsep.ensure()
    monkeypatch.setattr(privsep, "_sshd_running", lambda: True)
    privsep.release(wait=0.05)
    assert privsep_dir.is_dir()
