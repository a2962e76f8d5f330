"""The flow-log collector: one daemon per scenario with flow logs, started at `up` and
stopped at `down` like the other daemons (render.Process).

From one thread it listens in every subnet namespace (sockets stay in the namespace they
were opened in): conntrack DESTROY events, and the drops the AWS rules log to their own
flow-log NFLOG group (render.nft.FLOW_LOG_GROUP; the probe's group is left alone). Each
aggregation interval it reads and zeroes conntrack's counters, turns the window into
records per ENI (flowlogs.window), keeps each flow log's share (its ENIs, its traffic
type; NODATA for an ENI with none) and writes them to records.jsonl and to gzip files in
AWS's S3 layout. SIGTERM ends the current window early, so `down` loses nothing.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
import sys
import time
from types import FrameType

from netemu.flowlogs import conntrack, records
from netemu.flowlogs.attribute import Attributor
from netemu.flowlogs.window import Window
from netemu.model import load_model
from netemu.model.types import Eni, FlowLog, Model
from netemu.probe import nflog
from netemu.render import names as n
from netemu.render.nft import FLOW_LOG_GROUP

# Closes the current window now (AWS's interval is a maximum, so an early close is within
# it); `netemu flowlogs` sends it so that it shows what happened until now.
CLOSE_WINDOW = signal.SIGUSR1


def enis_of(model: Model, fl: FlowLog) -> list[Eni]:
    """The ENIs a flow log covers (ref 12.1): a VPC's, a subnet's, or one."""
    if fl.resource_kind == "vpc":
        return [e for e in model.enis() if model.subnets[e.subnet].vpc == fl.resource]
    if fl.resource_kind == "subnet":
        return model.enis_in(fl.resource)
    owner = "instance" if fl.resource_kind == "instance" else "nat_gateway"
    return [e for e in model.enis() if (e.owner_kind, e.owner) == (owner, fl.resource)]


def share(model: Model, fl: FlowLog, window: list[records.Record], account: str, start: int,
          end: int) -> list[records.Record]:  # fmt: skip
    """A flow log's records of a window: its ENIs, its filter, NODATA where nothing was."""
    enis = {e.id for e in enis_of(model, fl)}
    mine = [r for r in window if r["interface-id"] in enis]
    kept = [{**r, "flow-log": fl.name} for r in mine
            if fl.traffic_type in ("ALL", r["action"])]  # fmt: skip
    busy = {r["interface-id"] for r in mine}
    kept += [records.nodata(fl, account, e, start, end) for e in sorted(enis - busy)]
    return kept


def read_drops(sock: socket.socket) -> list[tuple[str, nflog.Packet, int]]:
    """(rule name, packet, IP length) of each logged drop waiting on `sock`."""
    out: list[tuple[str, nflog.Packet, int]] = []
    while True:
        try:
            data = sock.recv(1 << 16)
        except BlockingIOError:
            return out
        for kind, body in conntrack.messages(data):
            if kind != (nflog.NFNL_SUBSYS_ULOG << 8) | nflog.NFULNL_MSG_PACKET:
                continue
            a = conntrack.attrs(body)
            payload = a.get(nflog.NFULA_PAYLOAD, b"")
            pkt = nflog.parse_ipv4(payload)
            if pkt is not None:
                prefix = a.get(nflog.NFULA_PREFIX, b"").rstrip(b"\0").decode(errors="replace")
                out.append((prefix, pkt, struct.unpack_from("!H", payload, 2)[0]))


