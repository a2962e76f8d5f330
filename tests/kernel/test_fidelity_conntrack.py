"""Per-ENI connection tracking timeouts with real packets (reference 7.17)."""

from __future__ import annotations

import subprocess
import time

from netemu.render.names import host_ns, instance_ns
from netemu.testing import running_text
from scenarios import vpc

# web's group admits no UDP: a datagram from outside gets in only as part of a flow web
# opened, and only while that flow's tracking entry lives.
NO_UDP_IN = (
    "  noudp:\n    vpc: main\n    ingress:\n      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}\n"
)
CLIENT = "198.51.100.10"
SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.sendto(b"x", (sys.argv[3], int(sys.argv[4])))
"""
RECEIVE = """
import socket
socks = []
for port in (5001, 5002):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); socks.append(s)
import select
while True:
    for s in select.select(socks, [], [])[0]:
        s.recv(100); print(s.getsockname()[1], flush=True)
"""


def test_idle_udp_flow_expires_at_the_enis_configured_udp_timeout() -> None:
    """7.17: `connection_tracking: {udp_timeout: 40}` keeps web's one-way UDP flows for 40 s
    instead of AWS's default 30 s: an answer 33 s later still gets in by state, one 42 s
    later is refused (web's group admits no UDP)."""
    text = vpc(
        name="fidct",
        groups=NO_UDP_IN,
        web_groups="noudp",
        web_extra=", connection_tracking: {udp_timeout: 40}",
    )
    with running_text(text) as s:
        web_ns, client_ns = instance_ns("fidct", "web"), host_ns("fidct", "client")
        public = str(s.model.instances["web"].public_ip)
        receiver = subprocess.Popen(
            ["ip", "netns", "exec", web_ns, "python3", "-u", "-c", RECEIVE],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            for port in ("5001", "5002"):  # web opens two flows to the client, now
                sent = s.exec("web", "python3", "-c", SEND, "0.0.0.0", port, CLIENT, "9999")
                assert sent.returncode == 0, sent.stderr
            start = time.monotonic()
            for at, port in ((33, "5001"), (42, "5002")):
                time.sleep(max(0.0, start + at - time.monotonic()))
                answer = ["python3", "-c", SEND, CLIENT, "9999", public, port]
                subprocess.run(["ip", "netns", "exec", client_ns, *answer], check=True)
            time.sleep(1)
        finally:
            receiver.kill()
            out, _ = receiver.communicate()
    assert out.split() == ["5001"]
