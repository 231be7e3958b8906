"""CLI command modules; each defines its commands as module-level functions (importable and testable
alone) and exposes ``register(app: typer.Typer) -> None``; shared helpers live in
:mod:`sc2sim.commands.common`, shared options in :mod:`sc2sim.commands.options`.

Add a module here to add commands. Keep heavy imports (torch) inside the command bodies so that
``sc2sim --help`` and the simulator commands start fast.
"""

from __future__ import annotations

from sc2sim.commands import device_cmds, emu_cmds, models_cmds, predict_cmds, report_cmds, sim_cmds, sweep_cmds, whatif_cmds

COMMAND_MODULES = [models_cmds, sim_cmds, device_cmds, predict_cmds, emu_cmds, report_cmds, sweep_cmds, whatif_cmds]
