"""Profiling: run pipelines on real samples, count FLOPs, build and cache the profile table.

:func:`ensure_profile` gives every caller (``profile``, ``run``, ``sweep``, ``whatif``) card bytes and
accuracy, labelled ``published``, on architecture-only (``weights=none``) pipelines, never those of
untrained weights (see :mod:`sc2sim.profiling.architecture`).
"""

from __future__ import annotations

import importlib

_EXPORTS = {"apply_published": "architecture", "ensure_profile": "ensure", "print_profile_summary": "summary",
            "print_summary_with_sources": "summary", "summarize_profile": "summary", "read_profile": "table",
            "write_profile": "table"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):  # imported on first use: `sc2sim.profiling.table`/`.index` stay torch-free
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"sc2sim.profiling.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'sc2sim.profiling' has no attribute {name!r}")
