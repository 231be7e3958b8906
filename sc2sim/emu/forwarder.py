"""The user-space link: one TUN device in each of two namespaces and a forwarder between them.

Run as ``python -m sc2sim.emu.forwarder CONFIG.json`` (root). It creates TUN device ``ifname`` in
namespace ``a`` (the mobile side) and in namespace ``b`` (the edge side), prints ``ready`` on stdout,
and then moves every IP packet that one side's kernel routes into its TUN device to the other
side's TUN device, at the time the direction's :class:`~sc2sim.emu.shaper.Shaper` gives (``up``
shapes a -> b, ``down`` shapes b -> a). The parent gives the TUN devices their addresses.
SIGTERM stops it; it then writes its packet counts to ``stats`` (JSON) when the config names a file.

The link's clock (time 0 of a Mahimahi trace) starts when the forwarder starts. SIGUSR1 restarts it
at the ``time.monotonic()`` instant written in the config's ``epoch_file`` (both shapers start
afresh, with an empty queue), so that the emulated requests meet the same part of a trace as the
simulated ones, whose trace starts at their time 0. Packets before the epoch count as at time 0.
Closing the TUN file descriptors (any exit) removes both devices.
"""

from __future__ import annotations

import ctypes
import fcntl
import heapq
import json
import os
import select
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Any

from sc2sim.emu.shaper import LinkSpec, Shaper
from sc2sim.emu.wire import precise_timers
from sc2sim.network.capacity import ConstantCapacity, read_mahimahi

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
SPIN_S = 0.0004  # poll (no sleep) this close to a due delivery


def _setns(path: str) -> None:
    """Move this (single-threaded) process into the network namespace at ``path``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tun(netns: str, ifname: str) -> int:
    """A non-blocking file descriptor of a new TUN device ``ifname`` (no packet info) in ``netns``."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        _setns(f"/var/run/netns/{netns}")
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", ifname.encode(), IFF_TUN | IFF_NO_PI))
    finally:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.setns(home, CLONE_NEWNET)
        os.close(home)
    return fd


def link_spec(doc: dict[str, Any]) -> LinkSpec:
    """A :class:`LinkSpec` from its JSON form: ``rate_mbps`` or ``trace`` (+ ``scale``, ``accounting``
    ``ip``/``tun``), delay, jitter, loss, queue."""
    cap = (read_mahimahi(doc["trace"], doc.get("scale", 1.0), doc.get("accounting", "ip")) if doc.get("trace")
           else ConstantCapacity(float(doc["rate_mbps"])))
    return LinkSpec(cap, float(doc.get("one_way_delay_ms", 0.0)), float(doc.get("jitter_ms", 0.0)),
                    float(doc.get("loss", 0.0)), int(doc.get("queue_bytes", 1_000_000)))


def forward(fd_a: int, fd_b: int, up: Shaper, down: Shaper, stop: list[bool], epoch: list[float | None]) -> None:
    """The forwarding loop: read what arrives, deliver what is due, until ``stop[0]`` is set; a new
    ``epoch[0]`` (monotonic s) restarts the link clock and both shapers."""
    t0 = time.monotonic()
    heap: list[tuple[float, int, int, bytes]] = []  # (delivery time, sequence, out fd, packet)
    seq = 0
    route = {fd_a: (up, fd_b), fd_b: (down, fd_a)}
    while not stop[0]:
        if epoch[0] is not None:
            t0, epoch[0] = epoch[0], None
            up.restart()
            down.restart()
        now = time.monotonic() - t0
        wait = min(0.05, heap[0][0] - now) if heap else 0.05
        # Sleeping wakes late by the scheduler's latency (tens to hundreds of us in a VM): sleep
        # until SPIN_S before a delivery is due, then poll, so packets leave on time.
        wait = wait - SPIN_S if wait > SPIN_S else 0.0
        try:
            ready, _, _ = select.select([fd_a, fd_b], [], [], max(0.0, wait))
        except InterruptedError:
            continue
        for fd in ready:
            shaper, out = route[fd]
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                deliver = shaper.offer(max(0.0, time.monotonic() - t0), len(pkt))
                if deliver is not None:
                    heapq.heappush(heap, (deliver, seq, out, pkt))
                    seq += 1
        now = time.monotonic() - t0
        while heap and heap[0][0] <= now:
            _, _, out, pkt = heapq.heappop(heap)
            try:
                os.write(out, pkt)
            except OSError:
                pass  # the kernel refused it (device going down): as lost


def main(argv: list[str] | None = None) -> int:
    cfg = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    stop = [False]
    precise_timers()
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))
    epoch: list[float | None] = [None]
    if cfg.get("epoch_file"):
        signal.signal(signal.SIGUSR1, lambda *_: epoch.__setitem__(0, float(Path(cfg["epoch_file"]).read_text())))
    fd_a = open_tun(cfg["a"], cfg["ifname"])
    fd_b = open_tun(cfg["b"], cfg["ifname"])
    up = Shaper(link_spec(cfg["up"]), seed=int(cfg.get("seed", 0)))
    down = Shaper(link_spec(cfg["down"]), seed=int(cfg.get("seed", 0)) + 1)
    print("ready", flush=True)
    forward(fd_a, fd_b, up, down, stop, epoch)
    if cfg.get("stats"):
        stats = {name: {"accepted": s.accepted, "dropped_loss": s.dropped_loss, "dropped_queue": s.dropped_queue}
                 for name, s in (("up", up), ("down", down))}
        Path(cfg["stats"]).write_text(json.dumps(stats))
    os.close(fd_a)
    os.close(fd_b)
    return 0


if __name__ == "__main__":
    sys.exit(main())
