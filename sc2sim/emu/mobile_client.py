"""The emulated mobile device: sends each request's real payload to the edge at its planned time.

Run inside the mobile host as ``python -m sc2sim.emu.mobile_client CONFIG.json``. ``t0`` is the
shared ``time.monotonic()`` epoch and each request's ``send_at`` (s after ``t0``) is when its payload
is ready on the device (the simulator's ``t_mobile_end``: the device's modelled compute has run).
A pool of threads with blocking sockets serves the requests: each is handed to a thread a little
early and the thread sleeps until ``t0 + send_at``. It then opens a TCP connection (or, with
``persistent``, uses its device's one, opened before ``t0``), sends the frame
(:mod:`sc2sim.emu.wire`) and waits for the one-byte answer. It records ``t_tx_start`` (just before
``connect``, or the send on a persistent connection) and ``t_done`` (answer received), and writes
every record to ``out`` (JSON, atomically) when all are done.
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import Queue
from typing import Any

from sc2sim.emu.wire import REPLY_BYTES, frame, precise_timers, recv_exactly, tune_socket

EARLY_S = 0.005  # requests reach their thread this long before their send time


def _socket(congestion: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tune_socket(sock, congestion)
    return sock


class Connection:
    """One persistent connection: frames go out in order, answers come back in the same order."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.pending: Queue[Future | None] = Queue()
        self.reader = threading.Thread(target=self._answers, daemon=True)
        self.reader.start()

    def _answers(self) -> None:
        while (fut := self.pending.get()) is not None:
            data = recv_exactly(self.sock, REPLY_BYTES)
            fut.set_result((time.monotonic(), data[0]))

    def request(self, data: bytes) -> tuple[float, float, int]:
        fut: Future = Future()
        with self.lock:
            t_start = time.monotonic()
            self.sock.sendall(data)
            self.pending.put(fut)
        t_done, pred = fut.result()
        return t_start, t_done, pred

    def close(self) -> None:
        self.pending.put(None)
        self.sock.close()


def one_request(cfg: dict[str, Any], req: dict[str, Any], conns: dict[int, Connection]) -> dict[str, Any]:
    """Send one request at ``t0 + send_at``; its record."""
    data = frame(int(req["pipe"]), int(req["id"]), base64.b64decode(req["payload"]))
    sock = None if cfg.get("persistent") else _socket(cfg.get("congestion"))
    time.sleep(max(0.0, float(cfg["t0"]) + float(req["send_at"]) - time.monotonic()))
    if sock is None:
        t_start, t_done, pred = conns[int(req["device"])].request(data)
    else:
        with sock:
            t_start = time.monotonic()
            sock.connect((cfg["edge"], int(cfg["port"])))
            sock.sendall(data)
            pred = recv_exactly(sock, REPLY_BYTES)[0]
            t_done = time.monotonic()
    return {"id": req["id"], "pipe": req["pipe"], "t_tx_start": t_start, "t_done": t_done, "pred": pred}


def run(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Every request of the config, at its time; the records in request order."""
    conns: dict[int, Connection] = {}
    if cfg.get("persistent"):
        for dev in sorted({int(r["device"]) for r in cfg["requests"]}):
            sock = _socket(cfg.get("congestion"))
            sock.connect((cfg["edge"], int(cfg["port"])))
            conns[dev] = Connection(sock)
    t0 = float(cfg["t0"])
    order = sorted(cfg["requests"], key=lambda r: float(r["send_at"]))
    with ThreadPoolExecutor(max_workers=int(cfg.get("threads", 256))) as pool:
        futures = []
        for req in order:
            time.sleep(max(0.0, t0 + float(req["send_at"]) - EARLY_S - time.monotonic()))
            futures.append(pool.submit(one_request, cfg, req, conns))
        records = [f.result() for f in futures]
    for c in conns.values():
        c.close()
    return sorted(records, key=lambda r: r["id"])


def main(argv: list[str] | None = None) -> int:
    cfg = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    precise_timers()
    records = run(cfg)
    tmp = Path(cfg["out"] + ".tmp")
    tmp.write_text(json.dumps(records))
    tmp.replace(cfg["out"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
