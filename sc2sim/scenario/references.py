"""What a scenario names in other files: device profiles (each name exists in its role, each mobile
device has a power model for every radio swept) and the uplink trace (present and readable).

Checked once, when the scenario is loaded (:func:`sc2sim.scenario.parse_scenario`); each error is one
line naming the scenario file and field, and the other file where it is at fault.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

from sc2sim.config import locate
from sc2sim.errors import ConfigError

if TYPE_CHECKING:
    from sc2sim.scenario.schema import Scenario


def check_references(sc: Scenario, src: Path, options: dict[str, str] | None = None) -> None:
    """ConfigError (one line) unless every device, radio and trace ``sc`` names exists and fits."""
    _check_devices(sc, src, options)
    _check_radios(sc, src, options)
    _check_trace(sc, src)


def _check_devices(sc: Scenario, src: Path, options: dict[str, str] | None) -> None:
    from sc2sim.devices import available_devices

    devices = available_devices()
    for role in ("mobile", "edge"):
        names = getattr(sc, role)
        allowed = sorted(n for n, roles in devices.items() if role in roles)
        for i, name in enumerate(names):
            if name not in allowed:
                where = f"{role}[{i}]" if len(names) > 1 else role
                hint = difflib.get_close_matches(name, allowed, n=1)
                raise ConfigError(f"{locate(src, where, options)}: {name!r} — allowed {role} devices: {', '.join(allowed)}"
                                  + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def _check_radios(sc: Scenario, src: Path, options: dict[str, str] | None) -> None:
    """Every mobile device's profile has a power model for every ``network.radio`` the scenario sweeps."""
    from sc2sim.devices import device_files, load_device

    radios = sc.network.radio
    for name in sc.mobile:
        have = load_device(name).radios
        for i, tech in enumerate(radios):
            if tech not in have:
                where = f"network.radio[{i}]" if len(radios) > 1 else "network.radio"
                raise ConfigError(f"{locate(src, where, options)}: {tech!r} — mobile device {name!r} "
                                  f"({device_files()[name]}) has radio models for {', '.join(have) or 'none'}")


def _check_trace(sc: Scenario, src: Path) -> None:
    up = sc.network.uplink
    if up.trace is None:
        return
    p = Path(sc._source_dir) / up.trace
    try:
        missing = not p.exists() and not p.is_symlink()
    except OSError:  # e.g. a name too long: the reader says why
        missing = False
    if missing:
        raise ConfigError(f"{src}: network.uplink.trace: {up.trace!r} — no such file (looked for {p})")
    from sc2sim.network import read_mahimahi

    read_mahimahi(p)  # a folder, a FIFO or a bad line: one line naming the trace file
