"""Real servers (mariadb, nginx) and user data in scenarios: validation with FILE:LINE:COL,
what render plans for them, and the host check naming what to install (issue 20)."""

from __future__ import annotations

import base64
import json
import textwrap

import pytest

from netemu import capacity, lifecycle
from netemu.driver import readiness
from netemu.errors import HostUnsupported
from netemu.model import load_model_text
from netemu.model.types import Model
from netemu.probe import command
from netemu.render import render
from netemu.render.plan import Plan
from netemu.services import logs, user_data
from tests.unit.problems import at, errors, one

HEAD = """
name: usrv
vpcs:
  main: {cidr: 10.0.0.0/16, dns_hostnames: true}
subnets:
  a: {vpc: main, cidr: 10.0.0.0/24}
instances:
"""
DB = '  db: {subnet: a, services: [{mariadb: {database: wp, user: wp, password: "pw!1"}}]}\n'


def model(instances: str) -> Model:
    m, _ = load_model_text(textwrap.dedent(HEAD).lstrip("\n") + instances)
    return m


def by_name(plan: Plan) -> dict[str, object]:
    return {p.name: p for p in plan.processes}


def test_mariadb_and_nginx_with_options_are_accepted() -> None:
    m = model(DB + "  web: {subnet: a, services: [ssh, {nginx: {database: db}}]}\n")
    svc = m.instances["db"].server("mariadb")
    assert svc is not None and svc.port == 3306
    assert svc.setting("database") == "wp" and svc.setting("password") == "pw!1"
    web = m.instances["web"].server("nginx")
    assert web is not None and web.port == 80 and web.setting("database") == "db"


def test_plain_nginx_serves_a_static_page() -> None:
    plan = render(model("  web: {subnet: a, services: [nginx]}\n"))
    names = by_name(plan)
    assert "nginx instance:web" in names and "webapp instance:web" not in names
    conf = next(f for f in plan.files if f.path == "instances/web/nginx/nginx.conf")
    assert "proxy_pass" not in conf.content and "index index.html" in conf.content


def test_mariadb_without_options_is_refused_at_its_position() -> None:
    p = one(HEAD + "  db: {subnet: a, services: [mariadb]}\n")
    assert at(p) == "7:30" and "needs its options" in p.message


def test_mariadb_missing_password_is_refused() -> None:
    p = one(HEAD + "  db: {subnet: a, services: [{mariadb: {database: wp, user: wp}}]}\n")
    assert "needs the key 'password'" in p.message


def test_mariadb_bad_database_name_is_refused_where_it_stands() -> None:
    p = one(
        HEAD + "  db: {subnet: a, services: [{mariadb: {database: a b, user: u, password: p}}]}\n"
    )
    assert at(p) == "7:51" and "database" in p.message


def test_password_with_a_quote_is_refused_without_echoing_it() -> None:
    p = one(
        HEAD
        + '  db: {subnet: a, services: [{mariadb: {database: d, user: u, password: "it\'s"}}]}\n'
    )
    assert "password" in p.message and "it's" not in p.message


def test_unknown_server_option_is_refused_with_a_hint() -> None:
    p = one(HEAD + "  web: {subnet: a, services: [{nginx: {databse: x}}]}\n")
    assert "unknown key 'databse'" in p.message


def test_nginx_database_must_name_an_instance_running_mariadb() -> None:
    p = one(HEAD + DB + "  web: {subnet: a, services: [{nginx: {database: web}}]}\n")
    assert at(p) == "8:50" and "(instances with mariadb: db)" in p.message


def test_nginx_beside_http_is_refused_as_tcp_80_twice() -> None:
    p = one(HEAD + "  web: {subnet: a, services: [http, nginx]}\n")
    assert "tcp port 80 twice" in p.message


def test_servers_run_on_instances_only() -> None:
    found = errors(
        HEAD
        + "  web: {subnet: a}\ninternet:\n  hosts:\n    h: {ip: 198.51.100.5, services: [nginx]}\n"
    )
    assert [p.message for p in found] == ["internet host 'h': nginx runs on instances only"]


