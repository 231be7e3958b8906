"""The term-by-term device cost model (sc2sim/devices/cost_model.py) and its use by plans and the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy
import yaml

from sc2sim.devices import StageWork, batch_extra_s, device_files, load_device, load_device_file, stage_cost_s, terms
from sc2sim.devices.cost_model import batch_cost, model_applies

R50 = StageWork(ops=230, kernels=175, flops=8.18e9, bytes=3.67e8, weight_bytes=1.02e8, io_bytes=6.0e5)
TINY = StageWork(ops=47, kernels=35, flops=1.9e7, bytes=2.4e6, weight_bytes=1.2e6, io_bytes=3136)


def _profile(tmp_path, base: str, **compute):
    doc = yaml.safe_load(device_files()[base].read_text())
    doc["name"] = f"{base}-x"
    doc["compute"].update(compute)
    doc["compute"]["sources"].update({k: "test" for k, v in compute.items() if isinstance(v, (int, float))})
    path = tmp_path / f"{base}-x.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_device_file(path)


def test_gpu_is_launch_bound_then_compute_bound():
    host, t4 = load_device("host"), load_device("t4")
    c = t4.compute
    launch = R50.kernels * c.launch_us / 1e3
    per_image = R50.flops / (c.peak_gflops * c.efficiency * 1e6)
    crossover = launch / per_image
    assert 2 < crossover < 32  # ResNet-50 on a T4: flat at small batches, linear at large ones
    small = [terms(R50, 0.0, host, t4, b) for b in (1, 2)]
    assert all(t.dominant == "launch" for t in small)
    assert small[1].total - small[0].total == pytest.approx(R50.io_bytes / (c.copy_gbps * 1e6), rel=1e-9)
    big = [terms(R50, 0.0, host, t4, b) for b in (64, 128)]
    assert all(t.dominant == "arithmetic" for t in big)
    slope = (big[1].total - big[0].total) / 64
    assert slope == pytest.approx(per_image + R50.io_bytes / (c.copy_gbps * 1e6), rel=1e-9)


def test_cpu_terms_add_and_each_operator_group_takes_its_roofline():
    host, rpi = load_device("host"), load_device("rpi4")
    c = rpi.compute
    g = c.achieved_gflops_per_core * 1e6  # FLOP per ms
    t = terms(R50, 2.0, host, rpi, 1)  # no low-intensity group: the whole stage is arithmetic-bound
    assert t.dispatch == pytest.approx(R50.ops * c.dispatch_us / 1e3)
    assert t.arithmetic == pytest.approx(R50.flops / g) and t.memory == 0.0 and t.dominant == "arithmetic"
    assert t.codec == pytest.approx(2.0 * host.compute.scalar_speed / c.scalar_speed)
    assert t.total == pytest.approx(t.fixed + t.dispatch + t.arithmetic + t.memory + t.codec)
    mixed = StageWork(ops=100, kernels=80, flops=1e9, bytes=2e8, weight_bytes=1e7, low_flops=1e6, low_bytes=1.5e8)
    m = terms(mixed, 0.0, host, rpi, 1)  # the low-intensity group is memory-bound, the rest arithmetic-bound
    assert m.memory == pytest.approx(1.5e8 / (c.mem_gbps * 1e6))
    assert m.arithmetic == pytest.approx((1e9 - 1e6) / g)
    assert m.compute > max(1e9 / g, 2e8 / (c.mem_gbps * 1e6))  # the groups do not hide behind each other
    four = terms(R50, 0.0, host, rpi, 1, threads=4)
    assert four.arithmetic == pytest.approx(t.arithmetic / 4) and four.dispatch == t.dispatch
    many = terms(R50, 0.0, host, rpi, 1, threads=64)
    assert many.arithmetic == pytest.approx(four.arithmetic)  # capped at the device's cores


def test_weights_are_read_once_per_batch_and_fp16_halves_traffic(tmp_path):
    host = load_device("host")
    dev = _profile(tmp_path, "rpi4", mem_gbps=0.01)  # so slow that the stage is memory-bound
    m1, m8 = terms(R50, 0, host, dev, 1).memory, terms(R50, 0, host, dev, 8).memory
    act = (R50.bytes - R50.weight_bytes) / 1e4
    assert m8 - m1 == pytest.approx(7 * act) and m1 == pytest.approx(R50.bytes / 1e4)
    half = _profile(tmp_path, "jetson-nano", precision="fp16", mem_gbps=0.01)
    full = _profile(tmp_path, "t4", precision="fp32", mem_gbps=0.01)
    assert terms(R50, 0, host, half, 1).memory == pytest.approx(terms(R50, 0, host, full, 1).memory / 2)


def test_cpu_device_without_dispatch_cost_derives_it_from_the_host():
    host, phone = load_device("host"), load_device("phone-flagship")
    assert phone.compute.dispatch_us is None and model_applies(host, phone)
    t = terms(TINY, 0.0, host, phone, 1)
    expect = TINY.ops * host.compute.dispatch_us * host.compute.scalar_speed / phone.compute.scalar_speed / 1e3
    assert t.dispatch == pytest.approx(expect)


def test_host_maps_to_itself_and_batches_follow_the_model():
    host = load_device("host")
    total = np.array([2.0, 2.5, 1.9, 3.1])
    codec = np.array([0.1, 0.3, 0.0, 0.2])
    cost = batch_cost(total, codec, TINY, host, host, max_batch=8)
    assert (cost.per_sample_s + cost.fixed_s) * 1e3 == pytest.approx(total, rel=1e-12)
    assert cost.extra_s[1] == 0.0
    t4 = load_device("t4")
    gpu = batch_cost(total, codec, TINY, host, t4, max_batch=8)
    for b in range(1, 9):
        batch = gpu.fixed_s + b * gpu.per_sample_s[0] + gpu.extra_s[b]
        model = terms(TINY, codec[0], host, t4, b).total / 1e3
        assert batch == pytest.approx(model, rel=1e-9)


def test_old_tables_and_old_profiles_keep_the_older_mapping(tmp_path):
    host, rpi = load_device("host"), load_device("rpi4")
    total, codec, flops = np.array([2.0]), np.array([0.5]), np.array([1e7])
    old = stage_cost_s(total, codec, flops, host, rpi)  # no counts: the older affine mapping
    hc, dc = host.compute, rpi.compute
    gemm = hc.achieved_gflops_per_core / dc.achieved_gflops_per_core
    nn = 2.0 - 0.5 - hc.overhead_ms
    assert old[0][0] * 1e3 == pytest.approx(nn * gemm + 0.5 * hc.scalar_speed / dc.scalar_speed)
    assert batch_extra_s(total, codec, None, host, rpi, 8) is None
    doc = yaml.safe_load(device_files()["t4"].read_text())  # a GPU profile from before the model's fields
    for key in ("launch_us", "kernels_per_op", "mem_gbps", "copy_gbps", "runtime", "precision"):
        doc["compute"].pop(key, None)
        doc["compute"]["sources"].pop(key, None)
    doc["name"] = "old-t4"
    (tmp_path / "old-t4.yaml").write_text(yaml.safe_dump(doc))
    old_t4 = load_device_file(tmp_path / "old-t4.yaml")
    assert not model_applies(host, old_t4)
    per, fixed = stage_cost_s(total, codec, flops, host, old_t4, TINY)
    c = old_t4.compute
    assert fixed == pytest.approx(c.overhead_ms / 1e3)
    assert per[0] == pytest.approx(1e7 / (c.peak_gflops * c.efficiency * 1e9) + 0.5e-3 * hc.scalar_speed / c.scalar_speed)


def test_split_profile_reads_counts_and_tolerates_tables_without_them():
    from sc2sim.sim.plan import split_profile

    rows = {"pipeline": "p", "strategy": "split", "sample": [0, 1], "correct": True, "payload_bytes": 10,
            "mobile_ms": [1.0, 1.2], "edge_ms": [2.0, 2.1], "mobile_encode_ms": 0.1, "edge_decode_ms": 0.2,
            "mobile_flops": 1e6, "edge_flops": 2e6}
    old = split_profile(pd.DataFrame(rows), ["p"], None)["p"]
    assert old.mobile_work is None and old.edge_work is None
    counts = {f"{side}_{k}": v for side in ("mobile", "edge")
              for k, v in (("ops", 10), ("kernels", 8), ("bytes", 1e5), ("weight_bytes", 5e4), ("io_bytes", 100),
                           ("low_flops", 0), ("low_bytes", 2e4), ("low_weight_bytes", 0))}
    new = split_profile(pd.DataFrame({**rows, **counts}), ["p"], None)["p"]
    assert new.edge_work.ops[0] == 10 and new.edge_work.flops[0] == 2e6 and new.mobile_work.io_bytes[1] == 100
    assert list(new.mobile_work.conv_outputs) == [0, 0]  # a table older than conv_outputs: the term drops out
    gemm = split_profile(pd.DataFrame({**rows, **counts, "mobile_conv_outputs": 500, "edge_conv_outputs": 7}), ["p"], None)["p"]
    assert gemm.mobile_work.conv_outputs[1] == 500 and gemm.edge_work.conv_outputs[0] == 7


def test_output_term_charges_each_gemm_output_on_a_cpu_only(tmp_path):
    """``output_macs``: each output element of a dense convolution with a kernel over 1x1 costs that many
    multiply-adds at the achieved rate, in the arithmetic of the non-low-intensity group; a profile
    without it (every shipped one but a calibrated host) has no such term, and a GPU ignores it."""
    host = load_device("host")
    work = StageWork(ops=40, kernels=30, flops=2e7, bytes=2e6, weight_bytes=1e6, conv_outputs=5e4)
    plain = _profile(tmp_path, "rpi4")
    withit = _profile(tmp_path, "rpi4", output_macs=80.0)
    g = withit.compute.achieved_gflops_per_core * 1e6  # FLOP per ms
    a, b = terms(work, 0.0, host, plain, 1), terms(work, 0.0, host, withit, 1)
    assert b.arithmetic - a.arithmetic == pytest.approx(2 * 80.0 * 5e4 / g)
    assert b.dispatch == a.dispatch and b.memory == a.memory == 0.0
    eight = terms(work, 0.0, host, withit, 8)
    assert eight.arithmetic == pytest.approx(8 * b.arithmetic)  # per sample, like the FLOPs
    assert terms(StageWork(**{**work.__dict__, "conv_outputs": 0.0}), 0.0, host, withit, 1).arithmetic == pytest.approx(a.arithmetic)
    t4, t4_macs = load_device("t4"), _profile(tmp_path, "t4", output_macs=80.0)
    assert terms(work, 0.0, host, t4_macs, 4).total == pytest.approx(terms(work, 0.0, host, t4, 4).total)


def test_summary_names_the_dominant_term_of_each_stage():
    """A small split stage: dispatch-bound on the Pi (hundreds of operators, few FLOPs), launch-bound on
    the T4; ten times the FLOPs make the Pi's side arithmetic-bound; codec time dominates when it is
    most of the stage; no counts, or a local pipeline's edge side: no decomposition."""
    from sc2sim.sim.plan import split_profile
    from sc2sim.sim.terms import stage_terms

    host, pi, t4 = load_device("host"), load_device("rpi4"), load_device("t4")
    rows = {"pipeline": "p", "strategy": "split", "sample": [0, 1, 2], "correct": True, "payload_bytes": 10,
            "mobile_ms": 1.0, "edge_ms": 2.0, "mobile_encode_ms": [0.01, 0.02, 0.03], "edge_decode_ms": 0.01,
            "mobile_flops": 2e6, "edge_flops": 2e6}
    counts = {f"{side}_{k}": v for side in ("mobile", "edge")
              for k, v in (("ops", 200), ("kernels", 150), ("bytes", 1e5), ("weight_bytes", 5e4), ("io_bytes", 3136),
                           ("low_flops", 0), ("low_bytes", 2e4), ("low_weight_bytes", 0))}
    r = stage_terms(split_profile(pd.DataFrame({**rows, **counts}), ["p"], None)["p"], host, pi, t4)
    assert (r["mobile_dominant"], r["edge_dominant"]) == ("dispatch", "launch")
    assert 0.5 < r["mobile_dominant_share"] <= 1 and 0.5 < r["edge_dominant_share"] <= 1
    expect = terms(StageWork(**{k: counts[f"mobile_{k}"] for k in ("ops", "kernels", "bytes", "weight_bytes", "io_bytes",
                                                                     "low_flops", "low_bytes", "low_weight_bytes")},
                             flops=2e6), 0.02, host, pi)
    assert r["mobile_stage_ms"] == pytest.approx(expect.total)  # the median sample's codec time
    heavy = stage_terms(split_profile(pd.DataFrame({**rows, **counts, "mobile_flops": 2e8}), ["p"], None)["p"], host, pi, t4)
    assert heavy["mobile_dominant"] == "arithmetic"
    codec = stage_terms(split_profile(pd.DataFrame({**rows, **counts, "mobile_encode_ms": 50.0}), ["p"], None)["p"],
                        host, pi, t4)
    assert codec["mobile_dominant"] == "codec"
    bare = stage_terms(split_profile(pd.DataFrame(rows), ["p"], None)["p"], host, pi, t4)
    assert bare["mobile_dominant"] == "" and np.isnan(bare["mobile_stage_ms"])
    local = stage_terms(split_profile(pd.DataFrame({**rows, **counts, "strategy": "local"}), ["p"], None)["p"], host, pi, t4)
    assert local["mobile_dominant"] == "dispatch" and local["edge_dominant"] == ""


