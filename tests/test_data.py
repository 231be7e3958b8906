"""Datasets: published order, the clear missing-dataset error, ImageFolder."""

from __future__ import annotations

import numpy as np
from conftest import run_cli
from PIL import Image

from sc2sim.data import load_dataset, load_fashion_mnist, load_imagefolder


def test_fashion_mnist_published_splits(fmnist_test):
    train = load_fashion_mnist("train")
    assert train.images.shape == (60000, 28, 28) and fmnist_test.images.shape == (10000, 28, 28)
    assert train.images.dtype == np.uint8
    # published first labels: test starts Ankle boot, Pullover, Trouser; train starts Ankle boot, T-shirt
    assert fmnist_test.labels[:3].tolist() == [9, 2, 1]
    assert train.labels[:2].tolist() == [9, 0]
    assert np.bincount(fmnist_test.labels).tolist() == [1000] * 10
    assert fmnist_test.head(5).images.shape[0] == 5


def test_missing_dataset_is_one_clear_line_exit_2(tmp_path):
    proc = run_cli("profile", "--pipelines", "offload:png", "--samples", "3", "--data-dir", str(tmp_path / "nope"),
                   "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert "apt-get install -y dataset-fashion-mnist" in err and "--data-dir" in err


def test_sc2sim_data_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("SC2SIM_DATA", str(tmp_path / "elsewhere"))
    import pytest

    from sc2sim.errors import DatasetMissingError

    with pytest.raises(DatasetMissingError, match="elsewhere"):
        load_fashion_mnist("test")


def test_imagefolder_rgb_and_grey_resized_and_cropped(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "cat").mkdir()
    (tmp_path / "dog").mkdir()
    Image.fromarray(rng.integers(0, 255, (60, 90, 3), dtype=np.uint8), "RGB").save(tmp_path / "cat" / "a.jpg")
    Image.fromarray(rng.integers(0, 255, (40, 30), dtype=np.uint8), "L").save(tmp_path / "dog" / "b.png")
    Image.fromarray(np.full((28, 28), 200, np.uint8), "L").save(tmp_path / "dog" / "c.png")
    data = load_imagefolder(tmp_path, size=28, color="grey")
    assert data.images.shape == (3, 28, 28) and data.images.dtype == np.uint8
    assert data.classes == ("cat", "dog") and data.labels.tolist() == [0, 1, 1]
    assert (data.images[2] == 200).all()  # already 28x28: unchanged
    assert np.asarray(load_dataset(f"imagefolder:{tmp_path}?size=28&color=grey").images).shape == (3, 28, 28)
    assert load_dataset(f"imagefolder:{tmp_path}").images.shape == (3, 224, 224, 3)  # default: ImageNet-style RGB
