"""The two emulated hosts as the backends hand them over: addresses, command prefixes, readiness.

Shared by :mod:`sc2sim.emu.userspace_backend` and :mod:`sc2sim.emu.mininet_backend`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Callable

MOBILE_IP, EDGE_IP = "10.203.0.1", "10.203.0.2"


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
