"""What every image preprocessing layer shares: batched or single images, either data format,
floating output, and (for the random ones) a seeded random source on the images' device.

The layers follow Keras 3's augmentation protocol: `call` draws ONE random transformation
(`get_random_transformation`), then applies it to the images (`transform_images`) and, when
given a dict `{"images", "labels", "segmentation_masks", "bounding_boxes"}`, to every other
entry too (`transform_labels`, `transform_segmentation_masks`, `transform_bounding_boxes`), so an
image and its mask move together. A subclass written for Keras (overriding
`get_random_transformation` and `transform_images`) works unchanged.
"""

from __future__ import annotations

import torch

from lamina import backend, random
from lamina.engine import errors
from lamina.engine.layer import Layer
from lamina.layers.preprocessing.ops_backend import DataLayer

# Keras's image-layer base gives the layers that take no `factor` an unused (0, 0) one.
NO_FACTOR = (0.0, 0.0)


def float_images(inputs: torch.Tensor) -> torch.Tensor:
    """Integer images (uint8 pixels) become float32; floating ones pass through untouched."""
    return inputs if inputs.is_floating_point() else inputs.to(torch.float32)


class ImageLayer(DataLayer, Layer):
    """Base of the image layers: subclasses write `transform(images_nchw, training)`.

    Accepts (batch, height, width, channels) or a single (height, width, channels) image (the
    form a `Dataset.map` function sees), channels-first when `data_format="channels_first"`, or a
    dict of images and their labels, segmentation masks and bounding boxes (see the module).

    `moves_pixels` says whether the layer changes the images' geometry: if it does, segmentation
    masks follow the images (nearest interpolation) and bounding boxes need the layer's own
    `transform_bounding_boxes`; if not (colour layers), both pass through unchanged.
    """

    moves_pixels = False

    def __init__(self, data_format=None, bounding_box_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = backend.standardize_data_format(data_format)
        self.bounding_box_format = bounding_box_format

    @property
    def height_axis(self) -> int:
        return -3 if self.data_format == "channels_last" else -2

    @property
    def width_axis(self) -> int:
        return -2 if self.data_format == "channels_last" else -1

    @property
    def channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else -3

    def check_rank(self, inputs):
        if inputs.ndim not in (3, 4):
            raise errors.value_error(
                self,
                "images of rank 3 (height, width, channels) or 4 (batch, height, width, channels)",
                f"shape {tuple(inputs.shape)}",
                "a grey image needs its channel axis: x[..., None].",
            )

    def call(self, data, training=True):
        training = bool(training)
        if isinstance(data, dict):
            return self._call_on_dict(data, training)
        self.check_rank(data)
        transformation = self.get_random_transformation(data, training=training)
        if data.ndim == 3:
            return self.transform_single_image(data, transformation, training=training)
        return self.transform_images(data, transformation, training=training)

    def _call_on_dict(self, data, training: bool) -> dict:
        """Every entry transformed with the same draw; a new dict (the caller's is left as is)."""
        if "images" not in data:
            raise errors.value_error(
                self,
                "a dict with an 'images' entry (and optionally 'labels', 'segmentation_masks', "
                "'bounding_boxes')",
                f"keys {sorted(data)}",
            )
        images = data["images"]
        self.check_rank(images)
        single = images.ndim == 3
        transformation = self.get_random_transformation(data, training=training)
        out = dict(data)
        transform = self.transform_single_image if single else self.transform_images
        out["images"] = transform(images, transformation, training=training)
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise errors.value_error(
                    self,
                    "a `bounding_box_format` for inputs with 'bounding_boxes'",
                    "bounding_box_format=None",
                    "build the layer with bounding_box_format='xyxy' (or the boxes' format).",
                )
            transform = (
                self.transform_single_bounding_box if single else self.transform_bounding_boxes
            )
            out["bounding_boxes"] = transform(
                dict(data["bounding_boxes"]), transformation, training=training
            )
        if "labels" in data:
            transform = self.transform_single_label if single else self.transform_labels
            out["labels"] = transform(data["labels"], transformation, training=training)
        if "segmentation_masks" in data:
            transform = (
                self.transform_single_segmentation_mask
                if single
                else self.transform_segmentation_masks
            )
            out["segmentation_masks"] = transform(
                data["segmentation_masks"], transformation, training=training
            )
        return out

    # The protocol. `transformation` is whatever `get_random_transformation` returned (None for
    # the deterministic layers, and when not training).

    def get_random_transformation(self, data, training=True, seed=None):
        """The random draw `call` applies to every entry of `data` (None: nothing random).

        Args:
            data: images, or a dict with "images".
            training: False draws nothing.
            seed: an int or `lamina.random.SeedGenerator` to draw from instead of the layer's.

        Example:
            >>> Resizing(4, 4).get_random_transformation(torch.rand(2, 8, 8, 3)) is None
            True
        """
        del data, training, seed

    def transform_images(self, images, transformation, training=True):
        """A batch of images (in the layer's data format) transformed by `transformation`.

        Args:
            images: (batch, height, width, channels) images, or channels-first.
            transformation: from `get_random_transformation`.
            training: False leaves the random layers' images unchanged.

        Example:
            >>> layer = RandomFlip("horizontal", seed=0)
            >>> images = torch.rand(2, 4, 4, 3)
            >>> out = layer.transform_images(images, layer.get_random_transformation(images))
        """
        images = float_images(torch.as_tensor(images))
        channels_last = self.data_format == "channels_last"
        nchw = backend.channels_first_view(images) if channels_last else images
        out = self.transform_nchw(nchw, transformation, bool(training))
        if out is nchw:  # untouched (inference): hand back the input itself, not a view of it
            return images
        if channels_last:
            out = backend.channels_last_view(out)
            if not out.is_contiguous():
                # grid_sample and gather return NCHW-contiguous tensors. Handing their NHWC view
                # on would make every conv, pool and BatchNorm of the model run in NCHW memory
                # format (measured: the in-model augmentation case cost 1.75x the plain epoch);
                # one copy here keeps the network on its channels-last fast path.
                out = out.contiguous()
        return out

    def transform_nchw(self, images, transformation, training: bool):
        """`transform_images` on the (N, C, H, W) view; deterministic layers write `transform`."""
        del transformation
        return self.transform(images, training)

    def transform(self, images, training: bool):
        raise NotImplementedError

    def transform_labels(self, labels, transformation, training=True):
        """Labels after the transformation: unchanged, as an image's class does not move.

        Args:
            labels: the batch's labels.
            transformation: from `get_random_transformation`.
            training: as in `transform_images`.

        Example:
            >>> RandomFlip().transform_labels(torch.tensor([1, 0]), None).tolist()
            [1, 0]
        """
        del transformation, training
        return labels

    def transform_segmentation_masks(self, segmentation_masks, transformation, training=True):
        """Masks moved with the images (nearest interpolation, their dtype kept) by the layers
        that move pixels; unchanged by the colour layers.

        Args:
            segmentation_masks: (batch, height, width, 1) masks, or channels-first.
            transformation: from `get_random_transformation`.
            training: as in `transform_images`.

        Example:
            >>> layer = RandomFlip("horizontal", seed=0)
            >>> masks = torch.arange(4.0).reshape(1, 1, 4, 1)
            >>> flips = {"flips": torch.ones(1, 1, 1, 1) > 0}
            >>> layer.transform_segmentation_masks(masks, flips).flatten().tolist()
            [3.0, 2.0, 1.0, 0.0]
        """
        if not self.moves_pixels:
            return segmentation_masks
        masks = torch.as_tensor(segmentation_masks)
        channels_last = self.data_format == "channels_last"
        nchw = backend.channels_first_view(masks) if channels_last else masks
        out = self.transform_masks_nchw(float_images(nchw), transformation, bool(training))
        out = backend.channels_last_view(out) if channels_last else out
        return out.to(masks.dtype) if not masks.is_floating_point() else out

    def transform_masks_nchw(self, masks, transformation, training: bool):
        """`transform_segmentation_masks` on (N, C, H, W) float masks."""
        del masks, transformation, training
        raise NotImplementedError(
            errors.message(
                self,
                "inputs without 'segmentation_masks' (the layer cannot move masks yet)",
                "segmentation masks",
            )
        )

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """Boxes after the transformation: unchanged by the colour layers; the geometric layers
        that support boxes override this (the others raise, as in Keras).

        Args:
            bounding_boxes: {"boxes": (batch, n, 4), "labels": (batch, n)} in
                `bounding_box_format`.
            transformation: from `get_random_transformation`.
            training: as in `transform_images`.

        Example:
            >>> boxes = {"boxes": torch.ones(1, 1, 4), "labels": torch.ones(1, 1)}
            >>> RandomBrightness(0.1).transform_bounding_boxes(boxes, None)["boxes"].shape
            torch.Size([1, 1, 4])
        """
        if not self.moves_pixels:
            return bounding_boxes
        raise NotImplementedError(
            errors.message(
                self,
                "inputs without 'bounding_boxes' (the layer cannot move boxes)",
                "bounding boxes",
            )
        )

    def transform_single_image(self, image, transformation, training=True):
        """`transform_images` for one (height, width, channels) image.

        Args:
            image: one image.
            transformation: from `get_random_transformation` (drawn for a batch of one).
            training: as in `transform_images`.

        Example:
            >>> Resizing(2, 2).transform_single_image(torch.rand(4, 4, 3), None).shape
            torch.Size([2, 2, 3])
        """
        images = torch.as_tensor(image).unsqueeze(0)
        return self.transform_images(images, transformation, training=training).squeeze(0)

    def transform_single_label(self, label, transformation, training=True):
        """`transform_labels` for one image's label.

        Args:
            label: one label.
            transformation: from `get_random_transformation`.
            training: as in `transform_images`.

        Example:
            >>> RandomFlip().transform_single_label(torch.tensor(3), None).item()
            3
        """
        labels = torch.as_tensor(label).unsqueeze(0)
        return self.transform_labels(labels, transformation, training=training).squeeze(0)

    def transform_single_segmentation_mask(self, segmentation_mask, transformation, training=True):
        """`transform_segmentation_masks` for one image's mask.

        Args:
            segmentation_mask: one (height, width, 1) mask.
            transformation: from `get_random_transformation`.
            training: as in `transform_images`.

        Example:
            >>> mask = torch.ones(2, 2, 1)
            >>> RandomBrightness(0.1).transform_single_segmentation_mask(mask, None).shape
            torch.Size([2, 2, 1])
        """
        masks = torch.as_tensor(segmentation_mask).unsqueeze(0)
        out = self.transform_segmentation_masks(masks, transformation, training=training)
        return out.squeeze(0)

    def transform_single_bounding_box(self, bounding_box, transformation, training=True):
        """`transform_bounding_boxes` for one image's {"boxes": (n, 4), "labels": (n,)}.

        Args:
            bounding_box: one image's boxes and labels.
            transformation: from `get_random_transformation`.
            training: as in `transform_images`.

        Example:
            >>> boxes = {"boxes": torch.ones(2, 4), "labels": torch.ones(2)}
            >>> RandomBrightness(0.1).transform_single_bounding_box(boxes, None)["boxes"].shape
            torch.Size([2, 4])
        """
        batched = {
            key: torch.as_tensor(value).unsqueeze(0) if key in ("boxes", "labels") else value
            for key, value in bounding_box.items()
        }
        out = self.transform_bounding_boxes(batched, transformation, training=training)
        return {
            key: value.squeeze(0) if key in ("boxes", "labels") else value
            for key, value in out.items()
        }

    def get_config(self):
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config


class RandomImageLayer(ImageLayer):
    """An augmentation, reproducible when given a `seed`. Active when training, and, as in
    Keras (whose augmentations declare `call(..., training=True)`), when called with no
    `training` outside fit: by hand or in a `Dataset.map`; predict and evaluate turn it off.

    With a seed the layer owns a torch.Generator per device, seeded once, so two layers built with
    the same seed draw the same transformations in the same order; without one it draws from
    torch's global generator (which `lamina.utils.set_random_seed` seeds).

    Subclasses write `draw_transformation(images_nchw)` (one draw for the whole batch, on the
    images' device: a dict of tensors) and `apply_transformation(images_nchw, transformation,
    interpolation)`; a layer that does not split yet writes `augment(images_nchw)`.
    """

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = None if seed is None else int(seed)
        self._generators: dict = {}
        self._draw_generator = None  # get_random_transformation(seed=...)'s, while it draws

    @property
    def generator(self) -> random.SeedGenerator:
        """The layer's `lamina.random.SeedGenerator` (seeded with `seed`), for the draws of a
        custom `get_random_transformation`: `self.backend.random.uniform(s, seed=self.generator)`.
        The built-in layers draw from their own per-device torch generators."""
        found = self.__dict__.get("_seed_generator")
        if found is None:
            found = random.SeedGenerator(self.seed)
            self.__dict__["_seed_generator"] = found
        return found

    @generator.setter
    def generator(self, value):
        self.__dict__["_seed_generator"] = value

    def _get_seed_generator(self, backend_name=None):
        # Keras's DataLayer hook, which Keras's own augmentations (and copies of them) call.
        del backend_name
        return self.generator

    def get_random_transformation(self, data, training=True, seed=None):
        if not training:
            return None
        images = torch.as_tensor(data["images"] if isinstance(data, dict) else data)
        if images.ndim == 3:
            images = images.unsqueeze(0)
        nchw = (
            backend.channels_first_view(images) if self.data_format == "channels_last" else images
        )
        if seed is None:
            return self.draw_transformation(nchw)
        self._draw_generator = _torch_generator(seed, images.device)
        try:
            return self.draw_transformation(nchw)
        finally:
            self._draw_generator = None

    def draw_transformation(self, images):
        """The batch's random transformation, for (N, C, H, W) `images` (None: not split)."""
        del images

    def apply_transformation(self, images, transformation, interpolation=None):
        """(N, C, H, W) `images` transformed; `interpolation` overrides the layer's (masks)."""
        raise NotImplementedError

    def transform_nchw(self, images, transformation, training: bool):
        if not training or transformation is None:
            # Inference, or a layer that draws and applies in one `augment`.
            return self.transform(images, training)
        return self.apply_transformation(images, transformation)

    def transform_masks_nchw(self, masks, transformation, training: bool):
        if not training:
            return masks
        if transformation is None:
            return super().transform_masks_nchw(masks, transformation, training)
        return self.apply_transformation(masks, transformation, "nearest")

    def transform(self, images, training: bool):
        # Draw and apply in one go: the policies (RandAugment, AugMix) chain their operations so.
        if not training:
            return images
        return self.augment(images)

    def augment(self, images):
        return self.apply_transformation(images, self.draw_transformation(images))

    def uniform(self, shape, low, high, like: torch.Tensor) -> torch.Tensor:
        """Uniform draws in [low, high) on `like`'s device, in float32."""
        draws = torch.rand(shape, generator=self._generator(like.device), device=like.device)
        return draws * (high - low) + low

    def _generator(self, device: torch.device):
        if self._draw_generator is not None:
            return self._draw_generator
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


def keras_input_shape(layer, images: torch.Tensor) -> tuple:
    """Keras's `input_shape` entry of a transformation: the (N, C, H, W) batch's shape in the
    layer's data format."""
    batch, channels, height, width = images.shape
    if layer.data_format == "channels_last":
        return (batch, height, width, channels)
    return (batch, channels, height, width)


def on_device(values, like: torch.Tensor) -> torch.Tensor:
    """A transformation's tensor on `like`'s device (one given by hand may come from the host)."""
    values = torch.as_tensor(values)
    return values if values.device == like.device else values.to(like.device)


def per_image(values, images: torch.Tensor) -> torch.Tensor:
    """A transformation's per-image values as (N, 1, 1, 1), in `images`' dtype and device (one
    given by hand, Keras's say, may be (N,) and on the host)."""
    return on_device(values, images).to(images.dtype).reshape(-1, 1, 1, 1)


def _torch_generator(seed, device) -> torch.Generator | None:
    """A torch.Generator on `device` for get_random_transformation's `seed` argument."""
    if device.type == "meta":
        return None
    if isinstance(seed, random.SeedGenerator):
        return seed.torch_generator(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


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
