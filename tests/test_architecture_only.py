"""Architecture-only profiling, rate-accuracy cards, sc2bench models and the ImageNet what-if scenario."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import cli

from sc2sim.cards import load_card, select_point, with_published
from sc2sim.data import load_dataset
from sc2sim.errors import ConfigError
from sc2sim.pipelines import build_pipeline
from sc2sim.profiling.flops import count_flops

ROOT = Path(__file__).resolve().parents[1]
SC2BENCH_CONFIG = """\
dependencies:
  - name: 'sc2bench.models'
datasets:
  &imagenet_val ilsvrc2012/val: !import_call
    _name: &dataset_name 'ilsvrc2012'
    _root: &root_dir !join ['~/datasets/', *dataset_name]
    key: 'torchvision.datasets.ImageFolder'
    init:
      kwargs:
        root: !join [*root_dir, '/val']
models:
  student_model:
    key: &student_model_name 'splittable_resnet'
    _weights: &student_model_weights_enum !import_get
      key: 'torchvision.models.resnet.ResNet50_Weights'
    kwargs:
      num_classes: 1000
      weights: !getattr [*student_model_weights_enum, 'IMAGENET1K_V1']
      bottleneck_config:
        key: 'FPBasedResNetBottleneck'
        kwargs:
          num_bottleneck_channels: 24
          num_target_channels: 256
      resnet_name: 'resnet50'
      pre_transform:
      skips_avgpool: False
      skips_fc: False
      analysis_config:
        analyzes_after_compress: True
        analyzer_configs:
          - key: 'FileSizeAnalyzer'
            kwargs:
              unit: 'KB'
    experiment: &student_experiment !join [*dataset_name, '-', *student_model_name, '50-fp-beta0.08_from_resnet50']
    dst_ckpt: !join ['./resource/ckpt/ilsvrc2012/supervised_compression/entropic_student/', *student_experiment, '.pt']
"""
# ^ the model section of sc2bench's configs/ilsvrc2012/supervised_compression/entropic_student/
#   splitable_resnet50-fp-beta0.08_from_resnet50.yaml, tags included (datasets trimmed)


def test_student224_architecture_matches_the_paper():
    from sc2sim.models.student224 import EntropicStudent224

    pipe = build_pipeline("split:sc2bench?weights=none&point=3")
    enc = pipe.bl.encoder
    assert sum(p.numel() for p in enc.parameters()) == 138_672  # paper: 138,672
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        y = enc(x)
        assert count_flops(lambda: enc(x)) == pytest.approx(1.18e9, rel=0.005)  # paper: 1.18 GFLOPs
        assert count_flops(lambda: pipe._classify(y)) == pytest.approx(13.8e9, rel=0.01)  # paper: about 13.8
    assert pipe.latent_hw == (55, 55) and isinstance(pipe.model, EntropicStudent224)


def test_card_points_and_errors(tmp_path):
    card = load_card("sc2-imagenet-published")
    assert card.kind == "published" and "arXiv 2203.08875" in card.source and card.kb_bytes == 1024
    p = select_point("sc2-imagenet-published", "entropic-student", 3, "x")
    assert (p.size, p.bytes, p.top1) == (3.6, round(3.6 * 1024), 74.1)
    assert select_point("", "resnet50", -1, "x").bytes is None  # one-point method: the point may be omitted
    with pytest.raises(ConfigError, match=r"point=9 — allowed .*0: 2.45 KB, 58 %; 1: 3.9 KB, 67 %"):
        build_pipeline("offload:webp?model=resnet50&weights=none&point=9")
    with pytest.raises(ConfigError, match="method='naive' — card sc2-imagenet-published has"):
        build_pipeline("split:naive?model=resnet50&weights=none")
    with pytest.raises(ConfigError, match="only with weights=none"):
        build_pipeline("offload:webp?point=1")
    with pytest.raises(ConfigError, match="no such card"):
        build_pipeline(f"split:sc2bench?weights=none&point=1&card={tmp_path}/missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"source": "me", "unit": "MB", "methods": {"m": {"points": [[1, 50]]}}}))
    with pytest.raises(ConfigError, match=r"bad\.yaml: unit: 'MB'"):
        load_card(str(bad))


def test_weights_none_profile_takes_bytes_and_accuracy_from_the_card(tmp_path, capsys):
    from sc2sim.profiling import read_profile

    out = tmp_path / "prof"
    names = "local:torchvision?arch=resnet18&method=resnet50,offload:webp?model=resnet18&point=0"
    assert cli("profile", "--weights", "none", "--pipelines", names, "--dataset", "sample-photos", "--samples", "2",
               "--timing-samples", "1", "--repeats", "1", "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert "published" in printed and "arXiv 2203.08875" in printed
    t = read_profile(out / "profile.parquet")
    pub = t.attrs["sc2sim"]["published"]
    webp = t[t.pipeline == "offload:webp?model=resnet18&point=0&weights=none"]
    assert (webp["payload_bytes"] == round(2.45 * 1024)).all() and (webp["bytes_source"] == "published").all()
    assert (t["accuracy_source"] == "published").all() and (t["pred"] == -1).all()
    assert pub["local:torchvision?method=resnet50&model=resnet18&weights=none"]["top1"] == 76.1
    assert webp["edge_flops"].iloc[0] > 3e9 and webp["mobile_ms"].notna().sum() == 1  # times and FLOPs: measured
    # bundled models have no architecture-only mode: one line, exit 2
    assert cli("profile", "--weights", "none", "--pipelines", "local:teacher", "--out", str(out)) == 2
    assert "has no architecture-only mode" in capsys.readouterr().err


def test_with_published_puts_exact_card_values_in_summaries():
    import pandas as pd

    s = pd.DataFrame({"pipeline": ["a", "b"], "accuracy": [0.5, 0.9], "mean_bytes": [10.0, 20.0]})
    p = select_point("", "jpeg", 1, "a").as_dict()
    out = with_published(s, {"a": p})
    assert out["accuracy"].tolist() == [0.64, 0.9] and out["mean_bytes"].tolist() == [4096.0, 20.0]
    assert out["accuracy_source"].tolist() == ["published", "measured"]


def test_sc2bench_config_and_checkpoint(tmp_path):
    """sc2bench builds the model from its YAML (tags kept inert); its checkpoint loads; the split equals
    sc2bench's own encode/decode forward, and the built-in student gives the same bytes."""
    from sc2sim.models.imagenet import imagenet_normalize
    from sc2sim.pipelines.split_sc2bench import build_sc2bench_model
    from sc2sim.pipelines.torch_util import image_tensor

    cfg = tmp_path / "es.yaml"
    cfg.write_text(SC2BENCH_CONFIG)
    model = build_sc2bench_model(str(cfg), "config")
    torch.manual_seed(3)
    with torch.no_grad():  # a checkpoint that differs from any seeded initialisation
        for prm in model.parameters():
            prm.add_(0.01 * torch.randn_like(prm))
    model.update()
    ckpt = tmp_path / "es.pt"
    torch.save({"model": model.state_dict(), "optimizer": {}, "args": argparse.Namespace(beta=0.08)}, ckpt)
    data = load_dataset("sample-photos").head(2)
    split = build_pipeline(f"split:sc2bench?config={cfg}&checkpoint={ckpt}")
    builtin = build_pipeline(f"split:sc2bench?checkpoint={ckpt}")
    model.eval()
    for image in data.images:
        payload = split.mobile(image)
        with torch.no_grad():
            ref = model.bottleneck_layer.encode(imagenet_normalize(image_tensor(image)))
            ref_pred = int(model(imagenet_normalize(image_tensor(image))).argmax(1))
        assert payload == ref["strings"][0][0] == builtin.mobile(image)
        assert split.edge(payload) == ref_pred == builtin.edge(payload)
    assert split.edge_batch(split.mobile_batch(data.images)).tolist() == [split.edge(split.mobile(im)) for im in data.images]


