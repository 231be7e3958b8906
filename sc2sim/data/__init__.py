"""Datasets: Fashion-MNIST from Debian's package (the embedded default) and ImageFolder for user images.

Every loader returns an :class:`ImageSet`: uint8 images of shape ``(N, H, W)`` (grey) and int labels,
in a fixed, documented order, so that "sample i" means the same image everywhere.
"""

from sc2sim.data.base import ImageSet
from sc2sim.data.loading import load_dataset
from sc2sim.data.fashion_mnist import CLASSES as FASHION_MNIST_CLASSES
from sc2sim.data.fashion_mnist import load_fashion_mnist
from sc2sim.data.imagefolder import load_imagefolder

__all__ = ["ImageSet", "load_dataset", "load_fashion_mnist", "load_imagefolder", "FASHION_MNIST_CLASSES"]
