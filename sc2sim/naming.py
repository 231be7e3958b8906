"""Pipeline registry names: ``FAMILY:VARIANT?key=value&key=value``.

This module is torch-free so the simulator can canonicalise names from a scenario without
loading any model. Canonical form: lower-case family and variant, parameters sorted by key,
exactly as given otherwise (defaults are not added), e.g. ``offload:jpeg?quality=50``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from sc2sim.errors import ConfigError


def parse_name(name: str) -> tuple[str, str, dict[str, str]]:
    """Split ``family:variant?k=v&...`` into its parts; raise ConfigError on a malformed name."""
    raw = name.strip()
    head, _, query = raw.partition("?")
    family, sep, variant = head.partition(":")
    if not sep or not family or not variant:
        raise ConfigError(f"pipeline {name!r}: expected FAMILY:VARIANT[?key=value&...], e.g. offload:jpeg?quality=50 (see `sc2sim pipelines`)")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"pipeline {name!r}: parameters must look like key=value&key=value") from None
    params: dict[str, str] = {}
    for k, v in pairs:
        if k in params:
            raise ConfigError(f"pipeline {name!r}: parameter {k!r} given twice")
        params[k] = v
    return family.lower(), variant.lower(), params


def format_name(family: str, variant: str, params: dict[str, object]) -> str:
    """Build the canonical name from its parts (parameters sorted by key)."""
    base = f"{family}:{variant}"
    if not params:
        return base
    return base + "?" + "&".join(f"{k}={params[k]}" for k in sorted(params))


def canonical_name(name: str) -> str:
    """The canonical spelling of a registry name (used as the ``pipeline`` column and cache key)."""
    return format_name(*parse_name(name))


def strategy_of(name: str) -> str:
    """``local``, ``offload`` or ``split``: the strategy a registry name belongs to (its family)."""
    return parse_name(name)[0]
