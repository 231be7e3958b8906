"""Device profiles: the YAML schema, where the files live, loading and listing.

A device profile (``device_profiles/NAME.yaml``) describes one mobile device or edge server:

``compute``
    ``type`` (cpu | gpu), ``cores``, ``peak_gflops`` (FP32, whole device), ``efficiency`` (achieved
    dense-GEMM FP32 throughput / peak), ``overhead_ms`` (fixed cost per stage call on a CPU, per batch
    on a GPU: launches, synchronisation, copies), ``scalar_speed`` (single-thread scalar speed, e.g.
    image codecs, relative to the reference core named in :data:`sc2sim.devices.compute.REFERENCE_CORE`).
    Optional, for the term-by-term model of :mod:`sc2sim.devices.cost_model`: ``runtime`` (what is
    modelled, e.g. ``eager PyTorch``), ``precision`` (fp32 | tf32 | fp16: fp16 halves memory traffic),
    ``dispatch_us`` (CPU cost of dispatching one aten operator, µs), ``launch_us`` (GPU: host cost per kernel launch,
    µs), ``kernels_per_op`` (GPU kernels per counted operator), ``mem_gbps`` (achieved memory
    bandwidth, GB/s), ``copy_gbps`` (GPU: host-to-device copy bandwidth, GB/s), ``output_macs`` (CPU:
    the per-output-element work of a dense convolution with a kernel larger than 1x1, in multiply-adds at the achieved
    rate; absent: no such term, the fitted efficiency carries it).
``power``
    ``active_w`` while computing, ``idle_w`` when idle (watts).
``radio`` (mobile devices)
    per technology (wifi, lte, 3g) the Huang et al. model ``P = alpha_up*up_Mbps + alpha_down*down_Mbps
    + beta`` (mW) and the tail after the last transfer (``tail_s`` seconds at ``tail_mw``).

Every numeric field of a block must name its source in that block's ``sources:`` mapping, and must
lie in a plausible range for its unit (the types at the top of the schema below), so that a number in
the wrong unit (FLOP/s for GFLOP/s, mW for W, ms for s) is refused with a hint instead of giving
answers off by factors of 10^3-10^9.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sc2sim.config import number
from sc2sim.errors import ConfigError

# plausible ranges, each naming its unit (values outside are almost always a unit mistake)
Cores = number(1, 1e5, "cores (GPU: streaming multiprocessors)", integer=True)
PeakGflops = number(0.01, 1e6, "GFLOP/s", low_hint="did you give TFLOP/s?", high_hint="did you give FLOP/s or MFLOP/s?")
Efficiency = number(0, 1, "(achieved / peak)", lo_open=True, high_hint="a fraction, not a percentage")
OverheadMs = number(0, 1e4, "ms", high_hint="did you give µs?")
ScalarSpeed = number(1e-3, 1e3, "x the reference core")
Watts = number(0.01, 2000, "W", high_hint="did you give mW?")
IdleWatts = number(0, 2000, "W", high_hint="did you give mW?")
MwPerMbps = number(1, 1e5, "mW per Mbit/s", zero_ok=True, low_hint="did you give W per Mbit/s?")
BaseMw = number(10, 1e5, "mW", low_hint="did you give W?")
TailS = number(0, 60, "s", high_hint="did you give ms?")
TailMw = number(10, 1e5, "mW", zero_ok=True, low_hint="did you give W?")
DispatchUs = number(0, 1e4, "µs", high_hint="did you give ns?")
KernelsPerOp = number(0.1, 20, "kernels per counted operator")
OutputMacs = number(0, 1e4, "multiply-adds per output element")
Bandwidth = number(0.01, 1e5, "GB/s", high_hint="did you give MB/s or bytes/s?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Sourced(_Strict):
    """A block whose numbers must each cite a source in ``sources`` (field name -> citation)."""

    sources: dict[str, str]

    @model_validator(mode="after")
    def _every_number_sourced(self) -> "_Sourced":
        for name, info in type(self).model_fields.items():
            v = getattr(self, name)
            key = info.alias or name
            numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
            if (numeric or isinstance(v, BaseModel)) and key not in self.sources:
                raise ValueError(f"{key} has no entry in sources: every number must cite where it comes from")
        return self


class ComputeSpec(_Sourced):
    """Compute capability: see the module docstring for each field's meaning and unit."""

    type: Literal["cpu", "gpu"]
    cores: Cores
    peak_gflops: PeakGflops
    efficiency: Efficiency
    overhead_ms: OverheadMs
    scalar_speed: ScalarSpeed
    # constants of the term-by-term model (sc2sim/devices/cost_model.py); optional, so older profiles load
    runtime: str = "eager PyTorch"
    precision: Literal["fp32", "tf32", "fp16"] = "fp32"
    dispatch_us: DispatchUs | None = None
    launch_us: DispatchUs | None = None
    kernels_per_op: KernelsPerOp | None = None
    mem_gbps: Bandwidth | None = None
    copy_gbps: Bandwidth | None = None
    output_macs: OutputMacs | None = None

    @property
    def achieved_gflops_per_core(self) -> float:
        """Achieved dense FP32 GFLOPS of one core (CPU) or of the whole device (GPU)."""
        return self.peak_gflops * self.efficiency / (self.cores if self.type == "cpu" else 1)


