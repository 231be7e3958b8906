"""Bundled weights and model cards: saving, hashing and loading them safely.

A bundled model is two files in ``sc2sim/weights/``: ``NAME.pt`` (a state_dict, loaded with
``torch.load(..., weights_only=True)``) and ``NAME.json`` (the model card: architecture and
hyper-parameters to rebuild it, training settings, data, test accuracy, FLOPs, params and the
sha256 of the weights file). ``sc2sim train`` writes both; everything else only reads them.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from sc2sim.atomic import atomic_write_bytes
from sc2sim.errors import Sc2SimError
from sc2sim.models.base import Sc2Model, build_model

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def weights_dir() -> Path:
    """Where bundled weights live; ``SC2SIM_WEIGHTS`` overrides (tests use a temporary folder)."""
    return Path(os.environ.get("SC2SIM_WEIGHTS", WEIGHTS_DIR))


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_bundle(name: str, model: Sc2Model, card: dict[str, Any], folder: Path | None = None) -> Path:
    """Save ``model``'s state_dict as ``NAME.pt`` and its card (with the weights' sha256) as ``NAME.json``."""
    folder = Path(folder or weights_dir())
    import io

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    pt = folder / f"{name}.pt"
    atomic_write_bytes(pt, buf.getvalue())
    card = {"name": name, "arch": model.arch_name, "hparams": model.hparams, **card, "weights_sha256": file_sha256(pt)}
    atomic_write_bytes(folder / f"{name}.json", (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return pt


def read_card(name: str, folder: Path | None = None) -> dict[str, Any]:
    """The model card of a bundled model; a clear error naming ``sc2sim train`` when it is missing or broken."""
    from sc2sim.readers import load_json

    path = Path(folder or weights_dir()) / f"{name}.json"
    retrain = f"`sc2sim train {name.split('-')[0]}`"
    if not path.is_file():
        raise Sc2SimError(f"{path}: model {name!r} has no bundled weights — create them with {retrain}")
    card = load_json(path, "model card")
    missing = [k for k in ("arch", "hparams", "weights_sha256") if not isinstance(card, dict) or k not in card]
    if missing or not isinstance(card["hparams"], dict):
        raise Sc2SimError(f"{path}: {(missing or ['hparams'])[0]}: missing or not a mapping — not an sc2sim model card; "
                          f"recreate it with {retrain}")
    return card


@lru_cache(maxsize=64)
def _load_cached(name: str, folder: str) -> Sc2Model:
    card = read_card(name, Path(folder))
    pt = Path(folder) / f"{name}.pt"
    retrain = f"retrain with `sc2sim train {name.split('-')[0]}`"
    try:
        digest = file_sha256(pt)
    except OSError as err:
        raise Sc2SimError(f"{pt}: cannot read ({err.strerror or err}) — {retrain}") from None
    if digest != card["weights_sha256"]:
        raise Sc2SimError(f"{pt}: sha256 {digest[:12]} does not match its model card ({str(card['weights_sha256'])[:12]}) "
                          f"— {retrain}")
    try:
        model = build_model(card["arch"], **card["hparams"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise Sc2SimError(f"{pt.with_suffix('.json')}: arch/hparams: {card['arch']!r} — cannot be built "
                          f"({' '.join(str(err).split())[:160]}) — {retrain}") from None
    try:
        state = torch.load(pt, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError, TypeError, AttributeError,
            zipfile.BadZipFile) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise Sc2SimError(f"{pt}: weights: not a state_dict of {card['arch']} that torch.load(weights_only=True) "
                          f"accepts ({first[:160]}) — {retrain}") from None
    model.eval()
    return model


def load_bundled(name: str, folder: Path | None = None) -> Sc2Model:
    """Load a bundled model (eval mode, CPU) after checking its weights against the card's sha256."""
    return _load_cached(name, str(Path(folder or weights_dir())))
