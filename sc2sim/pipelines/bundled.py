"""Look-up of bundled models that a pipeline parameter selects (``beta`` of a student, ``lmbda`` of a codec)."""

from __future__ import annotations

from sc2sim.errors import ConfigError
from sc2sim.models.bundle import weights_dir


def bundled_values(prefix: str) -> list[float]:
    """Values ``V`` for which ``PREFIX<V>.json`` is bundled (e.g. prefix ``student-beta``), sorted."""
    out = []
    for p in weights_dir().glob(f"{prefix}*.json"):
        try:
            out.append(float(p.stem[len(prefix):]))
        except ValueError:
            continue
    return sorted(out)


def bundle_name(pipeline: str, prefix: str, key: str, value: float, train_hint: str) -> str:
    """``PREFIX<value>`` if bundled, else a ConfigError listing the bundled values and how to train one."""
    values = bundled_values(prefix)
    for v in values:
        if abs(v - value) <= 1e-12 * max(1.0, abs(v)):
            return f"{prefix}{v:g}"
    have = ", ".join(f"{v:g}" for v in values) or "none yet"
    raise ConfigError(f"pipeline {pipeline!r}: {key}={value:g} is not bundled — bundled: {have}; "
                      f"train it with `sc2sim train {train_hint} --{key} {value:g}`")