def test_user_data_over_16_kb_is_refused() -> None:
    p = one(HEAD + f"  web: {{subnet: a, user_data: {'x' * (16 * 1024 + 1)}}}\n")
    assert "16 KB" in p.message


def test_mariadb_plan_makes_the_datadir_once_then_serves_on_the_private_ip() -> None:
    plan = render(model(DB))
    init, server = by_name(plan)["mariadb-init instance:db"], by_name(plan)["mariadb instance:db"]
    assert init.wait and init.phase < server.phase  # type: ignore[attr-defined]
    assert server.ready_tcp == ("10.0.0.4", 3306)  # type: ignore[attr-defined]
    assert server.ready_file == "instances/db/mariadb/mariadbd.pid"  # type: ignore[attr-defined]
    sql = next(f for f in plan.files if f.path == "instances/db/mariadb/init.sql")
    assert sql.mode == 0o600
    assert "CREATE USER IF NOT EXISTS 'wp'@'%' IDENTIFIED BY 'pw!1'" in sql.content


def test_page_app_reads_the_database_instance_by_its_private_ip() -> None:
    plan = render(model(DB + "  web: {subnet: a, services: [{nginx: {database: db}}]}\n"))
    app = json.loads(next(f for f in plan.files if f.path == "instances/web/webapp.json").content)
    assert (app["host"], app["database"], app["user"]) == ("10.0.0.4", "wp", "wp")


def test_stopped_instance_has_no_servers_and_no_user_data_task() -> None:
    m = model("  db: {subnet: a, state: stopped, user_data: echo hi,"
              ' services: [{mariadb: {database: d, user: u, password: p}}]}\n')  # fmt: skip
    assert not [p for p in render(m).processes if "instance:db" in p.name and "dhcp" not in p.name]


def test_user_data_runs_after_the_servers_with_the_local_socket() -> None:
    m = model(DB.replace("}]}\n", "}], user_data: 'mysql -e \"select 1\"'}\n"))
    task = by_name(render(m))["user-data instance:db"]
    assert task.wait and task.phase == user_data.PHASE and task.endpoint == "db"  # type: ignore[attr-defined]
    assert task.env == (("MYSQL_HOME", "{state}/instances/db/mariadb/client"),)  # type: ignore[attr-defined]


def test_vpc_resolver_answers_instance_names_after_aws_names() -> None:
    plan = render(model(DB))
    hosts = next(f for f in plan.files if f.path == "dns/vpc-main.hosts").content.splitlines()
    assert hosts[0].startswith("10.0.0.4 ip-10-0-0-4.") and hosts[-1] == "10.0.0.4 db"


def test_missing_server_program_says_which_setup_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = render(model(DB + "  web: {subnet: a, services: [{nginx: {database: db}}]}\n"))
    monkeypatch.setattr(
        lifecycle.shutil, "which", lambda p: None if "mariadb" in p or "mysql" in p else p
    )
    with pytest.raises(HostUnsupported) as caught:
        lifecycle.check_programs(plan)
    assert "/usr/sbin/mariadbd" in str(caught.value)
    assert "sudo make setup WITH=mariadb`" in str(caught.value)


def test_run_instances_user_data_decodes_base64() -> None:
    assert user_data.decode(base64.b64encode(b"echo hi\n").decode()) == "echo hi\n"
    with pytest.raises(ValueError):
        user_data.decode("not base64!")


def test_user_data_runs_once_and_keeps_its_output(tmp_path: object) -> None:
    state = str(tmp_path)
    script = tmp_path / "instances" / "web" / "user-data"  # type: ignore[operator]
    script.parent.mkdir(parents=True)
    script.write_text("echo ran >> count\necho to the log\nexit 3\n")
    first = user_data.run_once(state, "web")
    second = user_data.run_once(state, "web")
    assert "exited with status 3" in first and "already ran" in second
    assert (script.parent / "count").read_text() == "ran\n"
    log = (script.parent / "user-data.log").read_text()
    assert "to the log" in log and "exited with status 3" in log


