"""Dependencies point one way: the simulator rooms never import torch."""

from __future__ import annotations

import subprocess
import sys


def test_simulator_rooms_and_cli_import_without_torch():
    code = ("import sys, sc2sim.sim, sc2sim.scenario, sc2sim.network, sc2sim.devices, sc2sim.naming, sc2sim.tables, sc2sim.config, sc2sim.report, sc2sim.whatif, sc2sim.cli, "
            "sc2sim.commands; assert 'torch' not in sys.modules, 'torch was imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
