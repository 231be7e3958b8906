"""Simulation engines (torch-free): the SimPy discrete-event engine and the exact vectorised engine.

* :mod:`sc2sim.sim.plan` — draws the requests of one (sweep point, pipeline) and their costs;
* :mod:`sc2sim.sim.exact` — Lindley recursions in numpy for requests that do not interact;
* :mod:`sc2sim.sim.des` — SimPy model with a shared uplink cell and a batching edge server;
* :mod:`sc2sim.sim.energy` — device energy (compute + radio with tail);
* :mod:`sc2sim.sim.metrics` — request records and summaries;
* :mod:`sc2sim.sim.runner` — a whole scenario (the run folder itself is :mod:`sc2sim.runs`).
"""

from sc2sim.sim.des import simulate_des
from sc2sim.sim.exact import Times, lindley, simulate_exact
from sc2sim.sim.plan import Plan, build_plan, manual_plan, split_profile
from sc2sim.sim.runner import ENGINES, check_engine, run_plan, simulate_scenario

__all__ = [
    "simulate_des", "Times", "lindley", "simulate_exact", "Plan", "build_plan", "manual_plan", "split_profile",
    "ENGINES", "check_engine", "run_plan", "simulate_scenario",
]
