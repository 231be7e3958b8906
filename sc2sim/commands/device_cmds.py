"""Commands about device profiles: ``devices`` (list them) and ``calibrate`` (measure this machine)."""

from __future__ import annotations

import json

import typer


def devices(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the device profiles (device_profiles/*.yaml): roles, compute, power, radio."""
    from rich.console import Console
    from rich.table import Table

    from sc2sim.devices import device_files, load_device_file

    profs = [load_device_file(p) for p in device_files().values()]
    if as_json:
        docs = [p.model_dump(by_alias=True, exclude_none=True) for p in profs]
        for d, p in zip(docs, device_files().values()):
            d["file"] = str(p)
        print(json.dumps(docs, indent=1))
        return
    t = Table(title="device profiles")
    for head in ("name", "roles", "type", "peak GFLOPS", "eff", "GFLOPS/core", "overhead ms", "scalar", "active W", "idle W", "radios"):
        t.add_column(head, justify="left" if head in ("name", "roles", "type", "radios") else "right")
    for p in profs:
        c = p.compute
        radios = ",".join(k for k in ("wifi", "lte", "3g") if p.radio and getattr(p.radio, "three_g" if k == "3g" else k))
        t.add_row(p.name, ",".join(p.roles), c.type, f"{c.peak_gflops:g}", f"{c.efficiency:.2f}",
                  f"{c.achieved_gflops_per_core:.1f}", f"{c.overhead_ms:g}", f"{c.scalar_speed:g}",
                  f"{p.power.active_w:g}", f"{p.power.idle_w:g}", radios or "-")
    Console().print(t)


def register(app: typer.Typer) -> None:
    """Add ``devices`` and ``calibrate`` (defined with the cost model's commands) to the app."""
    from sc2sim.commands.predict_cmds import calibrate

    app.command()(devices)
    app.command()(calibrate)