class Collector:
    def __init__(self, model: Model, state_dir: str) -> None:
        self.model = model
        self.state = state_dir
        self.account = records.account_id(model.name)
        self.interval = min(fl.max_aggregation_interval for fl in model.flow_logs)
        self.subnets = {
            n.subnet_ns(model.name, s): Attributor(model, s)
            for s in model.subnets
            if model.enis_in(s)
        }
        self.events: dict[socket.socket, str] = {}
        self.drops: dict[socket.socket, str] = {}
        self.known: set[tuple[str, int]] = set()  # (namespace, conntrack id) seen before
        self.window = Window(model)
        self.start = int(time.time())
        self.stopping = False
        self.close_early = False
        self.windows = 0  # windows written so far (records.WINDOWS)

    def open(self) -> None:
        for ns in self.subnets:
            conntrack.enable_accounting(ns)
            self.events[conntrack.open_events(ns)] = ns
            self.drops[nflog.open_listener(ns, FLOW_LOG_GROUP)] = ns
        os.makedirs(os.path.join(self.state, records.DIR), exist_ok=True)

    def _flow(self, ns: str, flow: conntrack.Flow) -> None:
        key = (ns, flow.id)
        new = key not in self.known
        if flow.ended:
            self.known.discard(key)
        else:
            self.known.add(key)
        self.window.add_flow(self.subnets[ns], flow, new)

    def drain(self, ready: list[socket.socket]) -> None:
        for sock in ready:
            if sock in self.events:
                ns = self.events[sock]
                for flow in conntrack.read_events(sock):
                    self._flow(ns, flow)
            elif sock in self.drops:
                ns = self.drops[sock]
                for rule, pkt, size in read_drops(sock):
                    self.window.add_drop(self.subnets[ns], rule, pkt, size)

    def flush(self) -> None:
        """Close the window: read and zero the counters, write every flow log's records."""
        self.drain(list(self.events) + list(self.drops))
        for ns in self.subnets:
            for flow in conntrack.dump_and_zero(ns):
                self._flow(ns, flow)
        end = int(time.time())
        window = self.window.records(self.account, self.start, end)
        root = os.path.join(self.state, records.DIR)
        for fl in self.model.flow_logs:
            kept = share(self.model, fl, window, self.account, self.start, end)
            key = records.s3_key(self.account, self.model.region, fl, end)
            records.write_s3(root, key, fl.log_format, kept)
            records.append_jsonl(os.path.join(self.state, records.RECORDS), kept)
        self.window = Window(self.model)
        self.start = end
        self.windows += 1
        tmp = os.path.join(self.state, records.WINDOWS + ".tmp")
        with open(tmp, "w") as f:
            f.write(f"{self.windows}\n")
        os.replace(tmp, os.path.join(self.state, records.WINDOWS))  # whole, after the records

    def run(self) -> None:
        # Signals wake the select at once through this pipe: SIGTERM must not wait for the
        # end of a ten-minute window (down kills what has not exited within half a second).
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        deadline = time.monotonic() + self.interval
        sockets = {s.fileno(): s for s in [*self.events, *self.drops]}
        while not self.stopping:
            wait = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([*sockets, wake_r], [], [], wait)
            if wake_r in ready:
                os.read(wake_r, 512)
            self.drain([sockets[fd] for fd in ready if fd in sockets])
            if time.monotonic() >= deadline or self.close_early:
                self.flush()
                self.close_early = False
                deadline = time.monotonic() + self.interval
        self.flush()


def main(argv: list[str]) -> int:
    """python -m netemu.flowlogs STATE_DIR SCENARIO_COPY [CONFIG]: CONFIG only names the
    model it was started for, so a changed model restarts it (flowlogs.render)."""
    state_dir, scenario = argv[1], argv[2]
    model, _ = load_model(scenario)
    collector = Collector(model, state_dir)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        collector.stopping = True

    def close_window(_sig: int, _frame: FrameType | None) -> None:
        collector.close_early = True  # `netemu flowlogs` wants what happened until now

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(CLOSE_WINDOW, close_window)
    collector.open()
    with open(os.path.join(state_dir, records.READY), "w") as f:
        f.write(f"{os.getpid()}\n")
    print(f"flow-log collector: {len(collector.subnets)} subnet(s), every {collector.interval} s",
          file=sys.stderr, flush=True)  # fmt: skip
    collector.run()
    return 0
