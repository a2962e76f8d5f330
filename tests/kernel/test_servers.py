"""Real MariaDB and nginx inside instances, user data and `netemu logs`, with real clients
(mysql, curl) over real packets (issue 20; scenario-format.md 6; docs/services.md)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from netemu import lifecycle
from netemu.driver import netns, process
from netemu.driver import state as st
from netemu.errors import KernelError
from netemu.render import names
from netemu.render.plan import File, Process
from netemu.services import mariadb, nginx
from netemu.testing import Running, running_text

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
LEAKCHECK = os.path.join(ROOT, "..", "..", "shared", "tools", "leakcheck")
PROGRAMS = (mariadb.MARIADBD, mariadb.INSTALL_DB, mariadb.CLIENT, "/usr/sbin/nginx")
PASSWORD = "k-srv-pass"
SCENARIO = """
name: {name}
region: ap-northeast-1
vpcs:
  main: {{cidr: 172.30.0.0/16, dns_hostnames: true}}
internet_gateways:
  igw: {{vpc: main}}
subnets:
  public: {{vpc: main, cidr: 172.30.0.0/24, public_ip_on_launch: true, route_table: public}}
  private: {{vpc: main, cidr: 172.30.1.0/24}}
route_tables:
  public:
    vpc: main
    routes: [{{destination: 0.0.0.0/0, internet_gateway: igw}}]
security_groups:
  web:
    vpc: main
    ingress: [{{protocol: tcp, port: 80, cidr: 0.0.0.0/0}}]
instances:
  web:
    subnet: public
    private_ip: 172.30.0.10
    security_groups: [default, web]
    services: [{{nginx: {{database: db}}}}]
  db:
    subnet: private
    private_ip: 172.30.1.10
    services: [{{mariadb: {{database: shop, user: app, password: {password}}}}}]
    user_data: |
      echo "user data ran as $(id -un) on $(hostname)"
      mysql -u root shop -e "CREATE TABLE items (id INT); INSERT INTO items VALUES (1), (2);"
internet:
  hosts:
    client: {{ip: 198.51.100.10}}
"""


@pytest.fixture(scope="module", autouse=True)
def servers_installed() -> None:
    """The kernel tests run the real servers: install them the way a user would (`make
    setup WITH=mariadb,nginx`) when they are missing; skip only if that is impossible."""
    if all(shutil.which(p) for p in PROGRAMS):
        return
    setup = os.path.join(ROOT, "scripts", "setup.sh")
    env = {**os.environ, "WITH": "mariadb,nginx"}
    done = subprocess.run(["bash", setup], env=env, capture_output=True, text=True, check=False)
    if not all(shutil.which(p) for p in PROGRAMS):
        pytest.skip(f"mariadb-server/nginx cannot be installed here: {done.stderr.strip()}")


def scenario(name: str) -> str:
    return SCENARIO.format(name=name, password=PASSWORD)


def mysql(s: Running, where: str, sql: str, host: str = "db") -> subprocess.CompletedProcess[str]:
    return s.exec(
        where, "mysql", "-h", host, "-u", "app", f"-p{PASSWORD}", "--connect-timeout", "3",
        "-N", "-B", "-e", sql, "shop",
    )  # fmt: skip


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netemu.cli", *args], capture_output=True, text=True, check=False
    )


def leaks(name: str) -> list[str]:
    if not os.path.exists(LEAKCHECK):
        return []
    out = subprocess.run(["bash", LEAKCHECK], capture_output=True, text=True, check=False)
    return [line for line in out.stdout.splitlines() if name in line]


@pytest.fixture(scope="module")
def s() -> Iterator[Running]:
    with running_text(scenario("ksrv")) as r:
        yield r


def test_web_reaches_mariadb_on_db_by_name_right_after_up(s: Running) -> None:
    """`up` returns once mariadbd accepts connections; `db` resolves through the VPC's
    resolver (ref 10.2; instance names: aws-decisions.md)."""
    done = mysql(s, "web", "SELECT 1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_internet_cannot_reach_mariadb_and_the_probe_says_why(s: Running) -> None:
    """db has no public IP, so the internet gateway has nothing to map (ref 5.2, 5.5)."""
    done = mysql(s, "client", "SELECT 1", host="172.30.1.10")
    assert done.returncode != 0
    result = s.probe("client", "db", tcp=3306)
    assert result.result == "blocked"
    assert result.reason is not None
    assert result.reason.code == "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"


def test_page_reads_the_database_through_the_public_ip(s: Running) -> None:
    """The internet reaches web's nginx at its public IP through the IGW's 1:1 NAT (ref
    5.3); the page is what the app read from db's MariaDB just now."""
    public = s.model.instances["web"].public_ip
    done = s.exec("client", "curl", "-s", "-m", "5", f"http://{public}/")
    assert done.returncode == 0, done.stderr
    assert "server: ip-172-30-1-10, MariaDB" in done.stdout
    assert "table items: 2 rows" in done.stdout


def test_mariadb_listens_on_the_instance_address(s: Running) -> None:
    done = s.exec("db", "ss", "-Hltn", "sport", "= :3306")
    assert done.stdout.split()[3] == "172.30.1.10:3306"


