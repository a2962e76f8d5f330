"""Shared pieces of the reliability tests and of their full form (`full.py`).

Every scenario these tests bring up is named `rl-...`, so leftovers are checked for those
names strictly while other people's scenarios on a shared machine are left alone. Nothing
here sends a packet from the host's own namespace.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from netemu import cli
from netemu.driver import netns

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LEAKCHECK = os.path.join(ROOT, "..", "shared", "tools", "leakcheck")
NAME_PREFIX = "rl-"  # every scenario of these tests
NETEMU = [sys.executable, "-m", "netemu.cli"]


def scenario(name: str, cidr_base: str = "172.30", extra: str = "") -> str:
    """The crash and concurrency scenario: a NAT gateway, three subnets, five instances with
    services (ssh, http, tcp and udp listeners), DHCP and DNS, two internet hosts."""
    b = cidr_base
    return f"""
name: {name}
region: ap-northeast-1
vpcs:
  main: {{cidr: {b}.0.0/16, dns_hostnames: true}}
internet_gateways:
  igw: {{vpc: main}}
subnets:
  public: {{vpc: main, cidr: {b}.0.0/24, public_ip_on_launch: true, route_table: public}}
  app: {{vpc: main, cidr: {b}.1.0/24, route_table: private}}
  db: {{vpc: main, cidr: {b}.2.0/24, route_table: private, network_acl: db}}
route_tables:
  public: {{vpc: main, routes: [{{destination: 0.0.0.0/0, internet_gateway: igw}}]}}
  private: {{vpc: main, routes: [{{destination: 0.0.0.0/0, nat_gateway: nat}}]}}
nat_gateways:
  nat: {{subnet: public, elastic_ip: 203.0.113.50}}
security_groups:
  web:
    vpc: main
    ingress:
      - {{protocol: tcp, port: 22, cidr: 0.0.0.0/0}}
      - {{protocol: tcp, port: 80, cidr: 0.0.0.0/0}}
      - {{protocol: icmp, icmp_type: -1, cidr: {b}.0.0/16}}
  app:
    vpc: main
    ingress:
      - {{protocol: tcp, port: 8080, security_group: web}}
      - {{protocol: udp, port: 5353, security_group: web}}
  db:
    vpc: main
    ingress:
      - {{protocol: tcp, port: 3306, security_group: app}}
      - {{protocol: tcp, port: 22, security_group: web}}
network_acls:
  db:
    vpc: main
    ingress:
      - {{rule: 100, protocol: tcp, port: 3306, cidr: {b}.1.0/24, action: allow}}
      - {{rule: 110, protocol: tcp, port: 22, cidr: {b}.0.0/24, action: allow}}
      - {{rule: 120, protocol: tcp, ports: 1024-65535, cidr: 0.0.0.0/0, action: allow}}
    egress:
      - {{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}}
instances:
  web1: {{subnet: public, private_ip: {b}.0.10, security_groups: [web], services: [ssh, http]}}
  web2: {{subnet: public, private_ip: {b}.0.11, security_groups: [web], services: [http]}}
  app1: {{subnet: app, private_ip: {b}.1.10, security_groups: [app], services: ["tcp:8080"]}}
  app2: {{subnet: app, private_ip: {b}.1.11, security_groups: [app], services: ["udp:5353"]}}
  db1: {{subnet: db, private_ip: {b}.2.10, security_groups: [db], services: [ssh, "tcp:3306"]}}
{extra}
internet:
  hosts:
    client: {{ip: 198.51.100.10}}
    repo: {{ip: 198.51.100.20, services: [http]}}
