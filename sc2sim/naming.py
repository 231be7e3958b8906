"""Pipeline registry names, parsed once into a typed :class:`PipelineSpec`.

A registry name reads ``FAMILY:VARIANT?key=value&key=value`` (e.g. ``offload:jpeg?quality=50``).
The family is the strategy: ``local`` (the whole model on the device), ``offload`` (input
compression, the model on the edge) or ``split`` (a head on the device, the tail on the edge).
Wherever a name enters (a CLI option, a scenario, a profile table) it is parsed here; the rest of
the code asks the spec (``spec.strategy``, ``spec.local``) instead of testing prefixes.
Parameter aliases (:data:`PARAM_ALIASES`) are resolved here too.

Canonical form (the ``pipeline`` column of every table and the cache key): lower-case family and
variant, parameters sorted by key, values exactly as given (defaults are not added). This module is
torch-free, so the simulator can use it without loading any model; whether the family, variant and
parameters exist is the registry's business (:func:`sc2sim.pipelines.base.resolve_params`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from sc2sim.errors import ConfigError

STRATEGIES = ("local", "offload", "split")
"""The three strategies, each a pipeline family."""

PARAM_ALIASES: dict[str, dict[str, str]] = {"local:torchvision": {"arch": "model"}}
"""Other spellings of parameters, per ``family:variant``: alias -> the parameter's name. The classifier
is ``model=`` in every family; ``local:torchvision`` also takes ``arch=``. Applied when a name is
parsed, so the canonical name always uses the parameter's own spelling."""

_PART = re.compile(r"^[a-z0-9_\-]+$")
_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_HINT = ("not a registry name — must be STRATEGY:NAME[?key=value&...] with STRATEGY local, offload or split, "
         "e.g. offload:jpeg?quality=50 (see `sc2sim pipelines`)")


class PipelineNameError(ConfigError):
    """A registry name that is malformed or that the registry rejects.

    ``name`` is the name as given, ``what`` says what is wrong and what is allowed. Where the name
    came from a file, :meth:`in_field` gives the one-line error naming the file and field.
    """

    def __init__(self, name: object, what: str) -> None:
        super().__init__(f"pipeline {name!r}: {what}")
        self.name, self.what = name, what

    def in_field(self, source: str, field: str) -> ConfigError:
        """The same error located in ``source`` (a file) at ``field``."""
        return ConfigError(f"{source}: {field}: {self.name!r}: {self.what}")


@dataclass(frozen=True)
class PipelineSpec:
    """A parsed registry name: ``family`` (= strategy), ``variant`` and raw string ``params``."""

    family: str
    variant: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, name: str) -> "PipelineSpec":
        """Parse ``name``; ConfigError (one line naming the pipeline and what is allowed) if malformed."""
        if not isinstance(name, str):
            raise PipelineNameError(name, _HINT)
        head, _, query = name.strip().partition("?")
        family, sep, variant = head.partition(":")
        family, variant = family.lower(), variant.lower()
        if not sep or family not in STRATEGIES or not _PART.match(variant):
            raise PipelineNameError(name, _HINT)
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            raise PipelineNameError(name, f"parameters {query!r} — must look like key=value&key=value") from None
        params: dict[str, str] = {}
        for k, v in pairs:
            if not _KEY.match(k) or not v or any(c in v for c in "&= \t\n"):
                raise PipelineNameError(name, f"parameter {k}={v!r} — keys are letters, digits, '_', '.', '-'; "
                                        "values are non-empty without spaces, '&' or '='")
            k = PARAM_ALIASES.get(f"{family}:{variant}", {}).get(k, k)
            if k in params:
                raise PipelineNameError(name, f"parameter {k!r} given twice — give each parameter once (an alias "
                                        "counts as the same parameter)")
            params[k] = v
        return cls(family, variant, tuple(sorted(params.items())))

    @property
    def key(self) -> str:
        """``family:variant``: the registry key of the pipeline's class."""
        return f"{self.family}:{self.variant}"

    @property
    def name(self) -> str:
        """The canonical registry name (parameters sorted by key)."""
        return self.key + ("?" + "&".join(f"{k}={v}" for k, v in self.params) if self.params else "")

    @property
    def strategy(self) -> str:
        """``local``, ``offload`` or ``split``."""
        return self.family

    @property
    def local(self) -> bool:
        """True when nothing is sent: the whole model runs on the device."""
        return self.family == "local"

    @property
    def raw(self) -> dict[str, str]:
        """The parameters as a dict of strings."""
        return dict(self.params)

    def with_params(self, **changes: str | None) -> "PipelineSpec":
        """A copy with parameters set (a value) or removed (None)."""
        p = self.raw
        for k, v in changes.items():
            if v is None:
                p.pop(k, None)
            else:
                p[k] = str(v)
        return PipelineSpec(self.family, self.variant, tuple(sorted(p.items())))

    def __str__(self) -> str:
        return self.name


def canonical_name(name: str) -> str:
    """The canonical spelling of a registry name (used as the ``pipeline`` column and cache key)."""
    return PipelineSpec.parse(name).name


def strategy_of(name: str) -> str:
    """``local``, ``offload`` or ``split``: the strategy of a registry name."""
    return PipelineSpec.parse(name).strategy


def is_local(name: str) -> bool:
    """True when the pipeline runs whole on the device (nothing crosses the link)."""
    return PipelineSpec.parse(name).local