def test_edge_server_adds_the_batch_extra():
    from sc2sim.sim.des import EdgeServer

    env = simpy.Environment()
    edge = EdgeServer(env, gpus=1, max_batch=4, max_wait_s=1.0, fixed_s=1.0, extra_s=[0.0, 0.0, -0.5, -0.9, -1.2])
    events = [edge.submit(0.25) for _ in range(4)]  # all wait together: one batch of 4
    env.run()
    start, end, size = events[0].value
    assert size == 4 and end - start == pytest.approx(1.0 + 4 * 0.25 - 1.2)


def test_counting_finds_the_outputs_of_dense_convolutions_with_kernels_over_1x1():
    import torch

    from sc2sim.profiling.counting import count_work

    conv, lin = torch.nn.Conv2d(3, 8, 3), torch.nn.Linear(16, 5)
    dw, up, pw = torch.nn.Conv2d(8, 8, 3, groups=8), torch.nn.ConvTranspose2d(8, 4, 2, stride=2), torch.nn.Conv2d(8, 4, 1)
    assert count_work(lambda: conv(torch.zeros(1, 3, 10, 10)), [conv]).conv_outputs == 8 * 8 * 8
    assert count_work(lambda: up(torch.zeros(1, 8, 5, 5)), [up]).conv_outputs == 4 * 10 * 10
    assert count_work(lambda: torch.relu(dw(torch.zeros(1, 8, 10, 10))), [dw]).conv_outputs == 0  # depthwise: own kernel
    assert count_work(lambda: pw(torch.zeros(1, 8, 10, 10)), [pw]).conv_outputs == 0  # 1x1: a plain GEMM
    assert count_work(lambda: lin(torch.zeros(2, 16)), [lin]).conv_outputs == 0


