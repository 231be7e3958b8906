"""CLI command modules; each exposes ``register(app: typer.Typer) -> None``.

Add a module here to add commands. Keep heavy imports (torch) inside the command bodies so that
``sc2sim --help`` and the simulator commands start fast.
"""

from __future__ import annotations

from sc2sim.commands import emu_cmds, models_cmds, report_cmds, sim_cmds, sweep_cmds, whatif_cmds

COMMAND_MODULES = [models_cmds, sim_cmds, emu_cmds, report_cmds, sweep_cmds, whatif_cmds]
