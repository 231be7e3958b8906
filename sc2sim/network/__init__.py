"""Link models: constant-rate and Mahimahi-trace bottlenecks, and the raw/TCP transport model.

* :mod:`sc2sim.network.capacity` — a link's bottleneck as a cumulative capacity function
  (:class:`ConstantCapacity`, :class:`TraceCapacity` with Mahimahi's exact semantics, :func:`read_mahimahi`);
* :mod:`sc2sim.network.transport` — how a payload becomes wire bytes plus waiting time
  (:class:`TransportModel`, :func:`transfer_cost`, :func:`isolated_time_s`, :func:`loss_penalty`).
"""

from sc2sim.network.capacity import (
    ACCOUNTINGS,
    MTU_BYTES,
    TUN_HEADER_BYTES,
    Capacity,
    ConstantCapacity,
    TraceCapacity,
    opportunity_bytes,
    read_mahimahi,
)
from sc2sim.network.transport import (
    HEADER_BYTES,
    INIT_CWND,
    MSS_BYTES,
    TransferCost,
    TransportModel,
    isolated_time_s,
    loss_penalty,
    slow_start_stall_s,
    transfer_cost,
)

__all__ = [
    "ACCOUNTINGS", "MTU_BYTES", "TUN_HEADER_BYTES", "Capacity", "ConstantCapacity", "TraceCapacity",
    "opportunity_bytes", "read_mahimahi",
    "HEADER_BYTES", "INIT_CWND", "MSS_BYTES", "TransferCost", "TransportModel",
    "isolated_time_s", "loss_penalty", "slow_start_stall_s", "transfer_cost",
]
