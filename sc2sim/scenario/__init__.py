"""Scenario YAML: what to simulate (DESIGN section 4), loaded once into a typed :class:`Scenario`.

Two rooms: :mod:`.schema` (the pydantic models: every field, its unit, its range, the checks within
the file) and :mod:`.references` (what the scenario names in other files: device profiles, their
radio models, the uplink trace). YAML parsing and the one-line errors are :mod:`sc2sim.config`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sc2sim.config import validate_mapping
from sc2sim.errors import ConfigError
from sc2sim.readers import load_yaml
from sc2sim.scenario.references import check_references
from sc2sim.scenario.schema import (DEFAULT_TIMING_SAMPLES, MAX_POINTS, MAX_REQUESTS, MAX_SWEEP_VALUES, ArrivalSpec,
                                    BatchingSpec, EdgeServerSpec, LinkSpec, NetworkSpec, ObjectiveSpec, PolicySpec,
                                    Scenario, TransportSpec, WorkloadSpec)

__all__ = ["DEFAULT_TIMING_SAMPLES", "MAX_POINTS", "MAX_REQUESTS", "MAX_SWEEP_VALUES", "ArrivalSpec", "BatchingSpec",
           "EdgeServerSpec", "LinkSpec", "NetworkSpec", "ObjectiveSpec", "PolicySpec", "Scenario", "TransportSpec",
           "WorkloadSpec", "load_scenario", "parse_scenario"]


def parse_scenario(raw: Any, source: str | Path = "<scenario>", options: dict[str, str] | None = None) -> Scenario:
    """Validate an already-parsed scenario mapping; ``source`` names the file in errors, ``options``
    the command-line options that supplied fields (field path -> option, see :func:`sc2sim.config.locate`)."""
    src = Path(source)
    sc = validate_mapping(raw, Scenario, src, "a mapping of scenario keys (name, pipelines, network, ...)", options)
    sc._source_dir = str(src.parent)
    sc._source = str(src)
    if sc.policy.kind == "adaptive" and sc.workload.deadline_ms is None:
        raise ConfigError(f"{src}: policy: 'adaptive' — needs workload.deadline_ms (it picks the most accurate "
                          "pipeline predicted to meet the deadline)")
    check_references(sc, src, options)
    return sc


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file: schema, device names, radio models, trace files."""
    return parse_scenario(load_yaml(path), path)
