"""ImageDataGenerator: Keras's classic real-time augmentation, done a batch at a time in torch.

Keras transforms one image at a time with SciPy; lamina draws one affine map per image and
resamples the whole batch with a single `grid_sample` (layers/preprocessing/image_ops.py), so the
augmentation costs a few batched kernels per batch.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lamina import backend
from lamina.layers.preprocessing import image_ops
from lamina.preprocessing.image_iterators import DirectoryIterator, NumpyArrayIterator


def _pair(value, name):
    """zoom_range / brightness_range: a float z -> [1 - z, 1 + z]; a pair stays."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1.0 - float(value), 1.0 + float(value))
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return (float(value[0]), float(value[1]))
    raise ValueError(
        f"ImageDataGenerator expects {name} as a float or a pair [lower, upper]; "
        f"received {name}={value!r}."
    )


class ImageDataGenerator:
    """Random augmentation and normalisation of image batches, for `flow` / `flow_from_directory`.

    Args (Keras's, all off by default):
        featurewise_center, featurewise_std_normalization: subtract the data set's mean / divide
            by its std per channel (learnt by `fit(x)`).
        samplewise_center, samplewise_std_normalization: the same per image.
        zca_whitening, zca_epsilon: ZCA whitening learnt by `fit(x)`.
        rotation_range: degrees, rotations drawn from [-r, r].
        width_shift_range, height_shift_range: a float < 1 is a fraction of the size, >= 1 pixels;
            an int draws whole pixels in [-r, r]; a list draws from its values.
        shear_range: shear angle in degrees, drawn from [-s, s].
        zoom_range: a float z draws zooms from [1 - z, 1 + z] per axis; or a pair [lower, upper].
        channel_shift_range: a random offset in [-c, c] added to every channel.
        brightness_range: a pair: the brightness factor drawn from it per image.
        fill_mode: "nearest" (default), "constant", "reflect" or "wrap"; cval for "constant".
        horizontal_flip, vertical_flip: flip half of the images.
        rescale: multiply by this after augmentation (`1 / 255`).
        preprocessing_function: called on each augmented image (a NumPy array), before rescale.
        data_format: "channels_last" (default) or "channels_first".
        validation_split: the fraction held out for `subset="validation"`.
        interpolation_order: 0 (nearest) or 1 (bilinear, default) for the affine resampling.
    """

    def __init__(
        self,
        featurewise_center=False,
        samplewise_center=False,
        featurewise_std_normalization=False,
        samplewise_std_normalization=False,
        zca_whitening=False,
        zca_epsilon=1e-6,
        rotation_range=0,
        width_shift_range=0.0,
        height_shift_range=0.0,
        brightness_range=None,
        shear_range=0.0,
        zoom_range=0.0,
        channel_shift_range=0.0,
        fill_mode="nearest",
        cval=0.0,
        horizontal_flip=False,
        vertical_flip=False,
        rescale=None,
        preprocessing_function=None,
        data_format=None,
        validation_split=0.0,
        interpolation_order=1,
        dtype=None,
    ):
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = float(rotation_range)
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = float(shear_range)
        self.zoom_range = _pair(zoom_range, "zoom_range")
        self.brightness_range = (
            None if brightness_range is None else _pair(brightness_range, "brightness_range")
        )
        self.channel_shift_range = float(channel_shift_range)
        if fill_mode not in image_ops.FILL_MODES:
            raise ValueError(
                f"ImageDataGenerator expects fill_mode in {list(image_ops.FILL_MODES)}"
                f"; received fill_mode={fill_mode!r}."
            )
        self.fill_mode, self.cval = fill_mode, float(cval)
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.data_format = backend.standardize_data_format(data_format)
        if not 0.0 <= float(validation_split) < 1.0:
            raise ValueError(
                "ImageDataGenerator expects validation_split in [0, 1); received "
                f"validation_split={validation_split}."
            )
        self.validation_split = float(validation_split)
        self.interpolation = "nearest" if interpolation_order == 0 else "bilinear"
        self.mean = self.std = self.principal_components = None

    # ----------------------------------------------------------------------------------------------
    # Batch sources

    def flow(
        self,
        x,
        y=None,
        batch_size=32,
        shuffle=True,
        sample_weight=None,
        seed=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        ignore_class_split=False,
        subset=None,
    ):
        """Augmented batches `(x, y)` (or `(x, y, sample_weight)`, or `x`) of in-memory images."""
        return NumpyArrayIterator(
            x,
            y,
            self,
            batch_size=batch_size,
            shuffle=shuffle,
            sample_weight=sample_weight,
            seed=seed,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            subset=subset,
        )

    def flow_from_directory(
        self,
        directory,
        target_size=(256, 256),
        color_mode="rgb",
        classes=None,
        class_mode="categorical",
        batch_size=32,
        shuffle=True,
        seed=None,
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        follow_links=False,
        subset=None,
        interpolation="nearest",
        keep_aspect_ratio=False,
        on_error="raise",
    ):
        """Augmented batches of images read from `directory/<class>/<image>`."""
        return DirectoryIterator(
            directory,
            self,
            target_size=target_size,
            color_mode=color_mode,
            classes=classes,
            class_mode=class_mode,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            follow_links=follow_links,
            subset=subset,
            interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio,
            on_error=on_error,
        )

    # ----------------------------------------------------------------------------------------------
    # Statistics

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Learn the featurewise mean / std and ZCA matrix from sample images `x`."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise ValueError(
                "ImageDataGenerator.fit expects x of rank 4 (samples, height, width, "
                f"channels); received shape {x.shape}."
            )
        if augment:
            generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
            x = np.concatenate(
                [
                    self.random_transform_batch(torch.from_numpy(x), generator).numpy()
                    for _ in range(rounds)
                ]
            )
        channel_axis = 3 if self.data_format == "channels_last" else 1
        axes = tuple(a for a in range(4) if a != channel_axis)
        if self.featurewise_center:
            self.mean = x.mean(axis=axes, keepdims=True)[0]
            x = x - self.mean
        if self.featurewise_std_normalization:
            self.std = x.std(axis=axes, keepdims=True)[0]
            x = x / (self.std + 1e-6)
        if self.zca_whitening:
            flat = x.reshape(len(x), -1).astype(np.float64)
            sigma = flat.T @ flat / len(flat)
            u, s, _ = np.linalg.svd(sigma)
            self.principal_components = ((u / np.sqrt(s + self.zca_epsilon)) @ u.T).astype(
                np.float32
            )

    # ----------------------------------------------------------------------------------------------
    # Transformations

    def transform_batch(self, images, generator=None):
        """Augment then standardize a float batch (N, H, W, C) tensor; returns a float32 tensor."""
        return self.standardize_batch(self.random_transform_batch(images, generator))

    def random_transform_batch(self, images, generator=None):
        """Apply the random affine map, channel shift, flips and brightness to each image."""
        images = images.to(torch.float32)
        channels_last = self.data_format == "channels_last"
        nchw = backend.channels_first_view(images) if channels_last else images
        count, _, height, width = nchw.shape

        def uniform(low, high, size=(count,)):
            return torch.rand(size, generator=generator) * (high - low) + low

        linear = torch.eye(2).expand(count, 2, 2)
        if self.rotation_range:
            angles = uniform(-self.rotation_range, self.rotation_range) * (math.pi / 180.0)
            linear = linear @ image_ops.rotation_matrices(angles)
        if self.shear_range:
            shear = uniform(-self.shear_range, self.shear_range) * (math.pi / 180.0)
            ones, zeros = torch.ones(count), torch.zeros(count)
            shear_matrix = torch.stack(
                [
                    torch.stack([ones, -torch.sin(shear)], -1),
                    torch.stack([zeros, torch.cos(shear)], -1),
                ],
                -2,
            )
            linear = linear @ shear_matrix
        if self.zoom_range != (1.0, 1.0):
            zoom = uniform(*self.zoom_range, size=(count, 2))
            linear = linear @ torch.diag_embed(zoom)
        shift = torch.stack(
            [
                self._shifts(self.width_shift_range, width, count, generator),
                self._shifts(self.height_shift_range, height, count, generator),
            ],
            -1,
        )
        shifting = bool(np.any(self.width_shift_range)) or bool(np.any(self.height_shift_range))
        if self.rotation_range or self.shear_range or self.zoom_range != (1.0, 1.0) or shifting:
            matrices = torch.cat([linear, shift[:, :, None]], dim=2)
            nchw = image_ops.affine_sample(
                nchw, matrices, self.fill_mode, self.cval, self.interpolation
            )
        if self.channel_shift_range:
            low = nchw.amin(dim=(1, 2, 3), keepdim=True)
            high = nchw.amax(dim=(1, 2, 3), keepdim=True)
            offset = uniform(-self.channel_shift_range, self.channel_shift_range)
            nchw = torch.minimum(torch.maximum(nchw + offset[:, None, None, None], low), high)
        if self.horizontal_flip:
            flip = uniform(0.0, 1.0)[:, None, None, None] < 0.5
            nchw = torch.where(flip, nchw.flip(-1), nchw)
        if self.vertical_flip:
            flip = uniform(0.0, 1.0)[:, None, None, None] < 0.5
            nchw = torch.where(flip, nchw.flip(-2), nchw)
        if self.brightness_range is not None:
            # Keras goes through an 8-bit PIL image: values keep their minimum and are scaled
            # by the factor, saturating at the image's maximum.
            low = nchw.amin(dim=(1, 2, 3), keepdim=True)
            high = nchw.amax(dim=(1, 2, 3), keepdim=True)
            factor = uniform(*self.brightness_range)[:, None, None, None]
            nchw = low + torch.minimum((nchw - low) * factor, high - low)
        return backend.channels_last_view(nchw) if channels_last else nchw

    def _shifts(self, shift_range, size, count, generator):
        """Shifts in pixels for one axis (Keras's float / int / list conventions)."""
        if isinstance(shift_range, (list, tuple, np.ndarray)):
            choices = torch.as_tensor(np.asarray(shift_range, dtype=np.float32))
            picks = torch.randint(len(choices), (count,), generator=generator)
            values = choices[picks]
        elif isinstance(shift_range, int) and not isinstance(shift_range, bool):
            return torch.randint(-shift_range, shift_range + 1, (count,), generator=generator).to(
                torch.float32
            )
        else:
            limit = float(shift_range)
            if limit == 0.0:
                return torch.zeros(count)
            values = torch.rand(count, generator=generator) * 2 * limit - limit
        # Fractions of the size below 1, pixels from 1 up (Keras's rule).
        return values * size if float(np.max(np.abs(np.asarray(shift_range)))) < 1 else values

    def standardize_batch(self, images):
        """preprocessing_function, rescale, samplewise and featurewise normalisation, ZCA."""
        if self.preprocessing_function is not None:
            arrays = images.numpy()
            images = torch.from_numpy(
                np.stack(
                    [np.asarray(self.preprocessing_function(a), dtype=np.float32) for a in arrays]
                )
            )
        if self.rescale:
            images = images * float(self.rescale)
        axes = (1, 2, 3)
        if self.samplewise_center:
            images = images - images.mean(dim=axes, keepdim=True)
        if self.samplewise_std_normalization:
            images = images / (images.std(dim=axes, keepdim=True, correction=0) + 1e-6)
        if self.featurewise_center:
            self._require_fit("featurewise_center", self.mean)
            images = images - torch.from_numpy(self.mean)
        if self.featurewise_std_normalization:
            self._require_fit("featurewise_std_normalization", self.std)
            images = images / (torch.from_numpy(self.std) + 1e-6)
        if self.zca_whitening:
            self._require_fit("zca_whitening", self.principal_components)
            flat = images.reshape(len(images), -1) @ torch.from_numpy(self.principal_components)
            images = flat.reshape(images.shape)
        return images.contiguous()

    @staticmethod
    def _require_fit(option, statistic):
        if statistic is None:
            raise ValueError(
                f"ImageDataGenerator({option}=True) needs the data set's statistics: "
                "call .fit(x_train) on sample images before flow()."
            )