class PowerSpec(_Sourced):
    """Board/device power in watts: ``active_w`` while computing, ``idle_w`` otherwise."""

    active_w: Watts
    idle_w: IdleWatts

    @model_validator(mode="after")
    def _idle_below_active(self) -> "PowerSpec":
        if self.idle_w > self.active_w:
            raise ValueError(f"idle_w ({self.idle_w:g} W) must not exceed active_w ({self.active_w:g} W)")
        return self


class RadioTech(_Strict):
    """Huang et al. power model of one radio technology (mW, mW per Mbit/s, seconds)."""

    alpha_up_mw_per_mbps: MwPerMbps
    alpha_down_mw_per_mbps: MwPerMbps
    beta_mw: BaseMw
    tail_s: TailS
    tail_mw: TailMw


RADIOS = ("wifi", "lte", "3g")
"""Radio technologies with a power model (a scenario's ``network.radio``; a profile's ``radio`` keys)."""


class RadioSpec(_Sourced):
    """Radio power models by technology; ``sources`` is keyed by technology."""

    wifi: RadioTech | None = None
    lte: RadioTech | None = None
    three_g: RadioTech | None = Field(None, alias="3g")


class DeviceProfile(_Strict):
    """One device profile file."""

    name: str
    roles: Annotated[list[Literal["mobile", "edge"]], Field(min_length=1)]
    description: str
    compute: ComputeSpec
    power: PowerSpec
    radio: RadioSpec | None = None
    calibration: dict[str, Any] | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _mobile_has_radio(self) -> "DeviceProfile":
        if "mobile" in self.roles and self.radio is None:
            raise ValueError("a mobile device needs a radio block (wifi/lte/3g power models)")
        return self

    @property
    def radios(self) -> tuple[str, ...]:
        """The radio technologies (of :data:`RADIOS`) this profile has a power model for."""
        return tuple(t for t in RADIOS if self._radio(t) is not None)

    def _radio(self, tech: str) -> RadioTech | None:
        return getattr(self.radio, "three_g" if tech == "3g" else tech, None) if self.radio else None

    def radio_model(self, tech: str) -> RadioTech:
        """The radio model for ``tech`` (wifi | lte | 3g); ConfigError if the profile lacks it."""
        model = self._radio(tech)
        if model is None:
            raise ConfigError(f"device profile {self.name}: radio.{tech}: missing — this scenario's network.radio needs it")
        return model


def device_dirs() -> list[Path]:
    """Folders searched for profiles, first match wins: ``$SC2SIM_DEVICE_PROFILES`` (os.pathsep-separated),
    ``./device_profiles``, then the repository's ``device_profiles``."""
    dirs = [Path(p) for p in os.environ.get("SC2SIM_DEVICE_PROFILES", "").split(os.pathsep) if p]
    dirs.append(Path.cwd() / "device_profiles")
    dirs.append(Path(__file__).resolve().parents[2] / "device_profiles")
    seen, out = set(), []
    for d in dirs:
        r = d.resolve()
        if r not in seen and r.is_dir():
            seen.add(r)
            out.append(r)
    return out


def device_files() -> dict[str, Path]:
    """Profile name -> file, over :func:`device_dirs` (first folder wins)."""
    files: dict[str, Path] = {}
    for d in device_dirs():
        for f in sorted(d.glob("*.yaml")):
            files.setdefault(f.stem, f)
    return files


@lru_cache(maxsize=64)
def _load_cached(path: str, stamp: tuple) -> DeviceProfile:
    from sc2sim.config import validate_mapping
    from sc2sim.readers import load_yaml

    prof = validate_mapping(load_yaml(path), DeviceProfile, path, "a device profile (name, roles, compute, power, ...)")
    if prof.name != Path(path).stem:
        raise ConfigError(f"{path}: name: {prof.name!r} — must equal the file name ({Path(path).stem!r})")
    return prof


def load_device_file(path: str | Path) -> DeviceProfile:
    """Load and validate one profile file."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as err:
        raise ConfigError(f"{p}: cannot read ({err.strerror or err})") from None
    return _load_cached(str(p), (st.st_mtime_ns, st.st_size, st.st_ino))


def load_device(name: str) -> DeviceProfile:
    """Load the profile called ``name`` from :func:`device_dirs`."""
    files = device_files()
    if name not in files:
        raise ConfigError(f"device {name!r}: no such profile — available: {', '.join(sorted(files)) or '(none)'}")
    return load_device_file(files[name])


def available_devices() -> dict[str, list[str]]:
    """Profile name -> roles, for every profile found."""
    return {name: load_device_file(p).roles for name, p in device_files().items()}