def test_logs_show_user_data_and_the_servers(s: Running) -> None:
    db = cli("logs", "-s", "ksrv", "db")
    assert db.returncode == 0, db.stderr
    assert "user data ran as root on ip-172-30-1-10" in db.stdout
    assert "exited with status 0" in db.stdout
    assert "== mariadb instance:db (" in db.stdout and "ready for connections" in db.stdout
    web = cli("logs", "-s", "ksrv", "web")
    assert "== nginx access (" in web.stdout and "== webapp instance:web (" in web.stdout
    assert cli("logs", "-s", "ksrv", "nobody").returncode == 2


def test_stop_start_keeps_the_data_and_user_data_runs_once() -> None:
    """stop ends db's server by PID and start brings it back on the same data and address
    (ref 9.2: the ENI keeps its private IP; data: aws-decisions.md, EBS-backed)."""
    name = "ksrvss"
    driver = lifecycle.KernelDriver()
    with running_text(scenario(name)) as r:
        assert mysql(r, "web", "INSERT INTO items VALUES (42)").returncode == 0
        pid_file = os.path.join(st.state_dir(name), "instances/db/mariadb/mariadbd.pid")
        with open(pid_file) as f:
            pid = int(f.read())
        lifecycle.set_instance_state(name, "db", "stopped", driver)
        assert not os.path.exists(f"/proc/{pid}")
        assert "mariadbd: Shutdown complete" in cli("logs", "-s", name, "db").stdout
        state = st.load(name)
        assert state is not None and pid not in state.pids
        assert mysql(r, "web", "SELECT 1").returncode != 0
        lifecycle.set_instance_state(name, "db", "running", driver)
        done = mysql(r, "web", "SELECT SUM(id) FROM items")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "45"  # 1 + 2 from user data, once; 42 from before
        log = cli("logs", "-s", name, "db").stdout
        assert log.count("user data ran as root") == 1
        assert "data directory kept" in log
        checked = cli("verify", name)  # the kernel and the processes match the plan again
        assert checked.returncode == 0, checked.stdout
        # Stopping web ends nginx, its workers and the app: nothing runs in web any more.
        lifecycle.set_instance_state(name, "web", "stopped", driver)
        assert process.pids_in([names.instance_ns(name, "web")]) == []
        lifecycle.set_instance_state(name, "web", "running", driver)
        public = lifecycle.running_model(name).instances["web"].public_ip
        page = r.exec("client", "curl", "-s", "-m", "5", f"http://{public}/")
        assert "table items: 3 rows" in page.stdout
    assert leaks(name) == []


def test_server_that_fails_to_start_is_named_with_its_log_and_rolled_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The data directory is made, then mariadbd itself refuses to start: `up` says which
    server, where its log was and how it ended, and removes everything it built."""
    name = "ksrvfail"
    render = mariadb.render

    def broken(*args: Any) -> tuple[list[File], list[Process]]:
        files, (init, server) = render(*args)
        return files, [init, dataclasses.replace(server, argv=(*server.argv, "--no-such-option"))]

    monkeypatch.setattr(mariadb, "render", broken)
    with pytest.raises(KernelError) as caught, running_text(scenario(name)):
        pass
    message = str(caught.value)
    assert "mariadb instance:db exited (" in message
    assert f"/run/netemu/{name}/logs/mariadb_instance_db.log, which ends:" in message
    assert "unknown option '--no-such-option'" in message
    assert st.load(name) is None
    assert netns.list_names(names.scenario_prefix(name)) == []
    assert leaks(name) == []


def test_instance_launched_stopped_gets_its_data_and_user_data_at_first_start() -> None:
    """Written `state: stopped`, db has never run: its servers, data directory and user
    data come with its first `netemu start` (aws-decisions.md, user data)."""
    name = "ksrvls"
    text = scenario(name).replace("    user_data: |", "    state: stopped\n    user_data: |")
    with running_text(text) as r:
        db_dir = os.path.join(st.state_dir(name), "instances", "db")
        assert not os.path.exists(os.path.join(db_dir, "mariadb", "data"))
        assert not os.path.exists(os.path.join(db_dir, "user-data.log"))
        lifecycle.set_instance_state(name, "db", "running", lifecycle.KernelDriver())
        done = mysql(r, "web", "SELECT COUNT(*) FROM items")
        assert (done.returncode, done.stdout.strip()) == (0, "2"), done.stderr
    assert leaks(name) == []


def test_nginx_that_fails_to_start_is_named_and_rolled_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "ksrvngx"
    config = nginx.config
    monkeypatch.setattr(nginx, "config", lambda *a: config(*a) + "no_such_directive on;\n")
    with pytest.raises(KernelError) as caught, running_text(scenario(name)):
        pass
    message = str(caught.value)
    assert "nginx instance:web exited (" in message
    assert 'unknown directive "no_such_directive"' in message
    assert st.load(name) is None
    assert leaks(name) == []


def test_book_scenario_passes_its_probes_and_real_client_expectations() -> None:
    """scenarios/book/webdb-real.yaml as shipped: `netemu test` brings it up, runs the
    probes and the mysql/curl expectations inside their endpoints, and takes it down."""
    done = cli("test", os.path.join(ROOT, "scenarios", "book", "webdb-real.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  internet: curl -s -m 5 http://203.0.113.1/ exits 0" in done.stdout
    assert "webdb-real: 7 passed, 0 failed" in done.stdout
    assert leaks("webdb-real") == []
