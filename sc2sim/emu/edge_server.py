"""The emulated edge server: receives request frames over TCP, decodes and classifies them for real.

Run inside the edge host as ``python -m sc2sim.emu.edge_server CONFIG.json``. It builds the
scenario's pipelines, warms each one up on a real payload, listens on ``host:port``, and prints
``ready``. Pre-started threads accept and serve connections with blocking sockets (``acceptors`` of
them, 32 by default: as many connections at once), so timestamps are taken where the kernel hands
the bytes over. For each frame it records, with ``time.monotonic()`` (one clock for
every namespace of the host), when the whole payload had arrived (``t_rx_end``), when the single
edge worker started and finished ``pipeline.edge(payload)`` (``t_edge_start``, ``t_edge_end``), and the
prediction; it answers with the predicted class (one byte) and appends the record as a JSON line to
``log``. A payload the edge refuses (``PayloadError``: TCP delivered it intact, so it is a bug on
the sending side) is answered with class 255, logged with its reason, and counts as a wrong
prediction. Requests are served one at a time in arrival order (one worker: the simulator's one-GPU,
no-batching edge). torch uses ``threads`` threads (1 by default, as profiles are timed).
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sc2sim.emu.wire import HEADER, precise_timers, recv_exactly, tune_socket
from sc2sim.errors import PayloadError


class EdgeServer:
    """Pipelines, the single worker, and the record log of one emulated edge."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        import torch

        from sc2sim.pipelines import build_pipeline
        from sc2sim.profiling.allocator import keep_freed_memory

        torch.set_num_threads(int(cfg.get("threads", 1)))
        keep_freed_memory()  # a server keeps its memory, as the profiles' timing did
        self.pipes = [build_pipeline(n) for n in cfg["pipelines"]]
        for pipe, warm in zip(self.pipes, cfg.get("warmup", [])):
            if warm:
                pipe.edge(base64.b64decode(warm))
        self.worker = ThreadPoolExecutor(max_workers=1)  # FIFO: one request at a time, in arrival order
        self.log = open(cfg["log"], "a", buffering=1)
        self.log_lock = threading.Lock()
        self.congestion = cfg.get("congestion")

    def _run(self, pipe: int, payload: bytes) -> tuple[float, float, int, str]:
        """Decode and classify one payload: start, end, class and, for a payload the edge refuses
        (:class:`sc2sim.errors.PayloadError`), class -1 (answered as 255, counted as wrong) and why."""
        t_start = time.monotonic()
        try:
            pred, why = int(self.pipes[pipe].edge(payload)), ""
        except PayloadError as err:
            pred, why = -1, str(err)
        return t_start, time.monotonic(), pred, why

    def handle(self, conn: socket.socket) -> None:
        """Serve the frames of one connection until the mobile closes it."""
        tune_socket(conn, self.congestion)
        with conn:
            while True:
                try:
                    pipe, request, length = HEADER.unpack(recv_exactly(conn, HEADER.size))
                    payload = recv_exactly(conn, length)
                except (EOFError, ConnectionError):
                    return
                t_rx_end = time.monotonic()
                t_start, t_end, pred, why = self.worker.submit(self._run, pipe, payload).result()
                conn.sendall(bytes([pred & 0xFF]))
                rec = {"pipe": pipe, "request": request, "bytes": length, "t_rx_end": t_rx_end,
                       "t_edge_start": t_start, "t_edge_end": t_end, "pred": pred}
                if why:
                    rec["payload_error"] = why
                with self.log_lock:
                    self.log.write(json.dumps(rec) + "\n")


def main(argv: list[str] | None = None) -> int:
    cfg = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    precise_timers()
    server = EdgeServer(cfg)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((cfg["host"], int(cfg["port"])))
    lsock.listen(1024)
    def acceptor() -> None:  # pre-started: a connection is read at once, with no thread start in between
        while True:
            conn, _ = lsock.accept()
            server.handle(conn)

    for _ in range(int(cfg.get("acceptors", 32))):
        threading.Thread(target=acceptor, daemon=True).start()
    print("ready", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
