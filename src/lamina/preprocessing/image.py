"""`lamina.preprocessing.image`: Keras's image utilities under their usual import path.

    from lamina.preprocessing.image import ImageDataGenerator, load_img, img_to_array

The code lives by concept: image_io.py (files <-> arrays), image_generator.py (ImageDataGenerator),
image_iterators.py (flow / flow_from_directory batches), image_folders.py (folders of images).
"""

import numpy as np
import torch

from lamina import backend
from lamina.layers.preprocessing.image_ops import smart_resize as _smart_resize_nchw
from lamina.preprocessing.image_folders import image_dataset_from_directory
from lamina.preprocessing.image_generator import ImageDataGenerator
from lamina.preprocessing.image_io import array_to_img, img_to_array, load_img, save_img
from lamina.preprocessing.image_iterators import DirectoryIterator, Iterator, NumpyArrayIterator


def smart_resize(x, size, interpolation="bilinear"):
    """Resize (height, width, channels) or (batch, height, width, channels) images to `size`
    without distorting them: centre-crop to the target aspect ratio, then resize."""
    was_numpy = not isinstance(x, torch.Tensor)
    images = torch.as_tensor(np.asarray(x, dtype=np.float32)) if was_numpy else x.float()
    single = images.ndim == 3
    batch = images[None] if single else images
    out = _smart_resize_nchw(
        backend.channels_first_view(batch), int(size[0]), int(size[1]), interpolation
    )
    out = backend.channels_last_view(out)
    out = out[0] if single else out
    return out.numpy() if was_numpy else out


__all__ = [
    "DirectoryIterator",
    "ImageDataGenerator",
    "Iterator",
    "NumpyArrayIterator",
    "array_to_img",
    "image_dataset_from_directory",
    "img_to_array",
    "load_img",
    "save_img",
    "smart_resize",
]
