"""Mininet helper process: two hosts joined by one TCLink, kept up until stdin closes or SIGTERM.

Run by :mod:`sc2sim.emu.mininet_backend` with a Python that imports Mininet (Debian's ``mininet``
package installs it for the system ``python3``), as ``python3 mininet_topo.py CONFIG.json``. It prints
``PIDS <mobile> <edge>`` (the host shells, for ``mnexec -a PID``) and ``ready``, then waits; on EOF or
SIGTERM it calls ``net.stop()``, which removes the link and ends the host shells. Stand-alone on
purpose (no sc2sim imports): it runs outside sc2sim's virtual environment.
"""

import json
import signal
import sys


def main() -> int:
    from mininet.link import TCLink
    from mininet.log import setLogLevel
    from mininet.net import Mininet

    cfg = json.load(open(sys.argv[1]))
    setLogLevel("error")
    net = Mininet(controller=None, link=TCLink, build=False, autoSetMacs=True)
    stopped = []

    def stop(*_):
        if not stopped:
            stopped.append(1)
            net.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        mobile = net.addHost("m", ip=cfg["mobile_ip"] + "/24")
        edge = net.addHost("e", ip=cfg["edge_ip"] + "/24")
        net.addLink(mobile, edge, cls=TCLink, params1=cfg["up"], params2=cfg["down"])
        net.build()
        print(f"PIDS {mobile.pid} {edge.pid}", flush=True)
        print("ready", flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or ends us)
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
