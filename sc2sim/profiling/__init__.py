"""Profiling: run pipelines on real samples, count FLOPs, build and cache the profile table.

:func:`ensure_profile` gives every caller (``profile``, ``run``, ``sweep``, ``whatif``) card bytes and
accuracy, labelled ``published``, on architecture-only (``weights=none``) pipelines, never those of
untrained weights (see :mod:`sc2sim.profiling.architecture`).
"""

from __future__ import annotations

from sc2sim.profiling.architecture import apply_published, print_summary_with_sources
from sc2sim.profiling.ensure import ensure_profile, print_profile_summary, summarize_profile
from sc2sim.profiling.table import read_profile, write_profile

__all__ = ["ensure_profile", "print_profile_summary", "print_summary_with_sources", "summarize_profile",
           "read_profile", "write_profile", "apply_published"]
