"""The ``userspace`` backend: two network namespaces, a TUN device in each, joined by the forwarder
of :mod:`sc2sim.emu.forwarder` (rate, one-way delay, jitter, random loss, a bounded queue, or a
Mahimahi trace). Works on any kernel with TUN (root only).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sc2sim.emu.hosts import EDGE_IP, MOBILE_IP, Hosts, wait_ready
from sc2sim.emu.netns import Testbed, ip

TUN_NAME = "sc2tun0"
MTU = 1500


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