def test_sc2bench_config_never_runs_code_and_missing_package_is_one_line(tmp_path, monkeypatch):
    from sc2sim.models.sc2bench_config import model_config

    cfg = tmp_path / "es.yaml"
    cfg.write_text(SC2BENCH_CONFIG)
    mc = model_config(str(cfg))  # the datasets' !import_call is never executed (it would need ~/datasets)
    assert mc["key"] == "splittable_resnet" and mc["kwargs"]["weights"] is None and "analysis_config" not in mc["kwargs"]
    cfg.write_text(SC2BENCH_CONFIG.replace("      pre_transform:\n", "      pre_transform: !import_call {key: 'os.getcwd'}\n"))
    with pytest.raises(ConfigError, match=r"models\.student_model\.kwargs\.pre_transform: !import_call — sc2sim does not run code"):
        model_config(str(cfg))
    cfg.write_text(SC2BENCH_CONFIG)
    monkeypatch.setitem(sys.modules, "sc2bench", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "sc2bench.models.backbone", None)
    with pytest.raises(ConfigError, match=r"needs the optional package sc2bench: pip install sc2sim\[sc2bench\]"):
        build_pipeline(f"split:sc2bench?config={cfg}&weights=none&point=0")
    with pytest.raises(ConfigError, match="checkpoint=PATH .* or weights=none"):
        build_pipeline(f"split:sc2bench?config={cfg}")


def test_imagenet_whatif_scenario_labels_published_numbers(tmp_path):
    """The shipped scenario, on one photo, one mobile and one edge device: whatif and run."""
    doc = yaml.safe_load((ROOT / "scenarios" / "imagenet-resnet50-whatif.yaml").read_text())
    assert doc["dataset"] == "sample-photos" and set(doc["mobile"]) == {"rpi4", "jetson-nano", "phone-flagship"}
    assert set(doc["edge"]) == {"t4", "a100"} and all("weights=none" in p for p in doc["pipelines"])
    doc.update(samples=1, timing_samples=1, mobile=["rpi4"], edge=["t4"])
    doc["network"]["uplink"]["bandwidth_mbps"] = [1, 20]
    doc["workload"]["requests"] = 20
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump(doc))
    assert cli("whatif", str(sc), "--out", str(tmp_path / "wi"), "--repeats", "1", "--no-progress") == 0
    import pandas as pd

    best = pd.read_csv(tmp_path / "wi" / "best.csv")
    assert (best["accuracy_source"] == "published").all()
    card = {0.761, 0.68, 0.741, 0.64, 0.67}
    assert set(np.round(best["accuracy"], 3)) <= card
    page = (tmp_path / "wi" / "whatif.html").read_text()
    assert "Published, not measured" in page and "arXiv 2203.08875" in page and "(published)" in page
    assert "published, not measured" in (tmp_path / "wi" / "verdict.txt").read_text()
    assert cli("run", str(sc), "--out", str(tmp_path / "run"), "--repeats", "1", "--no-progress", "--quiet") == 0
    report = (tmp_path / "run" / "report.html").read_text()
    assert "Published, not measured" in report and report.count("(published)") >= 2 * len(doc["pipelines"])
