"""Validating hand-written configuration (scenarios, device profiles, cards): one-line errors.

Every error reads ``<file>: <field.path>: <bad value> — <what is allowed>``; unknown keys get the
allowed keys and a did-you-mean. Shared by :mod:`sc2sim.scenario`, :mod:`sc2sim.devices` and
:mod:`sc2sim.cards`. :func:`number` makes the bounded, strictly numeric field types. Reading the
files safely is :mod:`sc2sim.readers`.
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
import re
from pathlib import Path
from typing import Annotated, Any, Iterator, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

from sc2sim.errors import ConfigError


# ------------------------------------------------------------------------------------------ values


def show_value(v: Any, limit: int = 60) -> str:
    """A short one-line rendering of a (bad) value for an error message.

    Renders at most ``limit`` characters and never walks more of ``v`` than that needs, so a huge,
    deeply nested or self-referencing value costs nothing.
    """
    out: list[str] = []
    budget = [limit + 4]
    for piece in _pieces(v, 0, budget, set()):
        out.append(piece)
        budget[0] -= len(piece)
        if budget[0] <= 0:
            break
    s = "".join(out).replace("\n", "\\n").replace("\r", "\\r")
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _pieces(v: Any, depth: int, budget: list[int], seen: set[int]) -> Iterator[str]:
    if isinstance(v, str):
        yield repr(v[: budget[0]]) if depth == 0 else json.dumps(v[: budget[0]])
        return
    if isinstance(v, (dict, list, tuple)):
        if depth > 20 or id(v) in seen:
            yield "..."
            return
        seen = seen | {id(v)}
        opened, closed = ("{", "}") if isinstance(v, dict) else ("[", "]")
        yield opened
        items = v.items() if isinstance(v, dict) else ((None, x) for x in v)
        for i, (key, item) in enumerate(items):
            if budget[0] <= 0:
                return
            if i:
                yield ", "
            if isinstance(v, dict):
                yield from _pieces(key if isinstance(key, str) else str(key)[:80], depth + 1, budget, seen)
                yield ": "
            yield from _pieces(item, depth + 1, budget, seen)
        yield closed
        return
    if depth and (v is None or isinstance(v, bool)):
        yield json.dumps(v)
        return
    if isinstance(v, (bytes, bytearray)):
        text = repr(bytes(v[: max(budget[0], 0) + 1]))
    elif isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 256:
        text = f"<a whole number of {v.bit_length()} bits>"  # str() of a huge int is slow or refused
    else:
        text = str(v)
    yield text[: budget[0] + 1]


def fmt_bound(x: float) -> str:
    """A bound for a message: powers of ten from 10^4 up (and 10^-4 down) as ``10^k``, else ``%g``."""
    if x and not isinstance(x, bool):
        k = math.log10(abs(x))
        if abs(k) >= 4 and abs(k - round(k)) < 1e-12:
            return f"{'-' if x < 0 else ''}10^{round(k)}"
    return f"{x:g}"


def number(lo: float | None, hi: float | None, unit: str = "", *, integer: bool = False, lo_open: bool = False,
           zero_ok: bool = False, low_hint: str = "", high_hint: str = "") -> Any:
    """A strictly numeric, finite, bounded field type for the pydantic models of this project.

    Accepts ints and floats (``integer``: whole numbers only; a float such as ``1e6`` with no
    fraction is taken), never booleans, text or NaN/infinity. The allowed range is ``[lo, hi]``
    (``(lo, hi]`` with ``lo_open``; ``zero_ok`` also allows exactly 0), and the error names it with
    ``unit``, e.g. ``must be a number in (0, 10^5] Mbit/s``; ``low_hint``/``high_hint`` are added
    when the value is below/above the range (e.g. ``did you give FLOP/s?``).
    """
    kind = "a whole number" if integer else "a number"
    if lo is None and hi is None:
        span = ""
    elif hi is None:
        span = f" {'>' if lo_open else '>='} {fmt_bound(lo)}"
    elif lo is None:
        span = f" <= {fmt_bound(hi)}"
    else:
        span = f" in {'(' if lo_open else '['}{fmt_bound(lo)}, {fmt_bound(hi)}]"
    what = f"must be {'0 or ' if zero_ok else ''}{kind}{span}{' ' + unit if unit else ''}"

    def check(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(what + (" (true/false is not a number)" if isinstance(v, bool) else ""))
        if isinstance(v, numbers.Integral):
            v = int(v)
        else:
            v = float(v)
            if not math.isfinite(v):
                raise ValueError(what + " (not infinite or NaN)")
            if integer:
                if not v.is_integer():
                    raise ValueError(what)
                v = int(v)
        if zero_ok and v == 0:
            return v
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise ValueError(what + (f" ({low_hint})" if low_hint else ""))
        if hi is not None and v > hi:
            raise ValueError(what + (f" ({high_hint})" if high_hint else ""))
        return v

    return Annotated[int if integer else float, BeforeValidator(check)]


# ------------------------------------------------------------------------------------------ errors


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


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")


def key_text(k: Any) -> str:
    return k if isinstance(k, str) and _PLAIN_KEY.match(k) else show_value(k, 40)


def locate(file: str | Path, path: str, options: dict[str, str] | None = None) -> str:
    """Where a bad value came from, for an error line: ``<file>: <field.path>``, or the command-line
    option that supplied the field when ``options`` maps a field path (prefix) to one, e.g.
    ``{"network.uplink.bandwidth_mbps": "--uplink"}`` gives ``--uplink[2]``."""
    for field in sorted(options or {}, key=len, reverse=True):
        if path == field or path.startswith((field + ".", field + "[")):
            return options[field] + path[len(field):]  # type: ignore[index]
    return f"{file}: {path}"


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys a file may give ``model``, sorted (a field's alias where it has one, e.g. ``3g``)."""
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _path_text(loc: tuple) -> str:
    """``a.b[2].c`` for a pydantic location; ``(top level)`` for the empty one."""
    return "".join(f"[{k}]" if isinstance(k, int) else (f".{key_text(k)}" if i else key_text(k))
                   for i, k in enumerate(loc)) or "(top level)"


