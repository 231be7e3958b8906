"""Transport models: how many bytes a payload puts on the wire and how long it waits besides.

A transfer of ``B`` payload bytes is split into three parts, so that the bottleneck (constant rate,
trace, or a cell shared with other devices) can be modelled apart from protocol waiting:

``pre_s``
    time before the first byte can use the bottleneck: the TCP handshake and the slow-start stalls
    (rounds in which the congestion window is too small to keep the link busy);
``wire_bytes``
    bytes that occupy the bottleneck: payload plus per-segment headers (plus retransmissions);
``post_s``
    time after the last byte leaves the bottleneck: the one-way propagation delay (plus jitter and
    loss-recovery waits, drawn per request by :func:`loss_penalty`).

On an otherwise idle constant-rate link of ``R`` bit/s the transfer takes
``pre_s + wire_bytes*8/R + post_s``.

**raw** is the idealised datagram: ``wire_bytes = B``, no handshake, no slow start.

**tcp** (documented model, not a packet-level simulation):

* segments of ``mss`` = 1448 payload bytes, each with ``header`` = 52 bytes of TCP/IP header
  (20 IP + 20 TCP + 12 timestamp option), so ``wire = B + ceil(B/mss)*52``;
* a new connection pays the handshake: one RTT plus the serialisation of the SYN on the uplink and
  of the SYN-ACK on the downlink (60 bytes each: IPv4 + TCP headers with the MSS, SACK, timestamp and
  window-scale options), and the client's handshake ACK (52 bytes) crosses the uplink bottleneck just
  before the data (Linux acknowledges the SYN-ACK at once, then sends). A ``persistent`` connection
  pays none of this. (The SYN and SYN-ACK terms were added after the emulator showed them at
  1 Mbit/s, where a SYN alone takes 0.5 ms: BENCHMARKS.md section 6.);
* slow start from ``init_cwnd`` = 10 segments (RFC 6928), doubling each round (no delayed ACKs).
  Round ``k`` sends ``n_k = min(cwnd_k, remaining)`` segments and the next round starts when the
  first ACK returns, so a non-final round lasts ``max(rtt + s, n_k*s)`` with ``s`` one full segment's
  serialisation time; the stall of round ``k`` is ``max(0, rtt - (n_k - 1)*s)``. A persistent
  connection restarts slow start after idle (Linux ``tcp_slow_start_after_idle=1``);
* losses: a lost segment is retransmitted (its bytes cross the bottleneck again). If at least three
  segments follow it, fast retransmit recovers it after one extra RTT; otherwise (a tail loss) it
  waits one retransmission timeout ``rto_ms`` (Linux's minimum, 200 ms). Retransmissions may be
  lost again (geometric). Congestion-window reductions after a loss are not modelled.

On a trace link the handshake packets and the slow-start stalls are timed at the trace's mean rate
over the RTTs around each transfer (they were at its long-run mean until the emulator showed
errors up to 9 %: BENCHMARKS.md section 6), and in a cell shared by several devices at the cell's
full rate (the bottleneck itself, trace schedule and
sharing, still governs when the bytes get through). DESIGN's measured "about 4.6 %" TCP/IP overhead
also counts Ethernet framing and ACKs; the 52 B per 1448 B segment modelled here is 3.6 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MSS_BYTES = 1448
"""TCP maximum segment size on a 1500-byte MTU with the timestamp option (1500 - 20 - 20 - 12)."""
HEADER_BYTES = 52
"""TCP/IP header bytes per segment: 20 (IPv4) + 20 (TCP) + 12 (timestamp option)."""
INIT_CWND = 10
"""Initial congestion window in segments (RFC 6928, Linux default)."""
SYN_BYTES = 60
"""Bytes of a SYN or SYN-ACK: 20 (IPv4) + 20 (TCP) + 20 of options (MSS, SACK-permitted, timestamps, window scale)."""
HANDSHAKE_ACK_BYTES = 52
"""The client's ACK of the SYN-ACK: 20 (IPv4) + 20 (TCP) + 12 (timestamp option)."""
RTO_MIN_MS = 200.0
"""Linux minimum retransmission timeout (``TCP_RTO_MIN`` = HZ/5)."""
RAW_PACKET_BYTES = 1500
"""Packet size used to count losses in raw mode."""


@dataclass(frozen=True)
class TransportModel:
    """Parameters of the transport: ``kind`` is ``tcp`` or ``raw``; sizes in bytes, times in ms."""

    kind: str = "tcp"
    persistent: bool = False
    mss: int = MSS_BYTES
    header: int = HEADER_BYTES
    init_cwnd: int = INIT_CWND
    rto_ms: float = RTO_MIN_MS

    @property
    def packet_bytes(self) -> int:
        """Bytes of one full packet on the wire: a TCP segment with its headers, or a raw packet."""
        return self.mss + self.header if self.kind == "tcp" else RAW_PACKET_BYTES


@dataclass(frozen=True)
class TransferCost:
    """Deterministic cost of sending payloads (arrays, one entry per payload).

    ``pre_s`` and ``base_post_s`` in seconds, ``wire_bytes`` in bytes; ``segments`` is the number of
    packets (segments for tcp, 1500-byte packets for raw) used to draw losses.
    """

    pre_s: np.ndarray
    wire_bytes: np.ndarray
    base_post_s: np.ndarray
    segments: np.ndarray


