"""Hand-written YAML files (scenarios, device profiles, cards): safe loading and one-line validation errors.

Every error reads ``<file>: <field.path>: <bad value> — <what is allowed>``; unknown keys get the
allowed keys and a did-you-mean. Shared by :mod:`sc2sim.scenario`, :mod:`sc2sim.devices` and :mod:`sc2sim.cards`.

Loading is defensive (:func:`load_yaml`, :func:`load_json`): the file must be UTF-8 and at most
:data:`MAX_FILE_BYTES`; a YAML document may not expand (through aliases) to more than
:data:`MAX_NODES` nodes, refer to itself, or repeat a key. Plain scalars follow the YAML 1.2 core
schema (``1e6`` and ``.inf`` are numbers, ``010`` is ten, ``no``/``on`` and dates stay text), not
PyYAML's YAML 1.1 defaults. :func:`number` makes the bounded, strictly numeric field types.
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
import re
import stat
from pathlib import Path
from typing import Annotated, Any, Iterator, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ValidationError

from sc2sim.errors import ConfigError

MAX_FILE_BYTES = 1 << 20
"""Largest configuration file read (1 MiB): hand-written files are a few kB."""
MAX_NODES = 100_000
"""Most YAML nodes a document may expand to, counting every use of an alias (stops "billion laughs")."""

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


def _key_text(k: Any) -> str:
    return k if isinstance(k, str) and _PLAIN_KEY.match(k) else show_value(k, 40)


def locate(file: str | Path, path: str, options: dict[str, str] | None = None) -> str:
    """Where a bad value came from, for an error line: ``<file>: <field.path>``, or the command-line
    option that supplied the field when ``options`` maps a field path (prefix) to one, e.g.
    ``{"network.uplink.bandwidth_mbps": "--uplink"}`` gives ``--uplink[2]``."""
    for field in sorted(options or {}, key=len, reverse=True):
        if path == field or path.startswith((field + ".", field + "[")):
            return options[field] + path[len(field):]  # type: ignore[index]
    return f"{file}: {path}"


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
    path = "".join(f"[{k}]" if isinstance(k, int) else (f".{_key_text(k)}" if i else _key_text(k))
                   for i, k in enumerate(loc)) or "(top level)"
    found, val = _raw_at(raw, loc)
    kind = e["type"]
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = sorted(parent.model_fields) if parent else []
        hint = difflib.get_close_matches(str(loc[-1])[:100], allowed, n=1)
        msg = f"unknown key — allowed keys: {', '.join(allowed)}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        text = f"{locate(file, path, options)}: {msg}"
    elif kind == "missing":
        text = f"{locate(file, path, options)}: (missing) — required"
    else:
        what = e["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
        if not loc and kind == "value_error":  # a rule about the whole file: the value would be all of it
            text = f"{file}: {path} — {what}"
        else:
            text = f"{locate(file, path, options)}: {show_value(val if found else e.get('input'))} — {what}"
    if len(errors) > 1:
        text += f" (+{len(errors) - 1} more)"
    return " ".join(text.splitlines())


# ------------------------------------------------------------------------------------------ files


def read_text_file(path: str | Path, what: str = "file", limit: int | None = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path`` (a leading BOM is dropped); ConfigError naming the file when it cannot
    be read, is larger than ``limit`` bytes, or is not UTF-8. ``what`` says what the file should be."""
    p = Path(path)
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{p}: not a regular file — give a {what}")
        if limit is not None and st.st_size > limit:
            raise ConfigError(f"{p}: {st.st_size} bytes — a {what} may be at most {limit} bytes")
        data = p.read_bytes()
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(f"{p}: cannot read ({reason}) — give a readable {what}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(f"{p}: byte 0x{data[err.start]:02x} at offset {err.start} (line {line}): not UTF-8 text — "
                          f"save the {what} as UTF-8") from None