"""


def write(directory: str, text: str, filename: str) -> str:
    """A scenario file readable by the daemons netemu starts (some drop privileges)."""
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)
    path = os.path.join(directory, filename)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def webdb(directory: str, name: str, book: bool = False) -> str:
    """The web-and-DB scenario under another name: the contract's example
    (tests/unit/data/webdb.yaml, scenario-format.md 1), or with `book` the shipped
    scenarios/book/webdb.yaml (no network ACL, a bastion, eight expectations).

    The contract's last expectation says ENI_SG_RULES_MISMATCH, but the private subnet's
    network ACL admits only TCP, and inbound ACLs come before security groups in AWS's order
    (ref 8.16): netemu (like the Reachability Analyzer) names SUBNET_ACL_RESTRICTION, so this
    copy expects that."""
    source = os.path.join(
        ROOT, "scenarios/book/webdb.yaml" if book else "tests/unit/data/webdb.yaml"
    )
    with open(source) as f:
        text = f.read()
    text = text.replace("name: webdb", f"name: {name}", 1)
    text = text.replace(
        "icmp: true, result: blocked, reason: ENI_SG_RULES_MISMATCH",
        "icmp: true, result: blocked, reason: SUBNET_ACL_RESTRICTION",
    )
    return write(directory, text, f"{name}.yaml")


# --- what is left --------------------------------------------------------------------


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def leftovers(prefix: str = NAME_PREFIX) -> list[str]:
    """Everything netemu objects of scenarios named `prefix*` still hold on this host:
    namespaces, their mounts, state directories, processes, host links and nft tables."""
    out = [f"namespace {n}" for n in netns.list_names(f"ne-{prefix}")]
    with contextlib.suppress(FileNotFoundError):
        out += [f"state /run/netemu/{d}" for d in os.listdir("/run/netemu") if d.startswith(prefix)]
    with open("/proc/self/mountinfo") as f:
        out += [
            f"mount {line.split()[4]}"
            for line in f
            if line.split()[4].startswith(f"/run/netns/ne-{prefix}")
        ]
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if pid.isdigit() and pid != me and f"/run/netemu/{prefix}" in _cmdline(pid):
            out.append(f"process {pid} {_cmdline(pid)[:100]}")
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    out += [f"host link {line}" for line in links.splitlines() if f": ne-{prefix}" in line]
    return out


def foreign() -> list[str]:
    """netemu objects on this host that are not these tests' (other people's scenarios)."""
    out = [n for n in netns.list_names("ne-") if not n.startswith(f"ne-{NAME_PREFIX}")]
    with contextlib.suppress(FileNotFoundError):
        out += [d for d in os.listdir("/run/netemu") if not d.startswith(NAME_PREFIX)]
    return out


def full_leakcheck() -> str:
    """The shared tool's report ('' when clean), or '' where it is not shipped."""
    if not os.path.exists(LEAKCHECK):
        return ""
    run = subprocess.run(["bash", LEAKCHECK], capture_output=True, text=True, timeout=60)
    return run.stdout + run.stderr


# --- the command line ----------------------------------------------------------------


@dataclass
class Ran:
    rc: int
    out: str
    err: str


def netemu(*args: str) -> Ran:
    """`netemu ARGS` in this process (the same code path as the command, without the
    interpreter's start-up)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(list(args))
    return Ran(rc, out.getvalue(), err.getvalue())


def down_everything(name: str) -> Ran:
    """`netemu down --all` when nothing but these tests' scenarios exists (as in CI), else
    `netemu down NAME`: never remove other people's scenarios on a shared machine."""
    if foreign():
        return netemu("down", name)
    return netemu("down", "--all")


# --- crash and interrupt trials --------------------------------------------------------


@dataclass
class Trial:
    signal: str
    at_s: float  # after the process started
    namespaces: int  # that existed when the signal came
    processes: int  # daemons and tasks of the scenario that ran then
    rc: int | None
    down_s: float  # how long `down` took after it (SIGKILL only)
    left: list[str] = field(default_factory=list)
    finished: bool = False  # `up` had completed (state saved complete) when the signal came
    trigger: str = ""  # what the build had reached when the signal was sent


@dataclass
class Timing:
    claimed_s: float  # start of the process to its state directory
    done_s: float  # start to exit (scenario up)