def segments_of(nbytes: np.ndarray, model: TransportModel) -> np.ndarray:
    """Number of packets a payload of ``nbytes`` bytes is cut into (at least 1)."""
    size = model.mss if model.kind == "tcp" else RAW_PACKET_BYTES
    b = np.asarray(nbytes, dtype=np.int64)
    return np.maximum(1, -(-b // size))


def slow_start_stall_s(segments: np.ndarray, rtt_s: float, rate_mbps: float | np.ndarray, model: TransportModel) -> np.ndarray:
    """Total slow-start stall (s) of flows of ``segments`` segments on a link of ``rate_mbps`` (one
    rate, or one per flow).

    Rounds ``k = 0, 1, ...`` carry ``init_cwnd * 2**k`` segments; every round but the last stalls
    ``max(0, rtt - (n_k - 1) * s)`` where ``s`` is one full segment's serialisation time.
    """
    segs = np.asarray(segments, dtype=np.int64)
    s = (model.mss + model.header) * 8.0 / (np.asarray(rate_mbps, dtype=np.float64) * 1e6)
    stall = np.zeros(segs.shape, dtype=np.float64)
    sent = 0
    cwnd = model.init_cwnd
    while True:
        sent += cwnd
        more = segs > sent  # this round was not the last one
        if not np.any(more):
            break
        stall += np.where(more, np.maximum(0.0, rtt_s - (cwnd - 1) * s), 0.0)
        cwnd *= 2
    return stall


def transfer_cost(nbytes: np.ndarray, rate_mbps: float | np.ndarray, one_way_delay_s: float, rtt_s: float,
                  model: TransportModel, handshake: bool | None = None,
                  back_rate_mbps: float | None = None) -> TransferCost:
    """Cost of sending payloads of ``nbytes`` bytes over a link of ``rate_mbps`` Mbit/s (one rate, or
    one per payload: on a trace link, the rate around each transfer, see :func:`sc2sim.sim.plan.local_rate_mbps`).

    ``one_way_delay_s`` is the propagation delay of this direction and ``rtt_s`` the round-trip time
    (both seconds). ``handshake`` defaults to ``not model.persistent`` (tcp only); ``back_rate_mbps``
    is the other direction's rate, which carries the SYN-ACK (None: not counted).
    """
    b = np.asarray(nbytes, dtype=np.int64)
    segs = segments_of(b, model)
    post = np.full(b.shape, float(one_way_delay_s))
    if model.kind == "raw":
        return TransferCost(np.zeros(b.shape), b.astype(np.float64), post, segs)
    if handshake is None:
        handshake = not model.persistent
    wire = (b + segs * model.header).astype(np.float64)
    pre = slow_start_stall_s(segs, rtt_s, rate_mbps, model)
    if handshake:
        pre = pre + rtt_s + SYN_BYTES * 8.0 / (rate_mbps * 1e6)
        if back_rate_mbps:
            pre = pre + SYN_BYTES * 8.0 / (back_rate_mbps * 1e6)
        wire = wire + HANDSHAKE_ACK_BYTES
    return TransferCost(pre, wire, post, segs)


def isolated_time_s(nbytes: np.ndarray | int, rate_mbps: float, one_way_delay_s: float, rtt_s: float,
                    model: TransportModel, handshake: bool | None = None,
                    back_rate_mbps: float | None = None) -> np.ndarray:
    """Time (s) to deliver payloads on an idle constant-rate link, without loss: pre + wire/rate + post."""
    c = transfer_cost(np.atleast_1d(nbytes), rate_mbps, one_way_delay_s, rtt_s, model, handshake, back_rate_mbps)
    return c.pre_s + c.wire_bytes * 8.0 / (rate_mbps * 1e6) + c.base_post_s


def loss_penalty(segments: np.ndarray, loss: float, rtt_s: float, model: TransportModel,
                 rng: np.random.Generator | None, packet_bytes: float) -> tuple[np.ndarray, np.ndarray]:
    """Draw per-transfer loss costs: ``(extra_wire_bytes, extra_wait_s)``.

    Every packet is sent until it gets through (loss probability ``loss`` per transmission), so the
    number of lost transmissions of ``n`` packets is negative-binomial. tcp: a loss among packets
    that have three successors costs one RTT (fast retransmit), a loss among the last three costs one
    RTO; raw: every loss costs one RTT (the application notices and resends). Each lost transmission
    also re-sends ``packet_bytes`` bytes through the bottleneck. ``rng`` may be None when ``loss`` is 0.
    """
    segs = np.asarray(segments, dtype=np.int64)
    zeros = np.zeros(segs.shape, dtype=np.float64)
    if loss <= 0.0:
        return zeros, zeros.copy()
    if rng is None:
        raise ValueError("loss_penalty: a random generator is needed when loss > 0")
    succ = 1.0 - loss
    tail = np.minimum(segs, 3) if model.kind == "tcp" else segs
    body = segs - tail
    lost_tail = rng.negative_binomial(np.maximum(tail, 1), succ) * (tail > 0)
    lost_body = rng.negative_binomial(np.maximum(body, 1), succ) * (body > 0)
    if model.kind == "tcp":
        wait = lost_body * rtt_s + lost_tail * (model.rto_ms / 1000.0)
    else:
        wait = (lost_body + lost_tail) * rtt_s
    extra = (lost_body + lost_tail) * float(packet_bytes)
    return extra.astype(np.float64), wait.astype(np.float64)
