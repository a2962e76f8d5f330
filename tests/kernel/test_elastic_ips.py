"""Elastic IPs as objects with real packets (ref 9.3, 9.4, 9.13): allocated, associated and
disassociated live through `netemu apply`; the auto public IP goes when one is associated."""

from __future__ import annotations

from pathlib import Path

from live import live

from netemu.testing import Running, running

ROOT = Path(__file__).resolve().parents[2]

BASE = """
name: eipk
vpcs:
  main: {{cidr: 10.30.0.0/16}}
internet_gateways:
  igw: {{vpc: main}}
subnets:
  pub: {{vpc: main, cidr: 10.30.0.0/24, public_ip_on_launch: true, route_table: rt}}
route_tables:
  rt:
    vpc: main
    routes:
      - {{destination: 0.0.0.0/0, internet_gateway: igw}}
security_groups:
  web:
    vpc: main
    ingress: [{{protocol: tcp, port: 80, cidr: 0.0.0.0/0}}]
elastic_ips:
  spare: {{address: 198.51.100.77{association}}}
instances:
  app: {{subnet: pub, private_ip: 10.30.0.10, public_ip: 203.0.113.9, security_groups: [web], services: [http]}}
internet:
  hosts:
    client: {{ip: 198.51.100.10, services: [http]}}
"""
SPARE, AUTO = "198.51.100.77", "203.0.113.9"


def _probe(s: object, destination: str) -> str:
    return str(Running(s.model).probe("client", destination, tcp=80).result)  # type: ignore[attr-defined]


def _seen(s: object) -> str | None:
    return Running(s.model).probe("app", "client", tcp=80).seen_source  # type: ignore[attr-defined]


def test_associate_and_disassociate_live_release_and_restore_the_auto_public_ip() -> None:
    """9.13, 9.3: an allocated elastic IP reaches nothing; associated with `app` through
    apply it becomes app's public address and the auto-assigned one is released (no longer
    reachable); disassociated again, the instance gets an auto public IP back, the address
    stays allocated and again reaches nothing."""
    with live(BASE.format(association="")) as s:
        assert _probe(s, AUTO) == "reachable" and _probe(s, SPARE) == "blocked"
        changes = s.apply(BASE.format(association=", instance: app"))
        texts = [c.text for c in changes.changes]
        assert f"associate elastic ip {SPARE} with instance app" in texts, texts
        assert f"release public ip {AUTO} of instance app" in texts, texts
        assert _probe(s, SPARE) == "reachable" and _probe(s, AUTO) == "blocked"
        assert _seen(s) == SPARE  # the internet sees the elastic IP (5.3)
        changes = s.apply(BASE.format(association=""))
        texts = [c.text for c in changes.changes]
        assert f"disassociate elastic ip {SPARE} from instance app" in texts, texts
        assert _probe(s, AUTO) == "reachable" and _probe(s, SPARE) == "blocked"
        assert s.model.elastic_ips["spare"].instance is None


def test_shipped_elastic_ips_scenario_holds_on_real_packets() -> None:
    """9.3, 9.4, 9.13: every expectation of scenarios/book/elastic-ips.yaml holds."""
    with running(str(ROOT / "scenarios" / "book" / "elastic-ips.yaml")) as s:
        outcomes = s.expectations()
        assert outcomes and all(o.ok for o in outcomes), [o.title + o.why for o in outcomes]