def test_logs_reads_task_sections_of_the_target_only(tmp_path: object) -> None:
    d = tmp_path / "logs"  # type: ignore[operator]
    d.mkdir()
    (d / "tasks.log").write_text(
        "== dhcp-client instance:web: exit 0\nleased\n== dhcp-client instance:db: exit 0\nx\n"
    )
    got = logs.task_output(str(tmp_path), {"dhcp-client instance:web"})
    assert got == [("dhcp-client instance:web", "(exit 0)\nleased")]


def test_capacity_charges_each_mariadb_beyond_a_daemon() -> None:
    m = model(DB)
    assert capacity.cost(m, render(m)).databases == 1
    assert capacity.cost(m, render(m)).memory_kib >= capacity.KIB_PER_MARIADB


def test_nginx_page_app_port_cannot_also_be_a_listed_service() -> None:
    p = one(HEAD + DB + '  web: {subnet: a, services: [{nginx: {database: db}}, "tcp:9081"]}\n')
    assert 'cannot also list "tcp:9081"' in p.message


def test_user_data_still_running_at_the_limit_is_killed_with_its_children(
    tmp_path: object,
) -> None:
    state = str(tmp_path)
    script = tmp_path / "instances" / "web" / "user-data"  # type: ignore[operator]
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\nsleep 30 &\necho $! > child\nsleep 30\n")
    script.chmod(0o700)
    said = user_data.run_once(state, "web", timeout=0.5)
    assert "still running after 0 s" in said or "still running after 1 s" in said
    child = int((script.parent / "child").read_text())
    assert readiness.gone(child, within=2.0)  # SIGKILL takes a moment to land
    assert (script.parent / "user-data.done").exists()


CHECKS = DB + "  web: {subnet: a, public_ip: true, services: [{nginx: {database: db}}]}\nexpect:\n"


def test_run_expectation_is_a_command_check_not_a_probe() -> None:
    m = model(
        CHECKS
        + '  - {from: web, run: "mysql -h db -e \'select 1\'", output: "1"}\n'
        + '  - {from: web, run: "curl http://{public_ip:web}/", exit: nonzero, timeout: 3}\n'
    )
    assert m.expectations == ()
    first, second = m.command_checks
    assert (first.source, first.exit, first.output) == ("web", 0, "1")
    assert (second.exit, second.timeout) == ("nonzero", 3.0)
    assert command.fill(m, second.command) == f"curl http://{m.instances['web'].public_ip}/"


def test_run_expectation_errors_point_at_the_value() -> None:
    found = errors(
        HEAD
        + CHECKS.removeprefix(DB)
        .replace("public_ip: true", "public_ip: false")
        .replace("{nginx: {database: db}}", "nginx")
        + '  - {from: nobody, run: "true"}\n'
        + '  - {from: web, run: "curl {public_ip:web}", exit: maybe}\n'
    )
    messages = [f"{at(p)} {p.message}" for p in found]
    assert any(m.startswith("9:12 ") and "'nobody' is not an instance" in m for m in messages)
    assert any("instance 'web' has no public IP" in m for m in messages)
    assert any("exit must be a status 0-255 or nonzero" in m for m in messages)


def test_command_check_is_judged_by_exit_and_output() -> None:
    m = model(CHECKS + '  - {from: web, run: "true", output: "hello"}\n')
    (check,) = m.command_checks
    assert command.judge(check, "true", 0, "hello world\n").ok
    missing = command.judge(check, "true", 0, "bye\n")
    assert not missing.ok and "expected 'hello' in its output" in missing.why
    assert "expected exit 0, got 1" in command.judge(check, "true", 1, "hello").why
    assert "still running after 10 s" in command.judge(check, "true", None, "").why
