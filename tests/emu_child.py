"""Child process for the clean-up tests: builds a testbed, reports what it made, then exits one way.

``python tests/emu_child.py MODE BACKEND`` with MODE in normal, exception, sigint, sigterm (wait to be
signalled) and BACKEND in userspace, mininet. Prints one JSON line: namespaces, PIDs, file prefix.
"""

import json
import signal
import sys
import time

from sc2sim.emu.backends import link_for_point, userspace_link
from sc2sim.emu.mininet_backend import mininet_link
from sc2sim.emu.netns import Testbed

mode, backend = sys.argv[1], sys.argv[2]
# A job started in the background by a non-interactive shell (as CI may run us) inherits SIGINT as
# ignored; restore Python's Ctrl-C behaviour so that the SIGINT path is really exercised.
signal.signal(signal.SIGINT, signal.default_int_handler)
up = {"rate_mbps": 10.0, "one_way_delay_ms": 0.0, "jitter_ms": 0.0, "loss": 0.0}
with Testbed("sc2test") as tb:
    hosts = (mininet_link if backend == "mininet" else userspace_link)(tb, up, dict(up))
    sleeper = tb.start([*hosts.edge_cmd, "sleep", "600"])
    pids = [p.pid for p in tb.procs] + [int(c) for c in (hosts.mobile_cmd[-1], hosts.edge_cmd[-1]) if c.isdigit()]
    print(json.dumps({"ns": list(tb.namespaces), "pids": pids, "prefix": tb.prefix}), flush=True)
    if mode == "exception":
        raise RuntimeError("boom")
    if mode in ("sigint", "sigterm"):
        time.sleep(600)
assert link_for_point  # imported to check the module graph loads in a child too