def test_calibrate_fits_the_output_term_and_keeps_the_copy_bandwidth():
    """A full CPU calibration fits dispatch, efficiency and output_macs (recovered from stages that follow
    the model exactly) and takes the memory bandwidth from the copy micro-benchmark; --quick has no
    output term."""
    from sc2sim.profiling import calibrate as cal
    from sc2sim.profiling.counting import WorkCount
    from sc2sim.profiling.microbench import RefStage

    micro = {"gemm_gflops": 60.0, "dispatch_us": 2.0, "mem_gbps": 12.0, "call_overhead_ms": 0.0, "zlib_s": cal.REFERENCE_ZLIB_S}
    works = [WorkCount(ops=40 + 30 * i, kernels=30, flops=int(2e7 * 4 ** i), bytes=int(2e6 * 2 ** i),
                       weight_bytes=int(1e6), low_bytes=int(5e5 * 3 ** i), conv_outputs=int(1e5 * 2.5 ** i) + 1000 * i * i)
             for i in range(6)]
    stages = [RefStage(f"s{i}", b, w, 1.0) for i, w in enumerate(works) for b in (1, 8)]
    start = cal.host_profile({"micro": micro, "stages": stages}, name="fit", quick=True)["compute"]  # peak, cores
    truth = {k: v for k, v in start.items() if k != "sources"}
    truth.update(dispatch_us=15.0, efficiency=truth["efficiency"] * 0.7, output_macs=70.0)
    stages = [RefStage(s.name, s.batch, s.work, float(ms)) for s, ms in zip(stages, cal.modelled_ms(truth, stages))]
    c = cal.host_profile({"micro": micro, "stages": stages}, name="fit")["compute"]
    assert c["output_macs"] == pytest.approx(70.0, rel=0.02) and c["dispatch_us"] == pytest.approx(15.0, rel=0.02)
    assert c["mem_gbps"] == 12.0 and "micro-benchmark" in c["sources"]["mem_gbps"]
    assert "fitted" in c["sources"]["output_macs"]
    quick = cal.host_profile({"micro": micro, "stages": stages[:4]}, name="fit", quick=True)["compute"]
    assert "output_macs" not in quick