_INT = re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema scalars, duplicate-key errors and an expansion limit."""

    yaml_implicit_resolvers: dict = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # noqa: D102
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise ConfigError(f"{self.name}: {_key_text(key)}: given twice (lines {seen[key].line + 1} and "
                                      f"{key_node.start_mark.line + 1}) — give each key once")
                seen[key] = key_node.start_mark
            except TypeError:
                pass  # an unhashable key: the base constructor reports it
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:  # noqa: D102
        text = self.construct_scalar(node).replace("_", "")
        if len(text) > 100:  # no setting needs more digits; Python refuses to parse over 4300
            raise ConfigError(f"{self.name}: line {node.start_mark.line + 1}: a whole number of {len(text)} digits — "
                              "numbers here have at most 100 digits")
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:  # noqa: D102
        text = self.construct_scalar(node).replace("_", "").lower()
        if text.endswith(".inf"):
            return -math.inf if text.startswith("-") else math.inf
        if text == ".nan":
            return math.nan
        return float(text)

    def get_single_data(self) -> Any:  # noqa: D102
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node, self.name)
        return self.construct_document(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)
for _tag, _regex, _first in (
    ("tag:yaml.org,2002:bool", _BOOL, "tTfF"),
    ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789."),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", re.compile(r"^<<$"), "<"),
):
    _Loader.add_implicit_resolver(_tag, _regex, list(_first))


def _check_expansion(root: yaml.Node, name: str) -> None:
    """Refuse a node graph that refers to itself or expands to more than :data:`MAX_NODES` nodes."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if done:
            open_.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            if size[key] > MAX_NODES:
                raise ConfigError(f"{name}: line {node.start_mark.line + 1}: expands to more than {MAX_NODES} values "
                                  "(through aliases) — write the document out or shorten it")
            continue
        if key in size:
            continue
        if key in open_:
            raise ConfigError(f"{name}: line {node.start_mark.line + 1}: an alias refers to the node that contains it "
                              "— a configuration cannot be recursive")
        open_.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in size)


def load_yaml(path: str | Path) -> Any:
    """Read a YAML configuration file (see the module docstring for what is refused); ConfigError naming
    the file on any problem, with the line for syntax errors."""
    p = Path(path)
    text = read_text_file(p, "YAML file")
    try:
        loader = _Loader(text)
        loader.name = str(p)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as err:
        raise ConfigError(f"{p}: YAML syntax error at character {err.position}: {err.character!r} — control characters "
                          "are not allowed in YAML") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(err, "problem", None) or err).split())
        fix = ("only plain YAML values are allowed (no !!tags)" if isinstance(err, yaml.constructor.ConstructorError)
               else "fix the YAML syntax (indent with spaces, close every bracket and quote)")
        raise ConfigError(f"{p}: YAML syntax error{where}: {problem} — {fix}") from None
    except RecursionError:
        raise ConfigError(f"{p}: nested too deeply — a configuration file needs a few levels of nesting") from None


def load_json(path: str | Path, what: str = "JSON file") -> Any:
    """Read a JSON file strictly: UTF-8, at most :data:`MAX_FILE_BYTES`, no repeated keys, no NaN/Infinity."""
    p = Path(path)
    text = read_text_file(p, what)

    def pairs(items: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        for k, v in items:
            if k in out:
                raise ConfigError(f"{p}: duplicate key {show_value(k, 40)} — give each key once")
            out[k] = v
        return out

    def constant(name: str) -> Any:
        raise ConfigError(f"{p}: {name} — not a finite number; JSON numbers must be finite")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{p}: JSON syntax error at line {err.lineno}, column {err.colno}: {err.msg} — "
                          f"give a valid {what}") from None
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise ConfigError(f"{p}: {' '.join(str(err).split())[:120]} — not a plausible {what}") from None
    except RecursionError:
        raise ConfigError(f"{p}: nested too deeply — not a plausible {what}") from None


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
