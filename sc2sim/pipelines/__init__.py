"""Pipelines: a mobile stage -> payload bytes -> an edge stage, registered by name.

Families: ``local:*`` (whole model on the device), ``offload:*`` (input compression, model on the
edge), ``split:*`` (head on the device, compressed features on the wire, tail on the edge).
"""

from sc2sim.pipelines import local, offload, split_sc2  # noqa: F401  (register families)
from sc2sim.pipelines import split_naive, learned  # noqa: F401
from sc2sim.pipelines import imagenet, split_sc2bench  # noqa: F401  (torchvision, sc2bench: bring your own model)
from sc2sim.pipelines.base import PIPELINES, Param, Pipeline, build_pipeline, register_pipeline
from sc2sim.pipelines.listing import describe_pipelines, print_pipelines
from sc2sim.naming import PipelineSpec, canonical_name

__all__ = ["PIPELINES", "Param", "Pipeline", "PipelineSpec", "build_pipeline", "register_pipeline", "canonical_name",
           "describe_pipelines", "print_pipelines"]
