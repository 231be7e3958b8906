"""``sc2sim predict``: modelled stage times of an architecture or a pipeline on devices, term by term.

The stage counts come from the host (counting needs torch, timing does not): a torchvision
architecture is counted on a zero input of ``size`` x ``size`` RGB at batch 1; a registry pipeline
is profiled on a few samples (cached like every profile), which gives its stage counts and the
host-measured codec times. The times themselves come from :func:`sc2sim.devices.cost_model.terms`
for each device and batch size; nothing is timed for the prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sc2sim.devices import DeviceProfile, StageWork, Terms, load_device, terms
from sc2sim.devices.cost_model import model_applies
from sc2sim.errors import ConfigError


@dataclass(frozen=True)
class Stage:
    """One stage to predict: its name, counts and host-measured codec time (ms per sample)."""

    name: str
    work: StageWork
    codec_ms: float = 0.0
    host_ms: float | None = None


def arch_stage(arch: str, size: int = 224) -> Stage:
    """The whole torchvision architecture ``arch`` as one stage, counted at ``size`` x ``size`` (untrained weights)."""
    import torch
    import torchvision

    from sc2sim.profiling.counting import count_work

    from sc2sim.models.imagenet import torchvision_archs

    names = torchvision_archs()
    if arch not in names:
        raise ConfigError(f"--arch: {arch!r} — not a torchvision classification architecture; allowed: {', '.join(names)}")
    model = torchvision.models.get_model(arch, weights=None).eval()
    x = torch.zeros(1, 3, size, size)
    w = count_work(lambda: model(x).argmax(1), [model])
    return Stage(f"{arch}@{size}", StageWork(**{k: float(getattr(w, k)) for k in StageWork.__dataclass_fields__}))


def pipeline_stages(pipeline: str, samples: int = 20, dataset: str = "fashion-mnist",
                    data_dir: str | None = None) -> list[Stage]:
    """The device and edge stages of registry pipeline ``pipeline``, from a (cached) profile of
    ``samples`` samples: counts, median codec times and median host times."""
    from sc2sim.devices import WORK_FIELDS
    from sc2sim.devices.cost_model import OPTIONAL_WORK
    from sc2sim.profiling import ensure_profile

    table = ensure_profile([pipeline], samples, dataset=dataset, data_dir=data_dir, progress=False, timed=samples)
    t = table[table["mobile_ms"].notna()]
    out = []
    for side, codec in (("mobile", "mobile_encode_ms"), ("edge", "edge_decode_ms")):
        work = StageWork.from_columns(t, side)
        if work is None:
            needed = [f"{side}_{k}" for k in WORK_FIELDS if k not in OPTIONAL_WORK]
            raise ConfigError(f"pipeline {pipeline!r}: its profile lacks stage counts ({', '.join(needed)})")
        work = work.first()
        out.append(Stage(f"{pipeline} [{'device' if side == 'mobile' else 'edge'}]", work,
                         float(np.median(t[codec])), float(np.median(t[f"{side}_ms"]))))
    return out


def predict(stages: list[Stage], devices: list[str], batches: list[int], threads: int = 1,
            host: DeviceProfile | None = None) -> list[dict]:
    """One row per (stage, device, batch): the modelled terms (ms), total, per-sample time, dominant term."""
    host = host or load_device("host")
    if host.compute.dispatch_us is None:
        raise ConfigError("device_profiles/host.yaml: compute.dispatch_us: missing — run `sc2sim calibrate` to "
                          "measure the host's cost-model constants")
    rows = []
    for name in devices:
        dev = load_device(name)
        if not model_applies(host, dev):
            raise ConfigError(f"device {name!r}: compute.launch_us: missing — the term-by-term model needs a GPU's "
                              "per-kernel launch cost (see sc2sim/devices/cost_model.py)")
        for st in stages:
            for b in batches:
                t: Terms = terms(st.work, st.codec_ms, host, dev, b, threads)
                rows.append({"stage": st.name, "runtime": dev.compute.runtime, **t.as_dict(),
                             "per_sample_ms": t.total / b, "host_measured_ms": st.host_ms if b == 1 else None})
    return rows
