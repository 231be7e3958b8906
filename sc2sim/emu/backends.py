"""Backends: two hosts (network namespaces) joined by a shaped link, and how to run commands on them.

* ``userspace``: namespaces made with ``ip netns``, one TUN device in each, and the forwarder of
  :mod:`sc2sim.emu.forwarder` applying rate, one-way delay, jitter, random loss and a bounded queue,
  or a Mahimahi trace (:mod:`sc2sim.emu.userspace_backend`). Works on any kernel with TUN (root only).
* ``mininet``: Mininet's two hosts and a ``TCLink`` (``tc`` htb for the rate, ``netem`` for delay,
  jitter and loss), see :mod:`sc2sim.emu.mininet_backend`.

Both return :class:`Hosts`: the command prefixes that run a program inside each host, and the
addresses. Everything they create belongs to the :class:`~sc2sim.emu.netns.Testbed`.
"""

from __future__ import annotations

from typing import Any

from sc2sim.emu.hosts import EDGE_IP, MOBILE_IP, Hosts, wait_ready
from sc2sim.emu.mininet_backend import mininet_link
from sc2sim.emu.netns import Testbed
from sc2sim.emu.userspace_backend import userspace_link

__all__ = ["EDGE_IP", "MOBILE_IP", "Hosts", "wait_ready", "userspace_link", "mininet_link", "link_docs", "link_for_point"]

def link_docs(point: Any, queue_bytes: int = 1_000_000) -> tuple[dict[str, Any], dict[str, Any]]:
    """The forwarder's JSON link specs (uplink, downlink) of a sweep point."""
    def one(lp: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {"one_way_delay_ms": lp.one_way_delay_ms, "jitter_ms": lp.jitter_ms, "loss": lp.loss,
                               "queue_bytes": queue_bytes}
        if lp.trace is not None:
            doc.update(trace=str(lp.trace), scale=lp.scale, accounting=lp.accounting)
        else:
            doc["rate_mbps"] = float(lp.bandwidth_mbps)
        return doc

    return one(point.network.uplink), one(point.network.downlink)


def link_for_point(tb: Testbed, point: Any, backend: str, source: Any = None) -> Hosts:
    """Two hosts joined by the point's link on ``backend`` (``userspace`` or ``mininet``)."""
    up, down = link_docs(point)
    if backend == "mininet":
        return mininet_link(tb, up, down, getattr(source, "_source", "scenario"))
    return userspace_link(tb, up, down, seed=point.seed)
