"""MixUp and CutMix: augmentations that mix each image (and its label) with another image of
the batch, drawn by a random permutation. They take images alone or a dict with "images" and
"labels" (as Keras), and act when training (and, Keras's default, when called without
`training` outside predict/evaluate)."""

from __future__ import annotations

import numpy as np
import torch

from lamina.engine import errors
from lamina.layers.preprocessing.base import NO_FACTOR, RandomImageLayer
from lamina.layers.preprocessing.color_augmentation import keras_factor


class _MixingLayer(RandomImageLayer):
    def __call__(self, inputs, *args, training=None, **kwargs):
        if isinstance(inputs, dict):
            return self._call_dict(inputs, training)
        return super().__call__(inputs, *args, training=training, **kwargs)

    def _call_dict(self, data, training):
        from lamina.engine.layer import current_training

        if not current_training(self, training):
            return data
        images = data["images"]
        if images.ndim == 3:  # a single image has no partner to mix with
            return data
        channels_last = self.data_format == "channels_last"
        nchw = images.movedim(-1, 1) if channels_last else images
        mixed, weights, order = self.mix(nchw.float())
        out = dict(data)
        out["images"] = (mixed.movedim(1, -1) if channels_last else mixed).contiguous()
        if "labels" in data:
            labels = torch.as_tensor(data["labels"]).float()
            w = weights.reshape(-1, *[1] * (labels.ndim - 1)).to(labels.dtype)
            out["labels"] = w * labels + (1.0 - w) * labels[order]
        return out

    def augment(self, images):
        return self.mix(images)[0]

    def _beta(self, count, alpha, like):
        # torch's Beta sampler takes no generator: seed NumPy's from the layer's torch stream.
        seed = int(self.uniform((), 0, 2**31 - 1, like))
        return torch.as_tensor(
            np.random.default_rng(seed).beta(alpha, alpha, size=count),
            dtype=torch.float32,
            device=like.device,
        )

    def _permutation(self, count, like):
        return torch.randperm(count, generator=self._generator(like.device), device=like.device)


class MixUp(_MixingLayer):
    """MixUp (Zhang et al., 2018): `w x_i + (1 - w) x_j` and the same for labels, with `w`
    drawn per image from Beta(alpha, alpha) and `j` from a random permutation of the batch.

    Args:
        alpha: the Beta distribution's parameter (default 0.2: mostly light mixing).
        data_format, seed: as in the other augmentations.

    Call: images, or `{"images": images, "labels": one_hot_labels}` (returns the same).

    Example:
        >>> out = MixUp(seed=1)({"images": torch.rand(4, 8, 8, 3), "labels": torch.eye(4)},
        ...                     training=True)
        >>> bool(torch.allclose(out["labels"].sum(dim=1), torch.ones(4)))
        True
    """

    factor = NO_FACTOR

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if alpha <= 0:
            raise errors.value_error(self, "alpha > 0", f"alpha={alpha}")
        self.alpha = float(alpha)

    def mix(self, images):
        count = images.shape[0]
        order = self._permutation(count, images)
        weights = self._beta(count, self.alpha, images).to(images.dtype)
        w = weights.reshape(-1, 1, 1, 1)
        return w * images + (1.0 - w) * images[order], weights, order

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class CutMix(_MixingLayer):
    """CutMix (Yun et al., 2019): pastes a random box of another image of the batch into each
    image; labels mix by the kept area.

    The box covers a fraction `1 - w` of the image, `w` drawn per image from Beta(a, a) with
    `a` drawn once per batch from `factor`; its position is uniform.

    Args:
        factor: the range of the Beta parameter (a number f: [0, f]).
        seed, data_format: as in the other augmentations.

    Call: images, or `{"images": images, "labels": one_hot_labels}` (returns the same).

    Example:
        >>> out = CutMix(seed=0)(torch.rand(4, 8, 8, 3), training=True)
        >>> tuple(out.shape)
        (4, 8, 8, 3)
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, self, (0.0, 1.0))

    def mix(self, images):
        count, _, height, width = images.shape
        alpha = float(self.uniform((), *self.factor, images)) + 1e-6
        ratio = torch.sqrt(1.0 - self._beta(count, alpha, images))
        x0, x1 = self._bounds(count, width, ratio, images)
        y0, y1 = self._bounds(count, height, ratio, images)
        order = self._permutation(count, images)
        rows = torch.arange(height, device=images.device, dtype=torch.float32).reshape(1, 1, -1, 1)
        cols = torch.arange(width, device=images.device, dtype=torch.float32).reshape(1, 1, 1, -1)
        box = (
            (cols >= x0.reshape(-1, 1, 1, 1))
            & (cols < x1.reshape(-1, 1, 1, 1))
            & (rows >= y0.reshape(-1, 1, 1, 1))
            & (rows < y1.reshape(-1, 1, 1, 1))
        )
        weights = 1.0 - (x1 - x0) * (y1 - y0) / (width * height)
        return torch.where(box, images[order], images), weights, order

    def _bounds(self, count, length, ratio, like):
        size = ratio * length
        start = self.uniform((count,), 0.0, 1.0, like) * (length - size)
        return start, start + size

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
