"""Hand-written YAML files (scenarios, device profiles): safe loading and one-line validation errors.

Every error reads ``<file>: <field.path>: <bad value> — <what is allowed>``; unknown keys get the
allowed keys and a did-you-mean. Shared by :mod:`sc2sim.scenario`, :mod:`sc2sim.devices` and :mod:`sc2sim.cards`.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sc2sim.errors import ConfigError



def show_value(v: Any) -> str:
    """A short one-line rendering of a (bad) value for an error message."""
    s = repr(v) if isinstance(v, str) else json.dumps(v, default=str) if isinstance(v, (dict, list)) else str(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _raw_at(raw: Any, loc: tuple) -> tuple[bool, Any]:
    cur = raw
    for key in loc:
        if isinstance(cur, dict) and key in cur:
            cur = cur[key]
        elif isinstance(cur, list) and isinstance(key, int) and key < len(cur):
            cur = cur[key]
        else:
            return False, None
    return True, cur


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    for key in loc:
        if not isinstance(key, str) or key not in model.model_fields:
            return None
        ann = model.model_fields[key].annotation
        cands = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            cands = [ann]
        if not cands:
            return None
        model = cands[0]
    return model


def format_validation_error(file: str | Path, err: ValidationError, raw: Any, model: type[BaseModel]) -> str:
    """One line ``<file>: <field.path>: <bad value> — <what is allowed>`` for a pydantic error."""
    errors = err.errors(include_url=False)
    e = errors[0]
    loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith(("function-", "list["))))
    # a scalar written for a sweepable field shows up as element 0 of a list: drop that index
    if loc and loc[-1] == 0:
        found, val = _raw_at(raw, loc[:-1])
        if found and not isinstance(val, list):
            loc = loc[:-1]
    path = "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if i else str(k)) for i, k in enumerate(loc)) or "(top level)"
    found, val = _raw_at(raw, loc)
    kind = e["type"]
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = sorted(parent.model_fields) if parent else []
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        msg = f"unknown key — allowed keys: {', '.join(allowed)}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        text = f"{file}: {path}: {msg}"
    elif kind == "missing":
        text = f"{file}: {path}: (missing) — required"
    else:
        what = e["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        text = f"{file}: {path}: {show_value(val if found else e.get('input'))} — {what}"
    if len(errors) > 1:
        text += f" (+{len(errors) - 1} more)"
    return text


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file with ``yaml.safe_load``; unreadable files and syntax errors become ConfigError."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise ConfigError(f"{p}: cannot read ({err.strerror or err})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{p}: YAML syntax error{where}: {getattr(err, 'problem', None) or err}") from None


M = TypeVar("M", bound=BaseModel)


def validate_mapping(raw: Any, model: type[M], source: str | Path, expected: str) -> M:
    """``model`` validated from the parsed file ``raw``; ConfigError with one line naming ``source``
    and the field (``expected`` says what the top level should hold when it is not a mapping)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: (top level): {show_value(raw)} — {expected}")
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err, raw, model)) from None
