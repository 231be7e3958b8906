"""CLI command modules; each exposes ``register(app: typer.Typer) -> None``.

Add a module here to add commands. Keep heavy imports inside the command bodies.
"""

from __future__ import annotations

from sc2sim.commands import models_cmds

COMMAND_MODULES = [models_cmds]

try:  # the simulator room registers run/devices/calibrate once it exists
    from sc2sim.commands import sim_cmds

    COMMAND_MODULES.append(sim_cmds)
except ImportError:  # pragma: no cover - during bring-up only
    pass
