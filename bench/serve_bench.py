"""`netemu serve` against moto alone, in one run (issue 14's targets):

- `authorize-security-group-ingress` round trip, kernel change included, against the same
  call on moto's own server (target: at most 3x; p99 under 100 ms);
- `run-instances` with MinCount=100 against `netemu up` of the scenario the account then is
  (target: at most 1.5x).

Usage: python -m bench.serve_bench [CALLS]   (root; everything on 127.0.0.1 and in netemu's
own namespaces)
"""

from __future__ import annotations

import json
import os
import re
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


def _authorize_ms(ec2: Any, group: str, calls: int) -> list[float]:
    out = []
    for i in range(calls):
        t = time.perf_counter()
        ec2.authorize_security_group_ingress(
            GroupId=group, IpProtocol="tcp", FromPort=2000 + i, ToPort=2000 + i,
            CidrIp="10.0.0.0/8",
        )  # fmt: skip
        out.append((time.perf_counter() - t) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def moto_alone(calls: int) -> list[float]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        ec2 = _client(f"http://{host}:{port}")
        ids = build_webdb(ec2)
        return _authorize_ms(ec2, ids["ssh"], calls)
    finally:
        server.stop()


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


def netemu_serve(calls: int, state: str) -> dict[str, Any]:
    proc, url = _serve(state)
    try:
        ec2 = _client(url)
        ids = build_webdb(ec2)
        authorize = _authorize_ms(ec2, ids["ssh"], calls)
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
    return {"authorize_ms": authorize, "run_100_s": run_100, "up_equivalent_s": up_s}


def measure(calls: int = 30) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="netemu-bench-serve-") as d:
        os.chmod(d, 0o755)
        alone = moto_alone(calls)
        ours = netemu_serve(calls, os.path.join(d, "state"))
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
