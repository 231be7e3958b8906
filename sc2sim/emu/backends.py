"""Backends: two hosts (network namespaces) joined by a shaped link, and how to run commands on them.

* ``userspace``: namespaces made with ``ip netns``, one TUN device in each, and the forwarder of
  :mod:`sc2sim.emu.forwarder` applying rate, one-way delay, jitter, random loss and a bounded queue,
  or a Mahimahi trace. Works on any kernel with TUN (root only).
* ``mininet``: Mininet's two hosts and a ``TCLink`` (``tc`` htb for the rate, ``netem`` for delay,
  jitter and loss), see :mod:`sc2sim.emu.mininet_backend`.

Both return :class:`Hosts`: the command prefixes that run a program inside each host, and the
addresses. Everything they create belongs to the :class:`~sc2sim.emu.netns.Testbed`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sc2sim.emu.netns import Testbed, ip

MOBILE_IP, EDGE_IP = "10.203.0.1", "10.203.0.2"
TUN_NAME = "sc2tun0"
MTU = 1500


@dataclass(frozen=True)
class Hosts:
    """How to reach the two emulated hosts: command prefixes and IPv4 addresses."""

    mobile_cmd: tuple[str, ...]
    edge_cmd: tuple[str, ...]
    mobile_ip: str
    edge_ip: str
    set_epoch: Callable[[float], None] | None = None
    """Restart the link's clock (a trace's time 0) at this ``time.monotonic()`` instant, where the backend can."""


def wait_ready(proc: subprocess.Popen, what: str) -> None:
    """Block until ``proc`` prints ``ready``; RuntimeError with its stderr if it exits first."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.wait(5)
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"{what} did not start: {(err or line).strip()[-2000:]}")


def userspace_link(tb: Testbed, up: dict[str, Any], down: dict[str, Any], seed: int = 0) -> Hosts:
    """Two namespaces joined by the user-space TUN forwarder (see :mod:`sc2sim.emu.forwarder`)."""
    mobile, edge = tb.add_netns("m"), tb.add_netns("e")
    cfg_path, epoch_path = Path(f"/tmp/{tb.prefix}-forwarder.json"), Path(f"/tmp/{tb.prefix}-epoch")
    cfg_path.write_text(json.dumps({"a": mobile, "b": edge, "ifname": TUN_NAME, "up": up, "down": down, "seed": seed,
                                    "epoch_file": str(epoch_path)}))
    tb.on_close(lambda: [p.unlink(missing_ok=True) for p in (cfg_path, epoch_path)])
    proc = tb.start([sys.executable, "-m", "sc2sim.emu.forwarder", cfg_path], stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True)
    wait_ready(proc, "the TUN forwarder")
    for ns, here, there in ((mobile, MOBILE_IP, EDGE_IP), (edge, EDGE_IP, MOBILE_IP)):
        ip("addr", "add", here, "peer", there, "dev", TUN_NAME, netns=ns)
        ip("link", "set", TUN_NAME, "up", "mtu", str(MTU), netns=ns)
    def set_epoch(t: float) -> None:
        epoch_path.write_text(repr(t))
        os.kill(proc.pid, signal.SIGUSR1)  # our forwarder, by PID

    return Hosts(("ip", "netns", "exec", mobile), ("ip", "netns", "exec", edge), MOBILE_IP, EDGE_IP, set_epoch)


def link_docs(point: Any, queue_bytes: int = 1_000_000) -> tuple[dict[str, Any], dict[str, Any]]:
    """The forwarder's JSON link specs (uplink, downlink) of a sweep point."""
    def one(lp: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {"one_way_delay_ms": lp.one_way_delay_ms, "jitter_ms": lp.jitter_ms, "loss": lp.loss,
                               "queue_bytes": queue_bytes}
        if lp.trace is not None:
            doc.update(trace=str(lp.trace), scale=lp.scale)
        else:
            doc["rate_mbps"] = float(lp.bandwidth_mbps)
        return doc

    return one(point.uplink), one(point.downlink)


def link_for_point(tb: Testbed, point: Any, backend: str, source: Any = None) -> Hosts:
    """Two hosts joined by the point's link on ``backend`` (``userspace`` or ``mininet``)."""
    up, down = link_docs(point)
    if backend == "mininet":
        from sc2sim.emu.mininet_backend import mininet_link

        return mininet_link(tb, up, down, getattr(source, "_source", "scenario"))
    return userspace_link(tb, up, down, seed=point.seed)
