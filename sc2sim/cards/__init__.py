"""Rate-accuracy cards: published (or otherwise external) payload sizes and accuracies, never measured here.

Architecture-only profiling (``--weights none``) measures a model's compute times and FLOPs with
untrained weights. Untrained weights say nothing about bytes or accuracy, so those come from a card
that the user supplies: a small YAML (or JSON) file ::

    name: my-card                # optional; default: the file name
    kind: published              # published | external: how every report labels the numbers
    source: "Author et al., venue year, figure N; read off the figure"   # the citation, shown in reports
    dataset: "ImageNet validation, 224x224"
    unit: KB                     # unit of the sizes below: B or KB
    kb_bytes: 1024               # bytes per KB (sc2bench's FileSizeAnalyzer: 1024)
    methods:
      entropic-student:          # method name a pipeline refers to (``&method=``; each pipeline has a default)
        description: "..."
        points: [[0.68, 59.9], [1.3, 68.0]]   # (size in ``unit``, top-1 %); size null: nothing sent (local)

A pipeline picks one point with ``&point=K`` (0-based index into the method's points, in the card's
order). Shipped example: ``sc2-imagenet-published`` (this folder), the SC2 paper's ImageNet points
(DESIGN section 6). ``&card=`` takes a shipped card's name or a path. This module is torch-free.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from sc2sim.config import number, validate_mapping
from sc2sim.readers import load_json, load_yaml
from sc2sim.errors import ConfigError

CARDS_DIR = Path(__file__).resolve().parent
DEFAULT_CARD = "sc2-imagenet-published"


_Size = number(0, 1e9, "(payload size in the card's unit)", lo_open=True)
_Top1 = number(0, 100, "% top-1", high_hint="a percentage, not a count")


class _Method(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    points: Annotated[list[tuple[_Size | None, _Top1]], Field(min_length=1, max_length=10_000)]


class _Card(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    kind: Literal["published", "external"] = "published"
    source: Annotated[str, Field(min_length=1)]
    dataset: str = ""
    unit: Literal["B", "KB"] = "KB"
    kb_bytes: Literal[1000, 1024] = 1024
    methods: Annotated[dict[str, _Method], Field(min_length=1)]


@dataclass(frozen=True)
class PublishedPoint:
    """One operating point taken from a card: what a profile reports instead of measured bytes/accuracy.

    ``bytes`` is None for a method that sends nothing but the result (a local model): then the
    measured 1-byte result stays. ``top1`` is in percent.
    """

    card: str
    card_path: str
    kind: str
    source: str
    dataset: str
    method: str
    index: int
    size: float | None
    unit: str
    bytes: int | None
    top1: float

    def label(self) -> str:
        """e.g. ``published: 3.6 KB, 74.1 % top-1 (entropic-student point 3 of sc2-imagenet-published)``."""
        size = f"{self.size:g} {self.unit}, " if self.size is not None else ""
        return f"{self.kind}: {size}{self.top1:g} % top-1 ({self.method} point {self.index} of {self.card})"

    def as_dict(self) -> dict:
        """Plain dict (for table metadata and JSON)."""
        return asdict(self)


def card_path(ref: str) -> Path:
    """A shipped card's file (``ref`` = its name) or the file ``ref``; ConfigError when neither exists."""
    if not ref:
        ref = DEFAULT_CARD
    for cand in (CARDS_DIR / f"{ref}.yaml", CARDS_DIR / f"{ref}.json", Path(ref).expanduser()):
        try:
            if cand.is_file():
                return cand
        except OSError:  # e.g. a name longer than the OS allows: not a card
            continue
    shipped = ", ".join(sorted(p.stem for p in CARDS_DIR.glob("*.yaml")))
    raise ConfigError(f"card={ref!r}: no such card — give a card file's path or a shipped card: {shipped}")


