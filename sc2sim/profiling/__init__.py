"""Profiling: run pipelines on real samples, count FLOPs, build and cache the profile table."""

from sc2sim.profiling.ensure import ensure_profile, print_profile_summary, summarize_profile
from sc2sim.profiling.table import read_profile, write_profile

__all__ = ["ensure_profile", "print_profile_summary", "summarize_profile", "read_profile", "write_profile"]
