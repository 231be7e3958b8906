"""Bring your own model and data: ImageFolder at 224x224, torchvision classifiers in every strategy.

The images are the photos matplotlib ships (no download); the checkpoints are saved by the tests
themselves from randomly initialised torchvision models (resnet18, 2 classes).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sc2sim.data import load_dataset
from sc2sim.data.photos import sample_photo_paths
from sc2sim.errors import ConfigError
from sc2sim.pipelines import build_pipeline
from sc2sim.pipelines.torch_util import images_tensor


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """root/<class>/<photo>: 2 classes x 2 of matplotlib's sample photos (as shipped, any size)."""
    photos = {p.name: p for p in sample_photo_paths()}
    root = tmp_path_factory.mktemp("photos")
    layout = {"a": ["grace_hopper.jpg", "logo2.png"], "b": ["Minduka_Present_Blue_Pack.png", "grace_hopper.jpg"]}
    for cls, names in layout.items():
        (root / cls).mkdir()
        for n in names:
            shutil.copy(photos[n], root / cls / n)
    return root


@pytest.fixture(scope="module")
def resnet18_ckpt(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    """A torchdistill-style checkpoint (``{"model": state_dict, "args": Namespace}``) of a random 2-class resnet18."""
    from torchvision import models

    torch.manual_seed(1)
    net = models.resnet18(weights=None, num_classes=2).eval()
    path = tmp_path_factory.mktemp("ckpt") / "resnet18.pt"
    torch.save({"model": net.state_dict(), "args": argparse.Namespace(lr=0.1), "epoch": 3}, path)
    return path, net


def _reference(net: torch.nn.Module, images: np.ndarray) -> list[int]:
    """torchvision's own eval pipeline on uint8 224x224 crops: /255, ImageNet normalisation, forward."""
    from torchvision.transforms.functional import normalize

    x = normalize(images_tensor(images), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    with torch.no_grad():
        return net(x).argmax(1).tolist()


def test_imagefolder_is_imagenet_style_224_rgb(photo_folder, monkeypatch):
    data = load_dataset(f"imagefolder:{photo_folder}")
    assert data.images.shape == (4, 224, 224, 3) and data.classes == ("a", "b") and data.labels.tolist() == [0, 0, 1, 1]
    with Image.open(photo_folder / "a" / "grace_hopper.jpg") as img:  # 600x512 -> short side 256 -> crop 224
        w, h = img.size
        s = 256 / min(w, h)
        ref = img.convert("RGB").resize((round(w * s), round(h * s)), Image.Resampling.BILINEAR)
    left, top = (ref.size[0] - 224) // 2, (ref.size[1] - 224) // 2
    assert np.array_equal(data.images[0], np.asarray(ref.crop((left, top, left + 224, top + 224))))
    assert data.head(2).images.shape == (2, 224, 224, 3)
    grey = load_dataset(f"imagefolder:{photo_folder}?size=28&color=grey")
    assert np.asarray(grey.images).shape == (4, 28, 28) and grey.fingerprint() != data.fingerprint()
    monkeypatch.setenv("SC2SIM_DATA", str(photo_folder))  # `imagefolder` alone: the folder from --data-dir / SC2SIM_DATA
    assert load_dataset("imagefolder").fingerprint() == data.fingerprint()
    assert load_dataset("sample-photos").images.shape[1:] == (224, 224, 3)
    with pytest.raises(ConfigError, match="unknown option 'colour'"):
        load_dataset(f"imagefolder:{photo_folder}?colour=grey")


def test_torchvision_model_in_every_strategy_matches_torchvision(photo_folder, resnet18_ckpt):
    path, net = resnet18_ckpt
    data = load_dataset(f"imagefolder:{photo_folder}")
    ref = _reference(net, np.asarray(data.images))
    local = build_pipeline(f"local:torchvision?arch=resnet18&weights={path}")
    assert [local.edge(local.mobile(im)) for im in data.images] == ref
    assert local.edge_batch(local.mobile_batch(data.images)).tolist() == ref
    for k in range(5):  # stem, layer1 .. layer4: a lossless cut gives the whole model's answer
        cut = build_pipeline(f"split:naive?stage={k}&bits=32&codec=none&model=resnet18&weights={path}")
        payload = cut.mobile(data.images[0])
        assert len(payload) == 4 * cut.numel and cut.edge(payload) == ref[0]
    assert build_pipeline(f"split:naive?stage=4&bits=8&model=resnet18&weights={path}").shape == (512, 7, 7)
    png = build_pipeline(f"offload:png?model=resnet18&weights={path}")  # lossless: same predictions
    assert [png.edge(png.mobile(im)) for im in data.images] == ref
    jpeg = build_pipeline(f"offload:jpeg?quality=60&model=resnet18&weights={path}")
    payload = jpeg.mobile(data.images[1])
    assert payload[:2] == b"\xff\xd8" and jpeg.edge(payload) == _reference(net, jpeg.decode(payload)[None])[0]


def test_profile_of_a_user_model_measures_accuracy_on_the_folder(photo_folder, resnet18_ckpt):
    from sc2sim.profiling import ensure_profile

    path, net = resnet18_ckpt
    name = f"local:torchvision?arch=resnet18&weights={path}"
    t = ensure_profile([name], None, dataset=f"imagefolder:{photo_folder}", repeats=1, progress=False, timed=2)
    data = load_dataset(f"imagefolder:{photo_folder}")
    assert t["pred"].tolist() == _reference(net, np.asarray(data.images))
    assert t["correct"].tolist() == (t["pred"] == data.labels).tolist() and "accuracy_source" not in t.columns
    assert t["mobile_flops"].iloc[0] == pytest.approx(3.64e9, rel=0.02)  # resnet18 at 224: 1.82 GMACs


def test_bad_weights_and_inputs_are_one_line_errors(tmp_path, resnet18_ckpt, photo_folder):
    path, _ = resnet18_ckpt
    with pytest.raises(ConfigError, match=r"weights: '.*nope\.pt' — no such file"):
        build_pipeline(f"local:torchvision?arch=resnet18&weights={tmp_path}/nope.pt")
    with pytest.raises(ConfigError, match="does not fit the architecture"):
        build_pipeline(f"local:torchvision?arch=resnet34&weights={path}")
    with pytest.raises(ConfigError, match="weights — required with model=resnet18"):
        build_pipeline("offload:webp?model=resnet18")
    with pytest.raises(ConfigError, match="only with a torchvision model"):
        build_pipeline(f"offload:webp?weights={path}")
    with pytest.raises(ConfigError, match="not a torchvision classifier|allowed"):
        build_pipeline("local:torchvision?arch=resnet9000&weights=none")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="not a state_dict checkpoint"):
        build_pipeline(f"local:torchvision?arch=resnet18&weights={tmp_path}/junk.pt")
    grey = load_dataset(f"imagefolder:{photo_folder}?size=28&color=grey")
    pipe = build_pipeline(f"local:torchvision?arch=resnet18&weights={path}")
    with pytest.raises(ConfigError, match="takes RGB images"):
        pipe.mobile(grey.images[0])
    rgb = load_dataset(f"imagefolder:{photo_folder}").images[0]
    png = build_pipeline("offload:png")  # the bundled teacher on a 224x224 RGB photo: refused, not silently wrong
    with pytest.raises(ConfigError, match="takes grey 28x28 images"):
        png.edge(png.mobile(rgb))
