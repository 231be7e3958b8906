"""Torch modules: the shared :class:`Sc2Model` base, the registry, and the bundled models."""

from sc2sim.models import classifiers, student  # noqa: F401  (registers teacher, light, student)
from sc2sim.models import codec  # noqa: F401
from sc2sim.models.base import MODELS, Sc2Model, build_model, register_model
from sc2sim.models.bundle import load_bundled, read_card, save_bundle

__all__ = ["MODELS", "Sc2Model", "build_model", "register_model", "load_bundled", "read_card", "save_bundle"]
