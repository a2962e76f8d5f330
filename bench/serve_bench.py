"""`netemu serve` against moto alone, in one run (issue 14's targets):

- `authorize-security-group-ingress` round trip, kernel change included, against the same
  call on moto's own server (target: at most 3x; p99 under 100 ms);
- `run-instances` with MinCount=100 against `netemu up` of the scenario the account then is
  (target: at most 1.5x).

Usage: python -m bench.serve_bench [CALLS]   (root; everything on 127.0.0.1 and in netemu's
own namespaces)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import boto3

from netemu.serve.book import build_webdb

PY = sys.executable
NAME = "bsv"


def _client(url: str) -> Any:
    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name="ap-northeast-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def _authorize_ms(ec2: Any, group: str, calls: int, first_port: int = 2000) -> list[float]:
    out = []
    for i in range(calls):
        t = time.perf_counter()
        ec2.authorize_security_group_ingress(
            GroupId=group, IpProtocol="tcp", FromPort=first_port + i, ToPort=first_port + i,
            CidrIp="10.0.0.0/8",
        )  # fmt: skip
        out.append((time.perf_counter() - t) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _moto_server() -> tuple[subprocess.Popen[bytes], str]:
    """moto's own server, a process of its own as `netemu serve` is (in this process it
    would share the interpreter, and its collector, with the clients)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("moto's server did not start")


def _serve(state: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [PY, "-m", "netemu.cli", "serve", "--port", "0", "--name", NAME,
         "--region", "ap-northeast-1", "--state", state],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout
    line = proc.stdout.readline()
    if not line.startswith("serving EC2 API on "):
        proc.kill()
        raise SystemExit(f"netemu serve did not start: {line}")
    return proc, line.split(" on ", 1)[1].strip()


def authorize_both(calls: int, state: str) -> tuple[list[float], list[float], dict[str, Any]]:
    """The same authorize calls on moto alone and on netemu serve, alternately (moto,
    then serve, call by call), so that both meet the same machine: on this shared VM the
    speed of either drifts by a third within a minute. Returns both lists of round trips
    (ms) and serve's ids, for the run-instances that follows."""
    server, moto_url = _moto_server()
    try:
        proc, url = _serve(state)
    except BaseException:
        server.kill()
        server.wait()
        raise
    try:
        moto, ours = _client(moto_url), _client(url)
        moto_group, ids = build_webdb(moto)["ssh"], build_webdb(ours)
        alone, served = [], []
        for i in range(calls):
            alone += _authorize_ms(moto, moto_group, 1, 2000 + i)
            served += _authorize_ms(ours, ids["ssh"], 1, 2000 + i)
        return alone, served, {"proc": proc, "url": url, "ids": ids}
    except BaseException:
        proc.terminate()
        proc.wait(timeout=60)
        raise
    finally:
        server.terminate()
        server.wait(timeout=60)


def netemu_serve(calls: int, state: str) -> dict[str, Any]:
    alone, authorize, held = authorize_both(calls, state)
    proc, ids = held["proc"], held["ids"]
    try:
        ec2 = _client(held["url"])
        t = time.perf_counter()
        ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=100, MaxCount=100, InstanceType="t3.micro",
            SubnetId=ids["private"], SecurityGroupIds=[ids["default"]],
        )  # fmt: skip
        run_100 = time.perf_counter() - t
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    # The same account as a scenario of its own, brought up by `netemu up`.
    with open(os.path.join(state, f"{NAME}.yaml")) as f:
        text = re.sub(r"(?m)^name: .*$", "name: bsvup", f.read())
    subprocess.run([PY, "-m", "netemu.cli", "down", NAME], capture_output=True, check=False)
    path = os.path.join(state, "equivalent.yaml")
    with open(path, "w") as f:
        f.write(text)
    t = time.perf_counter()
    up = subprocess.run([PY, "-m", "netemu.cli", "up", path], capture_output=True, text=True)
    up_s = time.perf_counter() - t
    subprocess.run([PY, "-m", "netemu.cli", "down", "bsvup"], capture_output=True, check=False)
    if up.returncode != 0:
        raise SystemExit(f"netemu up of the equivalent scenario failed: {up.stderr}")
    return {
        "moto_ms": alone,
        "authorize_ms": authorize,
        "run_100_s": run_100,
        "up_equivalent_s": up_s,
    }


def measure(calls: int = 30) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="netemu-bench-serve-") as d:
        os.chmod(d, 0o755)
        ours = netemu_serve(calls, os.path.join(d, "state"))
    alone = ours["moto_ms"]
    return {
        "moto_p50_ms": statistics.median(alone),
        "serve_p50_ms": statistics.median(ours["authorize_ms"]),
        "serve_p99_ms": _p(ours["authorize_ms"], 0.99),
        "ratio": statistics.median(ours["authorize_ms"]) / statistics.median(alone),
        "run_100_s": ours["run_100_s"],
        "up_equivalent_s": ours["up_equivalent_s"],
        "run_ratio": ours["run_100_s"] / ours["up_equivalent_s"],
    }


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (
            "serve: authorize-security-group-ingress",
            f"p50 {r['serve_p50_ms']:.0f} ms, p99 {r['serve_p99_ms']:.0f} ms",
            f"moto alone p50 {r['moto_p50_ms']:.1f} ms",
            f"{r['ratio']:.1f}x moto (target <= 3x, p99 < 100 ms)",
        ),
        (
            "serve: run-instances MinCount=100",
            f"{r['run_100_s']:.2f} s",
            f"netemu up of the same account {r['up_equivalent_s']:.2f} s",
            f"{r['run_ratio']:.2f}x up (target <= 1.5x)",
        ),
    ]


if __name__ == "__main__":
    result = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
    for row in rows(result):
        print("  ".join(row))
    print(json.dumps(result))
