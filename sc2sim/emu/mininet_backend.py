"""Mininet backend: Mininet's two hosts and a ``TCLink`` (``tc`` htb for the rate, ``netem`` for the rest).

Mininet's delay, jitter and loss are ``netem`` qdiscs. Kernels without ``sch_netem`` (such as this
project's build machine, see DESIGN section 5) only shape the rate, so :func:`check_points` refuses a
scenario that asks this backend for delay, jitter, loss or a trace there, naming the missing kernel
feature and the ``userspace`` backend, which applies all of them. Mininet's Python module comes
from Debian's ``mininet`` package (system ``python3``); the topology runs in a helper process with
that interpreter (:mod:`sc2sim.emu.mininet_topo`) and the hosts are reached with ``mnexec -a PID``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from sc2sim.emu.hosts import EDGE_IP, MOBILE_IP, Hosts, wait_ready
from sc2sim.emu.netns import Testbed, pid_alive
from sc2sim.errors import ConfigError

SYSTEM_PYTHON = os.environ.get("SC2SIM_MININET_PYTHON", "/usr/bin/python3")
INSTALL_HINT = "apt-get install -y mininet"


@lru_cache(maxsize=1)
def has_netem() -> bool:
    """Whether this kernel has the ``netem`` qdisc (tried on the loopback of a scratch namespace)."""
    with Testbed("sc2netem") as tb:
        ns = tb.add_netns("probe")
        proc = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
                              capture_output=True, text=True)
    return proc.returncode == 0


def check_available() -> None:
    """ConfigError unless Mininet (module and ``mnexec``) can be used here."""
    if shutil.which("mnexec") is None:
        raise ConfigError(f"--backend mininet: Mininet is not installed (no `mnexec`); install it with `{INSTALL_HINT}`")
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import mininet.net"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise ConfigError(f"--backend mininet: {SYSTEM_PYTHON} cannot import mininet ({INSTALL_HINT}, or set "
                          "SC2SIM_MININET_PYTHON to a Python that can)")


def check_points(points: list[Any], source: str) -> None:
    """ConfigError naming the first field this backend cannot apply on this kernel."""
    check_available()
    for point in points:
        for direction in ("uplink", "downlink"):
            lp = getattr(point.network, direction)
            if lp.trace is not None:
                raise ConfigError(f"{source}: network.{direction}.trace: the mininet backend cannot replay a Mahimahi "
                                  "trace — use --backend userspace")
            for field, value in (("one_way_delay_ms", lp.one_way_delay_ms), ("jitter_ms", lp.jitter_ms), ("loss", lp.loss)):
                if value and not has_netem():
                    raise ConfigError(
                        f"{source}: network.{direction}.{field}={value:g}: the mininet backend applies delay, jitter "
                        f"and loss with the kernel's netem qdisc (sch_netem), which this kernel ({os.uname().release}) "
                        "lacks — use --backend userspace, or set one_way_delay_ms, jitter_ms and loss to 0")


def tclink_params(doc: dict[str, Any]) -> dict[str, Any]:
    """Mininet ``TCIntf.config`` parameters of one direction (bw Mbit/s; delay, jitter as 'Xms'; loss %)."""
    p: dict[str, Any] = {"bw": doc["rate_mbps"]}
    if doc.get("one_way_delay_ms"):
        p["delay"] = f"{doc['one_way_delay_ms']:g}ms"
    if doc.get("jitter_ms"):
        p["jitter"] = f"{doc['jitter_ms']:g}ms"
    if doc.get("loss"):
        p["loss"] = 100.0 * doc["loss"]
    return p


def mininet_link(tb: Testbed, up: dict[str, Any], down: dict[str, Any], source: str = "scenario") -> Hosts:
    """Mininet hosts ``m`` and ``e`` joined by a TCLink shaped like ``up`` (m -> e) and ``down``."""
    check_available()
    cfg = Path(f"/tmp/{tb.prefix}-mininet.json")
    cfg.write_text(json.dumps({"mobile_ip": MOBILE_IP, "edge_ip": EDGE_IP, "up": tclink_params(up),
                               "down": tclink_params(down)}))
    tb.on_close(lambda: cfg.unlink(missing_ok=True))
    proc = tb.start([SYSTEM_PYTHON, str(Path(__file__).with_name("mininet_topo.py")), str(cfg)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    head = proc.stdout.readline().split()
    if len(head) != 3 or head[0] != "PIDS":
        proc.wait(10)
        raise RuntimeError(f"Mininet did not start: {(proc.stderr.read() if proc.stderr else '').strip()[-2000:]}")
    pids = [int(head[1]), int(head[2])]

    def end_hosts() -> None:  # after the helper has gone: its host shells, by PID, should it have left any
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)

    tb.on_close(end_hosts, after_processes=True)
    wait_ready(proc, "Mininet")
    return Hosts(("mnexec", "-a", str(pids[0])), ("mnexec", "-a", str(pids[1])), MOBILE_IP, EDGE_IP)

