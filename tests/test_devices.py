"""Device profiles: every shipped profile validates and cites sources; the compute model's mapping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import cli

from sc2sim.devices import (
    available_devices,
    device_files,
    load_device,
    load_device_file,
    stage_cost_s,
)
from sc2sim.errors import ConfigError

MOBILE = {"host", "rpi4", "jetson-nano", "jetson-orin-nano", "phone-flagship", "laptop-cpu"}
EDGE = {"t4", "a100", "cpu-server"}


def test_shipped_profiles_validate_with_roles():
    devs = available_devices()
    assert MOBILE | EDGE <= set(devs)
    assert all("mobile" in devs[n] for n in MOBILE) and all("edge" in devs[n] for n in EDGE)
    for name in MOBILE:
        prof = load_device(name)
        lte = prof.radio_model("lte")
        assert (lte.alpha_up_mw_per_mbps, lte.beta_mw, lte.tail_s) == (438.39, 1288.04, 11.6)
        assert "not re-checked" in prof.radio.sources["lte"].lower()
        assert prof.power.active_w > prof.power.idle_w >= 0


def test_every_number_needs_a_source(tmp_path):
    doc = yaml.safe_load(device_files()["rpi4"].read_text())
    del doc["compute"]["sources"]["peak_gflops"]
    p = tmp_path / "rpi4.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=r"rpi4.yaml: compute: .* peak_gflops has no entry in sources"):
        load_device_file(p)
    doc = yaml.safe_load(device_files()["rpi4"].read_text())
    doc["compute"]["efficency"] = 0.3
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=r"compute.efficency: unknown key .*did you mean 'efficiency'"):
        load_device_file(p)


def test_profile_dirs_env_override(tmp_path, monkeypatch):
    doc = yaml.safe_load(device_files()["rpi4"].read_text())
    doc["name"] = "my-board"
    (tmp_path / "my-board.yaml").write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("SC2SIM_DEVICE_PROFILES", str(tmp_path))
    assert "my-board" in available_devices()
    doc["name"] = "other"
    (tmp_path / "wrong.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="must equal the file name"):
        load_device("wrong")


def test_host_reproduces_measured_times_exactly():
    host = load_device("host")
    total = np.array([2.0, 0.5, 1.7, 3.3])
    codec = np.array([0.0, 0.3, 1.2, 0.0])
    flops = np.array([2e7, 0, 0, 5e6])
    per, fixed = stage_cost_s(total, codec, flops, host, host)
    assert (per + fixed) * 1e3 == pytest.approx(total, rel=1e-12, abs=1e-12)


def test_cpu_device_scales_nn_by_gemm_and_codec_by_scalar_speed():
    host, rpi = load_device("host"), load_device("rpi4")
    gemm = host.compute.achieved_gflops_per_core / rpi.compute.achieved_gflops_per_core
    scalar = host.compute.scalar_speed / rpi.compute.scalar_speed
    per, fixed = stage_cost_s(np.array([2.0]), np.array([0.5]), np.array([1e7]), host, rpi)
    nn_host = 2.0 - 0.5 - host.compute.overhead_ms
    assert per[0] * 1e3 == pytest.approx(nn_host * gemm + 0.5 * scalar)
    assert fixed * 1e3 == pytest.approx(rpi.compute.overhead_ms)
    assert gemm > 1.5  # a Pi 4 core is slower than a server core (the ratio depends on the calibrated host)


def test_gpu_time_is_fixed_plus_linear_in_batch():
    host, t4 = load_device("host"), load_device("t4")
    per, fixed = stage_cost_s(np.array([2.2]), np.array([0.1]), np.array([2e7]), host, t4)
    c = t4.compute
    expect = 2e7 / (c.peak_gflops * c.efficiency * 1e9) + 0.1e-3 * host.compute.scalar_speed / c.scalar_speed
    assert per[0] == pytest.approx(expect)
    assert fixed == pytest.approx(c.overhead_ms / 1e3)
    batch = [fixed + b * per[0] for b in (1, 2, 8)]
    assert np.diff(batch) / np.array([1, 6]) == pytest.approx([per[0]] * 2)


def test_devices_command_lists_profiles(capsys):
    assert cli("devices", "--json") == 0
    docs = json.loads(capsys.readouterr().out)
    names = {d["name"] for d in docs}
    assert MOBILE | EDGE <= names
    assert all(Path(d["file"]).is_file() for d in docs)
    assert cli("devices") == 0
    out = capsys.readouterr().out
    assert "rpi4" in out and "t4" in out

# calibrate's profile writer is tested in tests/test_predict_calibrate.py
