"""Preprocessing layers: values (Rescaling, Normalization), sizes (Resizing, CenterCrop,
RandomCrop) and augmentation (RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomBrightness, RandomContrast). Augmentations act when training, and, as in Keras, when
called with no `training` outside predict/evaluate; they take a `seed`."""

from lamina.layers.preprocessing.color import RandomBrightness, RandomContrast
from lamina.layers.preprocessing.geometric import (
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from lamina.layers.preprocessing.numeric import Normalization, Rescaling
from lamina.layers.preprocessing.sizing import CenterCrop, RandomCrop, Resizing

__all__ = [
    "CenterCrop",
    "Normalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "Resizing",
]
