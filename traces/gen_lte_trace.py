"""Generate ``lte-uplink.up``: a synthetic, LTE-like uplink trace in Mahimahi format.

The file is made here, not downloaded. Model (all constants below, seed 2024):

* the uplink rate follows a log-normal AR(1) process updated every 100 ms:
  ``log r_k = mu + phi*(log r_{k-1} - mu) + sigma*sqrt(1-phi^2)*z_k`` with median ``exp(mu)`` =
  4 Mbit/s, ``phi`` = 0.95 (correlation over about 2 s) and ``sigma`` = 0.8 (rates mostly 1-15 Mbit/s),
  clipped to [0.2, 30] Mbit/s. This is a generic model of a fading cellular uplink, not a fit to a
  particular operator;
* about every 20 s on average (Poisson) an outage (a handover or deep fade) drops the rate to
  0.05 Mbit/s for 0.3-1.5 s;
* rates are turned into Mahimahi delivery opportunities deterministically: each millisecond adds
  ``rate * 1 ms`` bits of credit and every 1500 bytes (12,000 bits) of credit is one line (one
  packet opportunity) holding that millisecond. The last line is pinned at the trace length so that
  the replay period is exactly ``DURATION_S``.

Run ``python traces/gen_lte_trace.py`` to regenerate the identical file; it prints the mean rate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SEED = 2024
DURATION_S = 120
STEP_MS = 100
MEDIAN_MBPS, PHI, SIGMA = 4.0, 0.95, 0.8
MIN_MBPS, MAX_MBPS = 0.2, 30.0
OUTAGE_EVERY_S, OUTAGE_MIN_S, OUTAGE_MAX_S, OUTAGE_MBPS = 20.0, 0.3, 1.5, 0.05


def rates_mbps(rng: np.random.Generator) -> np.ndarray:
    """Rate (Mbit/s) in each 100 ms step."""
    steps = DURATION_S * 1000 // STEP_MS
    mu = np.log(MEDIAN_MBPS)
    z = rng.standard_normal(steps)
    x = np.empty(steps)
    x[0] = mu + SIGMA * z[0]
    for k in range(1, steps):
        x[k] = mu + PHI * (x[k - 1] - mu) + SIGMA * np.sqrt(1 - PHI**2) * z[k]
    r = np.clip(np.exp(x), MIN_MBPS, MAX_MBPS)
    t = rng.exponential(OUTAGE_EVERY_S)
    while t < DURATION_S:
        length = rng.uniform(OUTAGE_MIN_S, OUTAGE_MAX_S)
        r[int(t * 1000 // STEP_MS): int((t + length) * 1000 // STEP_MS) + 1] = OUTAGE_MBPS
        t += length + rng.exponential(OUTAGE_EVERY_S)
    return r


def opportunities_ms(rates: np.ndarray) -> np.ndarray:
    """Millisecond timestamps (1..DURATION_S*1000) of the delivery opportunities."""
    per_ms_bits = np.repeat(rates * 1e6 / 1000.0, STEP_MS)  # bits of credit added in each millisecond
    credit = np.cumsum(per_ms_bits) / 12000.0  # cumulative packets' worth of credit at the end of each ms
    counts = np.diff(np.floor(credit), prepend=0.0).astype(np.int64)
    ms = np.repeat(np.arange(1, per_ms_bits.size + 1), counts)
    if ms.size == 0 or ms[-1] != per_ms_bits.size:
        ms = np.append(ms, per_ms_bits.size)
    return ms


def main() -> None:
    """Write the trace next to this script and print its statistics."""
    rng = np.random.default_rng(SEED)
    ms = opportunities_ms(rates_mbps(rng))
    out = Path(__file__).with_name("lte-uplink.up")
    out.write_text("\n".join(map(str, ms.tolist())) + "\n")
    mean = ms.size * 12000 / (DURATION_S * 1e6)
    print(f"wrote {out}: {ms.size} opportunities over {DURATION_S} s, mean {mean:.2f} Mbit/s")


if __name__ == "__main__":
    main()
