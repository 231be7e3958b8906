"""Registry names: parsing, canonical form, and errors that name what is allowed."""

from __future__ import annotations

import json
import re

import pytest
from conftest import run_cli

from sc2sim.errors import ConfigError
from sc2sim.naming import PipelineSpec
from sc2sim.pipelines import build_pipeline, canonical_name


def test_parse_and_canonical():
    spec = PipelineSpec.parse("offload:JPEG?quality=50&optimize=1")
    assert (spec.family, spec.variant, spec.raw) == ("offload", "jpeg", {"quality": "50", "optimize": "1"})
    assert spec.strategy == "offload" and not spec.local and PipelineSpec.parse("local:light").local
    assert canonical_name("offload:jpeg?optimize=1&quality=50") == "offload:jpeg?optimize=1&quality=50"
    assert canonical_name("offload:jpeg?quality=50&optimize=1") == "offload:jpeg?optimize=1&quality=50"
    assert build_pipeline("offload:webp?quality=30").params["quality"] == 30


def test_classifier_parameter_is_model_everywhere_with_arch_as_alias():
    from sc2sim.pipelines.base import resolve_params

    _, name, _, params = resolve_params("local:torchvision?arch=resnet18&weights=none")
    assert name == "local:torchvision?model=resnet18&weights=none" and params["model"] == "resnet18"
    assert resolve_params("local:torchvision?model=resnet18&weights=none")[1] == name
    with pytest.raises(ConfigError, match="given twice"):
        resolve_params("local:torchvision?arch=resnet18&model=resnet50&weights=none")


@pytest.mark.parametrize("bad,needle", [
    ("jpeg", "STRATEGY:NAME"),
    ("gpu:resnet", "STRATEGY local, offload or split"),
    ("offload:gif", "known:"),
    ("offload:jpeg?qualty=50", "allowed: card, method, model, optimize, point, quality, weights"),
    ("offload:jpeg?quality=500", "1-100"),
    ("offload:jpeg?quality=high", "1-100"),
    ("offload:jpeg?quality=050", "plain ASCII number (50)"),  # the name is the cache key: one spelling per value
    ("offload:jpeg?quality=５０", "plain ASCII number"),
    ("split:sc2?beta=inf", "a finite number"),
    ("split:sc2?beta=nan", "a finite number"),
    ("offload:jpeg?model=resnt50&weights=none", "did you mean resnet50"),  # a named value suggests close names
    ("offload:png?model=teachr", "did you mean teacher?"),
])
def test_bad_names_raise_config_error_naming_allowed(bad, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        build_pipeline(bad)


def test_cli_lists_pipelines_as_json():
    proc = run_cli("pipelines", "--json")
    assert proc.returncode == 0, proc.stderr
    names = {r["name"] for r in json.loads(proc.stdout)}
    assert {"local:teacher", "local:light", "offload:png", "offload:jpeg", "offload:webp", "offload:avif"} <= names


def test_cli_bad_pipeline_is_one_line_exit_2(tmp_path):
    proc = run_cli("profile", "--pipelines", "offload:jpeg?quality=0", "--samples", "2", "--out", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "quality" in proc.stderr
