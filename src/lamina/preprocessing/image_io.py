"""Image files <-> arrays with Pillow: load_img, img_to_array, array_to_img, save_img.

Arrays are (height, width, channels) floats (channels-first with `data_format="channels_first"`).
An unreadable or corrupt file raises `ValueError` naming the file, never Pillow's bare error.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np

from lamina import backend

# Pillow's resampling filters under the names Keras uses.
_RESAMPLING = {
    "nearest": 0,  # Image.Resampling.NEAREST
    "lanczos": 1,
    "bilinear": 2,
    "bicubic": 3,
    "box": 4,
    "hamming": 5,
}
_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".tif", ".tiff", ".webp")


def _pil():
    from PIL import Image

    return Image


def load_img(
    path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False
):
    """Open an image file as a PIL image.

    Args:
        path: the file: a path, a path-like or an open binary file (`io.BytesIO`), as Keras.
        color_mode: "rgb" (default), "grayscale" or "rgba".
        target_size: None (keep) or (height, width) to resize to.
        interpolation: Pillow's filter for the resize: "nearest" (default), "bilinear",
            "bicubic", "lanczos", "box" or "hamming".
        keep_aspect_ratio: crop the centre to the target aspect ratio before resizing.

    Raises:
        ValueError: the file cannot be decoded (the message names it).

    Examples:
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "square.png")
        ...     save_img(path, np.zeros((4, 6, 3)))
        ...     print(load_img(path, target_size=(2, 3)).size)  # PIL's (width, height)
        (3, 2)
    """
    image_module = _pil()
    if color_mode not in _MODES:
        raise ValueError(
            f"load_img expects color_mode in {list(_MODES)}; received color_mode={color_mode!r}."
        )
    if interpolation not in _RESAMPLING:
        raise ValueError(
            f"load_img expects interpolation in {list(_RESAMPLING)}; received "
            f"interpolation={interpolation!r}."
        )
    # a file object (bytes in memory, say) is read as it is, as Keras's load_img does
    opened = hasattr(path, "read")
    path = path if opened else os.fspath(path)
    try:
        with contextlib.nullcontext(path) if opened else open(path, "rb") as handle:
            image = image_module.open(handle)
            image.load()
    except FileNotFoundError:
        raise
    except Exception as error:  # Pillow raises several types for a damaged file
        raise ValueError(
            f"Could not read the image file {path!r}: {error}. Hint: remove or replace the "
            "file, or pass on_error='skip' to skip unreadable images."
        ) from error
    if image.mode != _MODES[color_mode]:
        image = image.convert(_MODES[color_mode])
    if target_size is not None:
        height, width = int(target_size[0]), int(target_size[1])
        if (image.height, image.width) != (height, width):
            if keep_aspect_ratio:
                crop_height = min(image.height, int(image.width * height / width))
                crop_width = min(image.width, int(image.height * width / height))
                top = (image.height - crop_height) // 2
                left = (image.width - crop_width) // 2
                image = image.crop((left, top, left + crop_width, top + crop_height))
            image = image.resize((width, height), _RESAMPLING[interpolation])
    return image


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image -> a NumPy array (height, width, channels), float32 by default.

    Args:
        img: the PIL image.
        data_format: `"channels_last"` or `"channels_first"` (default: the global setting).
        dtype: the array's dtype (default float32).

    Examples:
        >>> img_to_array(array_to_img(np.ones((4, 6, 3)), scale=False)).shape
        (4, 6, 3)
    """
    data_format = backend.standardize_data_format(data_format)
    array = np.asarray(img, dtype=dtype or backend.floatx())
    if array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim != 3:
        raise ValueError(f"img_to_array expects a 2-D or 3-D image; received shape {array.shape}.")
    return array.transpose(2, 0, 1) if data_format == "channels_first" else array


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A (height, width, channels) array or tensor -> a PIL image.

    Args:
        x: the image array, channels last (or first with `data_format="channels_first"`).
        data_format: `"channels_last"` or `"channels_first"` (default: the global setting).
        scale: rescale the values to [0, 255] from their minimum and maximum.
        dtype: the float type the scaling is computed in (default: the global float type).

    Examples:
        >>> array_to_img(np.zeros((4, 6, 3))).size  # PIL's (width, height)
        (6, 4)
    """
    data_format = backend.standardize_data_format(data_format)
    array = np.asarray(backend.as_numpy(x), dtype=dtype or backend.floatx())
    if array.ndim != 3:
        raise ValueError(
            "array_to_img expects a 3-D array (height, width, channels); received shape "
            f"{array.shape}."
        )
    if data_format == "channels_first":
        array = array.transpose(1, 2, 0)
    if scale:
        array = array - array.min()
        peak = array.max()
        if peak > 0:
            array = array / peak * 255.0
    channels = array.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"array_to_img expects 1, 3 or 4 channels; received {channels}.")
    # Keras truncates to uint8 (it does not round); the clip only tames values a float->uint8
    # cast would wrap (scale=False with pixels outside [0, 255]).
    pixels = np.clip(array, 0, 255).astype(np.uint8)
    # Pillow infers L / RGB / RGBA from a uint8 array's shape.
    return _pil().fromarray(pixels[:, :, 0] if channels == 1 else pixels)


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write an array as an image file (the format from the extension unless `file_format`).

    Args:
        path: where to write.
        x: the image array, `(height, width, channels)`.
        data_format: `"channels_last"` or `"channels_first"` (default: the global setting).
        file_format: the format's name (`"png"`, `"jpeg"`), or None for the extension's.
        scale: rescale the values to [0, 255] from their minimum and maximum.
        **kwargs: passed to PIL's `Image.save`.

    Examples:
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     save_img(os.path.join(folder, "x.png"), np.zeros((4, 4, 1)))
        ...     print(os.listdir(folder))
        ['x.png']
    """
    if file_format is not None and file_format.lower() == "jpg":
        file_format = "jpeg"  # Keras's alias; Pillow knows only "JPEG"
    image = array_to_img(x, data_format=data_format, scale=scale)
    if image.mode == "RGBA" and (file_format or os.fspath(path)).lower().endswith(("jpg", "jpeg")):
        warnings.warn(
            "save_img: the JPEG format does not support RGBA images, converting to RGB.",
            stacklevel=2,
        )
        image = image.convert("RGB")
    image.save(path, format=file_format, **kwargs)