def _plain_msg(e: dict, sub: type[BaseModel] | None) -> str:
    """Pydantic's message for error ``e`` in this project's words (``must ...``); ``sub``: the model a
    ``model_type`` error expected, whose keys are then listed instead of the class name."""
    if sub is not None:
        return f"must be a mapping with keys from: {', '.join(_keys(sub))}"
    what = e["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    what = re.sub(r"^(?:Value|List|String|Dictionary|Tuple|Set) should have", "must have", what)
    return what.replace(" after validation", "").replace("a valid dictionary", "a mapping")


def format_validation_error(file: str | Path, err: ValidationError, raw: Any, model: type[BaseModel],
                            options: dict[str, str] | None = None) -> str:
    """One line ``<file>: <field.path>: <bad value> — <what is allowed>`` for a pydantic error (a field
    that came from a command-line option is named by the option instead, see :func:`locate`)."""
    errors = err.errors(include_url=False)
    e = errors[0]
    loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith(("function-", "list["))))
    # a scalar written for a sweepable field shows up as element 0 of a list: drop that index
    if loc and loc[-1] == 0:
        found, val = _raw_at(raw, loc[:-1])
        if found and not isinstance(val, list):
            loc = loc[:-1]
    path = _path_text(loc)
    found, val = _raw_at(raw, loc)
    kind = e["type"]
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = _keys(parent) if parent else []
        hint = difflib.get_close_matches(str(loc[-1])[:100], allowed, n=1)
        msg = f"unknown key — allowed keys: {', '.join(allowed)}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        text = f"{locate(file, path, options)}: {msg}"
    elif kind == "invalid_key":  # loc ends with the key itself; name the mapping that holds it
        parent = _model_at(model, loc[:-1])
        where = _path_text(loc[:-1])
        allowed = f"; allowed keys: {', '.join(_keys(parent))}" if parent else ""
        text = f"{locate(file, where, options)}: key {show_value(e.get('input'), 40)} — keys must be text{allowed}"
    elif kind == "missing":
        text = f"{locate(file, path, options)}: (missing) — required"
    else:
        what = _plain_msg(e, _model_at(model, loc) if kind == "model_type" else None)
        if not loc and kind == "value_error":  # a rule about the whole file: the value would be all of it
            text = f"{file}: {path} — {what}"
        else:
            text = f"{locate(file, path, options)}: {show_value(val if found else e.get('input'))} — {what}"
    if len(errors) > 1:
        text += f" (+{len(errors) - 1} more)"
    return " ".join(text.splitlines())


M = TypeVar("M", bound=BaseModel)


def validate_mapping(raw: Any, model: type[M], source: str | Path, expected: str,
                     options: dict[str, str] | None = None) -> M:
    """``model`` validated from the parsed file ``raw``; ConfigError with one line naming ``source``
    and the field (``expected`` says what the top level should hold when it is not a mapping;
    ``options`` names fields that came from command-line options, see :func:`locate`)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: (top level): {show_value(raw)} — {expected}")
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err, raw, model, options)) from None
    except RecursionError:
        raise ConfigError(f"{source}: (top level): nested too deeply — {expected}") from None
