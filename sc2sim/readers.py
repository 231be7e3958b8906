"""Reading hand-written files safely: YAML and JSON configuration, and plain text.

Loading is defensive (:func:`load_yaml`, :func:`load_json`, :func:`read_text_file`): the file must be
a regular UTF-8 file of at most :data:`MAX_FILE_BYTES`; a YAML document may not expand (through
aliases) to more than :data:`MAX_NODES` nodes, nest deeper than :data:`MAX_DEPTH`, refer to itself, or
repeat a key. Plain scalars follow the YAML 1.2 core schema (``1e6`` and ``.inf`` are numbers, ``010``
is ten, ``no``/``on`` and dates stay text), not PyYAML's YAML 1.1 defaults. Every problem is a one-line
ConfigError naming the file. Validating what was read is :mod:`sc2sim.config`.
"""

from __future__ import annotations

import json
import math
import re
import stat
from pathlib import Path
from typing import Any, NoReturn

import yaml

from sc2sim.config import key_text, show_value
from sc2sim.errors import ConfigError

MAX_FILE_BYTES = 1 << 20
"""Largest configuration file read (1 MiB): hand-written files are a few kB."""
MAX_DEPTH = 64
"""Deepest nesting of lists and mappings read (hand-written files use under ten levels)."""
MAX_NODES = 100_000
"""Most YAML nodes a document may expand to, counting every use of an alias (stops "billion laughs")."""


def read_bytes_file(path: str | Path, what: str = "file", limit: int | None = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``; ConfigError naming the file when it cannot be read, is not a regular file
    (a folder, a FIFO, a device: never opened, so reading cannot block) or is larger than ``limit`` bytes.
    ``what`` says what the file should be."""
    p = Path(path)
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{p}: not a regular file — give a {what}")
        if limit is not None and st.st_size > limit:
            raise ConfigError(f"{p}: {st.st_size} bytes — a {what} may be at most {limit} bytes")
        return p.read_bytes()
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(f"{p}: cannot read ({reason}) — give a readable {what}") from None


def read_text_file(path: str | Path, what: str = "file", limit: int | None = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path`` (a leading BOM is dropped); ConfigError naming the file when it cannot
    be read (:func:`read_bytes_file`) or is not UTF-8. ``what`` says what the file should be."""
    p = Path(path)
    data = read_bytes_file(p, what, limit)
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


_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML has it (about 6x faster on a device profile; constructing and the checks
below stay Python's), else the pure-Python one."""


class _Loader(_BASE):  # type: ignore[valid-type,misc]
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
                    raise ConfigError(f"{self.name}: {key_text(key)}: given twice (lines {seen[key].line + 1} and "
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
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text)
        except ValueError:  # digits only underscores, e.g. 0x_
            self._not_a_number(node, "whole number")

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:  # noqa: D102
        text = self.construct_scalar(node).replace("_", "").lower()
        if text.endswith(".inf"):
            return -math.inf if text.startswith("-") else math.inf
        if text == ".nan":
            return math.nan
        try:
            return float(text)
        except ValueError:
            self._not_a_number(node, "number")

    def _not_a_number(self, node: yaml.ScalarNode, kind: str) -> NoReturn:
        """ConfigError for a plain scalar that looks like a ``kind`` but has no digits (``0x_``)."""
        raise ConfigError(f"{self.name}: line {node.start_mark.line + 1}: {show_value(node.value, 40)} — not a "
                          f"{kind}: give digits (quote it to mean text)")

    def construct_refused(self, node: yaml.Node) -> NoReturn:
        """Refuse an explicit tag outside the YAML 1.2 core schema (``!!binary``, ``!!timestamp``, ``!!set``, ...)."""
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise yaml.constructor.ConstructorError(None, None, f"the tag {tag} is not allowed", node.start_mark)

    def get_single_data(self) -> Any:  # noqa: D102
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node, self.name)
        return self.construct_document(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)
for _tag in ("binary", "timestamp", "set", "omap", "pairs"):  # PyYAML's safe extras, not YAML 1.2 core
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.construct_refused)
for _tag, _regex, _first in (
    ("tag:yaml.org,2002:bool", _BOOL, "tTfF"),
    ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789."),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", re.compile(r"^<<$"), "<"),
):
    _Loader.add_implicit_resolver(_tag, _regex, list(_first))


def _check_expansion(root: yaml.Node, name: str) -> None:
    """Refuse a node graph that refers to itself, nests deeper than :data:`MAX_DEPTH` or expands to more
    than :data:`MAX_NODES` nodes."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    open_: set[int] = set()
    while stack:
        node, done, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{name}: line {node.start_mark.line + 1}: nested too deeply (more than {MAX_DEPTH} "
                              "levels) — a configuration file needs a few levels of nesting")
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
        stack.append((node, True, depth))
        stack.extend((k, False, depth + 1) for k in kids if id(k) not in size)


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
        ch = chr(err.character) if isinstance(err.character, int) else err.character  # libyaml gives the code point
        raise ConfigError(f"{p}: YAML syntax error at character {err.position}: {ch!r} — control characters "
                          "are not allowed in YAML") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(err, "problem", None) or err).split())
        fix = ("only plain YAML values are allowed (no !!tags)" if "tag" in problem
               else "keys are plain text, numbers or booleans; '<<' merges a mapping" if isinstance(
                   err, yaml.constructor.ConstructorError)
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