def load_card(ref: str) -> _Card:
    """Load and validate a card (one-line errors naming the file and field)."""
    path = card_path(ref)
    raw = load_json(path, "card") if path.suffix == ".json" else load_yaml(path)
    card = validate_mapping(raw, _Card, path, "a mapping with source, unit and methods")
    card.name = card.name or path.stem
    return card


def select_point(ref: str, method: str, point: int, pipeline: str) -> PublishedPoint:
    """The ``point``-th point of ``method`` in card ``ref``; ``point=-1`` is allowed only for a
    one-point method. Errors name the pipeline, the parameter and the allowed values."""
    card = load_card(ref)
    path = card_path(ref)
    if method not in card.methods:
        raise ConfigError(f"pipeline {pipeline!r}: method={method!r} — card {card.name} has: {', '.join(card.methods)} "
                          "(pick one with &method=)")
    pts = card.methods[method].points
    if point == -1 and len(pts) == 1:
        point = 0
    if not 0 <= point < len(pts):
        listed = "; ".join(f"{i}: {'' if s is None else f'{s:g} {card.unit}, '}{a:g} %" for i, (s, a) in enumerate(pts))
        raise ConfigError(f"pipeline {pipeline!r}: point={point} — allowed (card {card.name}, {method}): {listed}")
    size, top1 = pts[point]
    nbytes = None if size is None else int(round(size * (card.kb_bytes if card.unit == "KB" else 1)))
    return PublishedPoint(card.name or path.stem, str(path), card.kind, " ".join(card.source.split()), card.dataset,
                          method, point, size, card.unit, nbytes, float(top1))


def shipped_cards() -> list[str]:
    """Names of the cards shipped with sc2sim."""
    return sorted(p.stem for p in CARDS_DIR.glob("*.yaml"))


def published_meta(meta: dict | None) -> dict[str, dict]:
    """``{pipeline: card point dict}`` recorded in a profile's metadata (``attrs["sc2sim"]["published"]``,
    or a run's ``profile_meta``) by :func:`sc2sim.profiling.architecture.apply_published`."""
    pub = meta.get("published") if isinstance(meta, dict) else None
    return pub if isinstance(pub, dict) else {}


def with_published(summary, published: dict[str, dict]):
    """A summary frame (one row per ... x pipeline) with the card's exact top-1 (and bytes) on published
    pipelines, and columns ``accuracy_source`` / ``bytes_source`` (``measured`` or the card's kind).

    The simulator averages a per-sample pattern whose mean only approximates the card value; reports
    and the what-if show the card value itself. Returns ``summary`` unchanged without published rows.
    """
    if not published or "pipeline" not in summary.columns:
        return summary
    out = summary.copy()
    out["accuracy_source"], out["bytes_source"] = "measured", "measured"
    for name, p in published.items():
        rows = out["pipeline"] == name
        if not rows.any():
            continue
        out.loc[rows, "accuracy"] = float(p["top1"]) / 100.0
        if "test_accuracy" in out.columns:
            out.loc[rows, "test_accuracy"] = float(p["top1"]) / 100.0
        out.loc[rows, "accuracy_source"] = p.get("kind", "published")
        if p.get("bytes") is not None:
            if "mean_bytes" in out.columns:
                out.loc[rows, "mean_bytes"] = float(p["bytes"])
            out.loc[rows, "bytes_source"] = p.get("kind", "published")
    return out


def published_lines(published: dict[str, dict]) -> list[str]:
    """One line per published pipeline and one per cited source, for report footers and pages."""
    lines = []
    for name, p in published.items():
        size = "" if p.get("size") is None else f"{p['size']:g} {p.get('unit', 'KB')} = {p['bytes']} B, "
        lines.append(f"{name}: {p.get('kind', 'published')} (not measured) {size}{p['top1']:g} % top-1 "
                     f"({p['method']} point {p['index']} of card {p['card']})")
    lines += [f"source: {src}" for src in dict.fromkeys(p.get("source", "") for p in published.values())]
    return lines