def time_up(path: str, name: str) -> Timing:
    """One uninterrupted `netemu up` subprocess: when its build window opens and closes."""
    start = time.monotonic()
    proc = subprocess.Popen([*NETEMU, "up", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    claimed = None
    while proc.poll() is None:
        if claimed is None and os.path.isdir(f"/run/netemu/{name}"):
            claimed = time.monotonic() - start
        time.sleep(0.002)
    done = time.monotonic() - start
    _out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert netemu("down", name).rc == 0
    return Timing(claimed or done / 2, done)


def _snapshot(name: str) -> tuple[int, int]:
    namespaces = len(netns.list_names(f"ne-{name}-"))
    procs = sum(
        1 for p in os.listdir("/proc") if p.isdigit() and f"/run/netemu/{name}/" in _cmdline(p)
    )
    return namespaces, procs


def _complete(name: str) -> bool:
    from netemu.driver import state

    saved = state.load(name)
    return bool(saved and saved.complete)


def _plan_size(path: str) -> int:
    from netemu.model import load_model
    from netemu.render import render

    model, _ = load_model(path)
    return len(render(model).namespaces)


def _wait_for(proc: subprocess.Popen[bytes], reached: Callable[[], bool], limit: float) -> None:
    deadline = time.monotonic() + limit
    while proc.poll() is None and not reached() and time.monotonic() < deadline:
        time.sleep(0.001)


def signal_trials(
    path: str, name: str, trials: int, sig: signal.Signals, rng: random.Random
) -> list[Trial]:
    """Start `netemu up` and send `sig` at a random point of its build, `trials` times. The
    points are spread over the build by what it has made, not by the clock alone (a busy
    machine stretches the build): in turn, once k of the N namespaces exist, once m of the
    daemons run, and at a random moment of the reference run's build window. After
    SIGKILL, `netemu down --all` (or `down NAME`) cleans; after SIGINT and SIGTERM the
    command must roll back by itself. Each trial records what was left."""
    timing = time_up(path, name)
    namespaces_total, daemons_total = _plan_size(path), max(1, _daemons_of(path, name))
    window = max(timing.done_s - timing.claimed_s, 0.05)
    out = []
    for i in range(trials):
        kind, share = i % 3, (i // 3 + rng.random()) / max(1, (trials + 2) // 3)
        start = time.monotonic()
        proc = subprocess.Popen(
            [*NETEMU, "up", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        if kind == 0:
            k = 1 + int(share * namespaces_total) % namespaces_total
            trigger = f"{k} of {namespaces_total} namespaces"
            _wait_for(proc, lambda k=k: len(netns.list_names(f"ne-{name}-")) >= k, 60)
        elif kind == 1:
            m = 1 + int(share * daemons_total) % daemons_total
            trigger = f"{m} of {daemons_total} daemons"
            _wait_for(proc, lambda m=m: _snapshot(name)[1] >= m, 60)
        else:
            at = timing.claimed_s * 0.9 + window * share
            trigger = f"{at:.2f} s"
            time.sleep(max(0.0, at - (time.monotonic() - start)))
        at = time.monotonic() - start
        namespaces, procs = _snapshot(name)
        proc.send_signal(sig)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise AssertionError(f"netemu up did not end within 60 s of {sig.name}") from None
        down_s = 0.0
        finished = _complete(name)  # the signal came after `up` had finished its work
        if finished:
            checked = netemu("verify", name)
            assert checked.rc == 0, checked.out  # then it is exactly the plan
        if sig == signal.SIGKILL or finished:
            t = time.monotonic()
            ran = down_everything(name)
            down_s = time.monotonic() - t
            assert ran.rc in (0, 2), ran.err  # 2: it had not claimed the scenario yet
        trial = Trial(sig.name, at, namespaces, procs, proc.returncode, down_s, leftovers())
        trial.finished, trial.trigger = finished, trigger
        out.append(trial)
        if trial.left:  # report it, but leave the next trial a clean host
            down_everything(name)
    return out


def _daemons_of(path: str, name: str) -> int:
    """How many processes of the scenario run once it is up (a reference run)."""
    proc = subprocess.run([*NETEMU, "up", path], capture_output=True, timeout=120, check=True)
    try:
        return _snapshot(name)[1]
    finally:
        assert netemu("down", name).rc == 0, proc.stdout


# --- soak -----------------------------------------------------------------------------


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def child_processes() -> int:
    me = str(os.getpid())
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[1] == me:
                    count += 1
        except (OSError, IndexError):
            pass
    return count


@dataclass
class Cycle:
    up_s: float
    test_s: float
    down_s: float
    passed: int
    failed: int
    rss_kib: int
    fds: int
    children: int
    left: list[str]


def soak(path: str, cycles: int, report: bool = False) -> list[Cycle]:
    """`cycles` times: up, run the expectations, down, all in this process; records the
    process's memory, descriptors and children and what the scenario left behind."""
    from netemu import lifecycle
    from netemu.probe import expect

    driver = lifecycle.KernelDriver()
    out = []
    for i in range(cycles):
        t0 = time.monotonic()
        model, _ = lifecycle.up(path, driver)
        t1 = time.monotonic()
        try:
            outcomes = expect.run(model)
        finally:
            t2 = time.monotonic()
            lifecycle.down(model.name, driver)
        t3 = time.monotonic()
        failed = sum(not o.ok for o in outcomes)
        cycle = Cycle(
            t1 - t0, t2 - t1, t3 - t2, len(outcomes) - failed, failed,
            rss_kib(), fd_count(), child_processes(), leftovers(),
        )  # fmt: skip
        out.append(cycle)
        if report:
            print(
                f"  cycle {i + 1:3}: up {cycle.up_s:.2f}s test {cycle.test_s:.2f}s down "
                f"{cycle.down_s:.2f}s  {cycle.passed} passed {cycle.failed} failed  rss "
                f"{cycle.rss_kib / 1024:.1f} MiB fds {cycle.fds} children {cycle.children}",
                flush=True,
            )
    return out


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Fail (TimeoutError) if the block runs longer than `seconds` (main thread only)."""

    def expired(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"{what} took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --- packets inside namespaces ---------------------------------------------------------

ETH_P_ALL = 0x0003


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def send_marked(ns: str, destination: str, marker: bytes) -> int:
    """From inside namespace `ns`: an ICMP echo and a UDP datagram carrying `marker`, and a
    TCP SYN, to `destination`. Errors (no route, refused) are expected and ignored.
    Returns how many of the three the kernel accepted to send."""
    import socket

    sent = 0
    with netns.entered(ns):
        icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        header = bytes([8, 0, 0, 0]) + (os.getpid() & 0xFFFF).to_bytes(2, "big") + b"\0\1"
        check = _checksum(header + marker).to_bytes(2, "big")
        for sock, payload, port in ((icmp, header[:2] + check + header[4:] + marker, 0),
                                    (udp, marker, 9)):  # fmt: skip
            with contextlib.suppress(OSError):
                sock.sendto(payload, (destination, port))
                sent += 1
        tcp.setblocking(False)
        with contextlib.suppress(OSError):
            if tcp.connect_ex((destination, 80)) in (0, 115):  # EINPROGRESS: the SYN left
                sent += 1
    finally:
        for s in (icmp, udp, tcp):
            s.close()
    return sent


class Capture:
    """Listen-only AF_PACKET sockets on every interface of some namespaces (None: the
    host's own namespace, where the test runs). Never sends."""

    def __init__(self, namespaces: list[str | None]) -> None:
        import socket

        self.socks: list[tuple[str, socket.socket]] = []
        for ns in namespaces:
            ctx = netns.entered(ns) if ns else contextlib.nullcontext()
            with ctx:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            self.socks.append((ns or "<host>", s))
        self.seen: list[tuple[str, str, bytes]] = []  # namespace, interface, frame

    def drain(self) -> list[tuple[str, str, bytes]]:
        for ns, s in self.socks:
            while True:
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                self.seen.append((ns, addr[0], frame))
        return self.seen

    def close(self) -> None:
        for _, s in self.socks:
            s.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def ipv6_of(frame: bytes) -> tuple[str, str] | None:
    """(source, destination) of an Ethernet frame carrying IPv6 (or a cooked lo frame)."""
    import socket

    if len(frame) >= 54 and frame[12:14] == b"\x86\xdd":
        ip = frame[14:]
        return socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(
            socket.AF_INET6, ip[24:40]
        )
    return None


def ipv4_of(frame: bytes) -> tuple[str, str] | None:
    """(source, destination) of an Ethernet frame carrying IPv4 (or a cooked lo frame)."""
    import socket

    if len(frame) >= 34 and frame[12:14] == b"\x08\x00":
        ip = frame[14:]
        return socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    return None
