"""What every image preprocessing layer shares: batched or single images, either data format,
floating output, and (for the random ones) a seeded random source on the images' device."""

from __future__ import annotations

import torch

from lamina import backend
from lamina.engine import errors
from lamina.engine.layer import Layer


def float_images(inputs: torch.Tensor) -> torch.Tensor:
    """Integer images (uint8 pixels) become float32; floating ones pass through untouched."""
    return inputs if inputs.is_floating_point() else inputs.to(torch.float32)


class ImageLayer(Layer):
    """Base of the image layers: subclasses write `transform(images_nchw, training)`.

    Accepts (batch, height, width, channels) or a single (height, width, channels) image (the
    form a `Dataset.map` function sees), channels-first when `data_format="channels_first"`.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)

    def check_rank(self, inputs):
        if inputs.ndim not in (3, 4):
            raise errors.value_error(
                self,
                "images of rank 3 (height, width, channels) or 4 (batch, height, width, channels)",
                f"shape {tuple(inputs.shape)}",
                "a grey image needs its channel axis: x[..., None].",
            )

    def call(self, inputs, training=True):
        self.check_rank(inputs)
        images = float_images(inputs)
        single = images.ndim == 3
        if single:
            images = images.unsqueeze(0)
        channels_last = self.data_format == "channels_last"
        nchw = backend.channels_first_view(images) if channels_last else images
        out = self.transform(nchw, bool(training))
        if out is nchw:  # untouched (inference): hand back the input itself, not a view of it
            out = images
        elif channels_last:
            out = backend.channels_last_view(out)
            if not out.is_contiguous():
                # grid_sample and gather return NCHW-contiguous tensors. Handing their NHWC view
                # on would make every conv, pool and BatchNorm of the model run in NCHW memory
                # format (measured: the in-model augmentation case cost 1.75x the plain epoch);
                # one copy here keeps the network on its channels-last fast path.
                out = out.contiguous()
        return out.squeeze(0) if single else out

    def transform(self, images, training: bool):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class RandomImageLayer(ImageLayer):
    """An augmentation, reproducible when given a `seed`. Active when training, and, as in
    Keras (whose augmentations declare `call(..., training=True)`), when called with no
    `training` outside fit: by hand or in a `Dataset.map`; predict and evaluate turn it off.

    With a seed the layer owns a torch.Generator per device, seeded once, so two layers built with
    the same seed draw the same transformations in the same order; without one it draws from
    torch's global generator (which `lamina.utils.set_random_seed` seeds).
    """

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = None if seed is None else int(seed)
        self._generators: dict = {}

    def transform(self, images, training: bool):
        if not training:
            return images
        return self.augment(images)

    def augment(self, images):
        raise NotImplementedError

    def uniform(self, shape, low, high, like: torch.Tensor) -> torch.Tensor:
        """Uniform draws in [low, high) on `like`'s device, in float32."""
        draws = torch.rand(shape, generator=self._generator(like.device), device=like.device)
        return draws * (high - low) + low

    def _generator(self, device: torch.device):
        if self.seed is None or device.type == "meta":
            return None
        generator = self._generators.get(device)
        if generator is None:
            generator = torch.Generator(device=device)
            generator.manual_seed(self.seed)
            self._generators[device] = generator
        return generator

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def symmetric_range(factor, argument: str, layer, bounds=(-1.0, 1.0)) -> tuple[float, float]:
    """Keras's factor convention: `f` -> (-|f|, |f|); `(a, b)` -> (a, b); checked against bounds."""
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise errors.value_error(
                layer, f"`{argument}` as a float or a pair (lower, upper)", f"{argument}={factor!r}"
            )
        lower, upper = sorted(float(f) for f in factor)
    elif isinstance(factor, (int, float)) and not isinstance(factor, bool):
        lower, upper = -abs(float(factor)), abs(float(factor))
    else:
        raise errors.value_error(
            layer, f"`{argument}` as a float or a pair (lower, upper)", f"{argument}={factor!r}"
        )
    if lower < bounds[0] or upper > bounds[1]:
        raise errors.value_error(
            layer, f"`{argument}` within [{bounds[0]}, {bounds[1]}]", f"{argument}={factor!r}"
        )
    return lower, upper


def value_range_pair(value_range, layer) -> tuple[float, float]:
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise errors.value_error(
            layer,
            "`value_range` as a pair (low, high)",
            f"value_range={value_range!r}",
            "images in [0, 1] need value_range=(0, 1).",
        )
    low, high = float(value_range[0]), float(value_range[1])
    if low >= high:
        raise errors.value_error(
            layer, "`value_range` with low < high", f"value_range={value_range!r}"
        )
    return low, high
