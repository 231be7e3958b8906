"""Read the model section of an sc2bench (torchdistill) YAML config without running anything in it.

sc2bench configs (e.g. ``configs/ilsvrc2012/supervised_compression/entropic_student/
splitable_resnet50-fp-beta0.08_from_resnet50.yaml``) use torchdistill's YAML tags: ``!join``,
``!pathjoin``, ``!expanduser`` and ``!abspath`` build strings; ``!import_call``, ``!import_get``,
``!getattr`` and friends import and call Python code (they build the datasets and look up the
pretrained-weights enum). torchdistill's own loader executes those tags. Here the file goes through a
``yaml.SafeLoader`` subclass that evaluates only the string tags and keeps every other tag as an inert
:class:`Unresolved` value, so nothing in the file is imported or called.

From ``models.student_model`` (or ``models.model``) it keeps ``key`` and ``kwargs`` (older configs:
``name`` and ``params``, renamed), with ``weights``/``pretrained`` turned off (nothing is downloaded:
``checkpoint=`` supplies every weight), ``org_model_ckpt_file_path_or_url`` dropped (no second
checkpoint) and ``analysis_config`` dropped (sc2sim measures sizes itself). Any other unresolved tag
left in the model's kwargs is an error that names it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sc2sim.errors import ConfigError

MODEL_KEYS = ("student_model", "model")
DROPPED = ("org_model_ckpt_file_path_or_url", "analysis_config", "org_ckpt_strict")


@dataclass(frozen=True)
class Unresolved:
    """A torchdistill tag that would import or call code; kept as data, never evaluated."""

    tag: str
    value: Any


class _InertLoader(yaml.SafeLoader):
    """SafeLoader + torchdistill's string tags; every other ``!tag`` becomes :class:`Unresolved`."""


def _seq(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
    return loader.construct_sequence(node, deep=True)


def _inert(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Unresolved:
    if isinstance(node, yaml.MappingNode):
        value: Any = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.SequenceNode):
        value = _seq(loader, node)
    else:
        value = loader.construct_scalar(node)
    return Unresolved("!" + suffix, value)


_InertLoader.add_constructor("!join", lambda ld, n: "".join(str(x) for x in _seq(ld, n)))
_InertLoader.add_constructor("!pathjoin", lambda ld, n: os.path.join(*[str(x) for x in _seq(ld, n)]))
_InertLoader.add_constructor("!expanduser", lambda ld, n: os.path.expanduser(ld.construct_scalar(n)))
_InertLoader.add_constructor("!abspath", lambda ld, n: os.path.abspath(ld.construct_scalar(n)))
_InertLoader.add_multi_constructor("!", _inert)


def _rename(cfg: Any) -> Any:
    """Old sc2bench spelling (``name``/``params``) -> the current one (``key``/``kwargs``), recursively."""
    if isinstance(cfg, dict):
        out = {("key" if k == "name" and "key" not in cfg else "kwargs" if k == "params" and "kwargs" not in cfg else k): _rename(v)
               for k, v in cfg.items()}
        return out
    if isinstance(cfg, list):
        return [_rename(v) for v in cfg]
    return cfg


def _find_unresolved(obj: Any, path: str) -> tuple[str, Unresolved] | None:
    if isinstance(obj, Unresolved):
        return path, obj
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, list):
        items = enumerate(obj)
    else:
        return None
    for k, v in items:
        hit = _find_unresolved(v, f"{path}.{k}")
        if hit:
            return hit
    return None


def model_config(path: str, what: str = "config") -> dict[str, Any]:
    """``{"key": ..., "kwargs": {...}}`` of the config's student model, safe to pass to sc2bench."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"{what}: {path!r} — no such file")
    try:
        doc = yaml.load(p.read_text(), Loader=_InertLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise ConfigError(f"{what}: {path!r} — YAML error: {str(err).splitlines()[0]}") from None
    models = doc.get("models") if isinstance(doc, dict) else None
    found = [k for k in MODEL_KEYS if isinstance(models, dict) and isinstance(models.get(k), dict)]
    if not found:
        raise ConfigError(f"{what}: {path!r} — no models.student_model (or models.model) section, as sc2bench configs have")
    where = f"models.{found[0]}"
    cfg = _rename(models[found[0]])
    if not isinstance(cfg.get("key"), str):
        raise ConfigError(f"{what}: {path!r} — {where}.key: missing (the model builder, e.g. splittable_resnet)")
    kwargs = dict(cfg.get("kwargs") or {})
    if "weights" in kwargs:
        kwargs["weights"] = None  # no download: the checkpoint holds every weight
    kwargs.pop("pretrained", None)
    for k in DROPPED:
        kwargs.pop(k, None)
    hit = _find_unresolved(kwargs, f"{where}.kwargs")
    if hit:
        raise ConfigError(f"{what}: {path!r} — {hit[0]}: {hit[1].tag} — sc2sim does not run code from configs; "
                          "write the value out")
    return {"key": cfg["key"], "kwargs": kwargs}
