"""Device energy per request: compute plus radio (Huang et al. LTE/WiFi/3G power model).

``energy_j`` is the energy the mobile device spends *because of* a request, above its idle draw:

* **compute**: ``power.active_w`` x the request's CPU time on the device;
* **radio** (offload and split only; local requests never use the radio): the radio is active from
  the start of the upload (``t_tx_start``) until the result has arrived (``t_done``). While active it
  draws ``beta`` mW, plus ``alpha_up`` mW per Mbit/s of uplink throughput and ``alpha_down`` mW per
  Mbit/s of downlink throughput; since power x time of a throughput term is ``alpha x Mbit sent``,
  the throughput terms cost ``alpha_up * wire_Mbit + alpha_down * result_Mbit`` (mJ). Overlapping
  active periods of one device's requests are counted once (each request is charged the part of its
  period not already covered by earlier ones);
* **tail**: after the device's radio goes quiet it stays in a high-power state for ``tail_s`` at
  ``tail_mw`` (LTE: about 11.6 s at about 1060 mW). The tail is charged to the last request (in
  upload order) of the busy period it follows and is cut short when the device's next upload starts.

The same function serves both engines: it depends only on the per-request times.
"""

from __future__ import annotations

import numpy as np

from sc2sim.devices import RadioTech


def compute_energy_j(mobile_s: np.ndarray, active_w: float) -> np.ndarray:
    """Energy (J) of the device's CPU work: active power (W) x compute time (s)."""
    return np.asarray(mobile_s, dtype=np.float64) * active_w


def radio_energy_j(device: np.ndarray, t_tx_start: np.ndarray, t_done: np.ndarray, up_bytes: np.ndarray,
                   down_bytes: np.ndarray, radio: RadioTech) -> tuple[np.ndarray, np.ndarray]:
    """Per-request radio energy (J): ``(active, tail)`` arrays; see the module docstring."""
    n = t_tx_start.size
    active, tail = np.zeros(n), np.zeros(n)
    if n == 0:
        return active, tail
    order = np.lexsort((t_tx_start, device))
    dev, s, e = device[order], t_tx_start[order], t_done[order]
    new_dev = np.concatenate(([True], dev[1:] != dev[:-1]))
    # running max of completion times within each device (segments restart at a new device)
    cover = e.copy()
    starts = np.flatnonzero(new_dev)
    for a, b in zip(starts, np.append(starts[1:], n)):
        cover[a:b] = np.maximum.accumulate(e[a:b])
    prev_cover = np.where(new_dev, -np.inf, np.concatenate(([-np.inf], cover[:-1])))
    covered = np.maximum(0.0, e - np.maximum(s, prev_cover))
    mbit = (up_bytes[order] * radio.alpha_up_mw_per_mbps + down_bytes[order] * radio.alpha_down_mw_per_mbps) * 8 / 1e6
    act = (covered * radio.beta_mw + mbit) / 1e3
    # the radio goes quiet after request k (in upload order) when the next upload starts after all
    # earlier active periods have ended; the tail then starts at cover[k]
    last_of_dev = np.concatenate((dev[1:] != dev[:-1], [True]))
    next_start = np.where(last_of_dev, np.inf, np.concatenate((s[1:], [np.inf])))
    ends_busy = next_start > cover
    tail_t = np.where(ends_busy, np.minimum(radio.tail_s, next_start - cover), 0.0)
    active[order] = act
    tail[order] = tail_t * radio.tail_mw / 1e3
    return active, tail
