"""ImageNet input preprocessing and prediction decoding, as `keras.applications.imagenet_utils`.

Three preprocessing modes cover every pretrained family: "caffe" (RGB -> BGR, minus the ImageNet
channel means; VGG, ResNet), "tf" (scale to [-1, 1]; ResNetV2, MobileNet, Inception, Xception,
NASNet) and "torch" (scale to [0, 1], then standardise per channel; DenseNet). EfficientNet,
EfficientNetV2, MobileNetV3 and ConvNeXt preprocess inside the model and take raw [0, 255] pixels.

`decode_predictions` needs ImageNet's class index, `imagenet_class_index.json`, which Keras
downloads once into `~/.keras/models`; lamina never downloads, so it reads that file (or the one
in `~/.lamina/models`) and says where to put it when it is missing.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from lamina import backend
from lamina.applications import weights as weight_files
from lamina.engine.keras_tensor import KerasTensor, record_operation

CLASS_INDEX_FILE = "imagenet_class_index.json"
# Where Keras's decode_predictions downloads it from (not the applications' weights folder).
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/"

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def _channel_shape(ndim: int, channels_first: bool) -> tuple:
    """Broadcast shape of a per-channel constant for an image or a batch of images."""
    if not channels_first:
        return (1,) * (ndim - 1) + (3,)
    return (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)


def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocess a batch of RGB images in [0, 255] for an ImageNet model.

    Args:
        x: NumPy array, torch tensor or symbolic tensor (a model's `Input`), one image (3-D) or a
            batch (4-D), 3 channels.
        data_format: "channels_last" (the default) or "channels_first".
        mode: "caffe" (RGB -> BGR, zero-centred by ImageNet's means), "tf" (scaled to [-1, 1])
            or "torch" (scaled to [0, 1], then standardised with ImageNet's mean and std).

    Returns:
        A new float array (NumPy in, NumPy out; a tensor in, a tensor out; a symbolic tensor in,
        the symbolic output of the recorded operations out, so it can open a functional model).
        Unlike Keras, the input array is never modified in place.

    Example:
        >>> preprocess_input(np.full((1, 1, 1, 3), 127.5), mode="tf")[0, 0, 0].tolist()
        [0.0, 0.0, 0.0]
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(
            f"preprocess_input() expects mode 'caffe', 'tf' or 'torch'; received mode={mode!r}."
        )
    if data_format is None:
        data_format = "channels_last"
    if data_format not in {"channels_first", "channels_last"}:
        raise ValueError(
            "preprocess_input() expects data_format 'channels_first' or 'channels_last'; "
            f"received data_format={data_format!r}."
        )
    if isinstance(x, KerasTensor):
        if mode == "tf":
            # Keras records the division and the subtraction as two operations of the graph.
            return x / 127.5 - 1.0
        return record_operation(
            preprocess_input, x, data_format=data_format, mode=mode, name="preprocess_input"
        )
    is_tensor = isinstance(x, torch.Tensor)
    if is_tensor:
        x = x if x.is_floating_point() else x.float()
        constant = lambda values: torch.tensor(values, dtype=x.dtype, device=x.device)  # noqa: E731
    else:
        x = np.asarray(x)
        x = x.astype("float32") if not np.issubdtype(x.dtype, np.floating) else x
        constant = lambda values: np.asarray(values, dtype=x.dtype)  # noqa: E731
    if mode == "tf":
        return x / 127.5 - 1.0
    channels_first = data_format == "channels_first"
    shape = _channel_shape(x.ndim, channels_first)
    if mode == "torch":
        mean = constant(_TORCH_MEAN).reshape(shape)
        std = constant(_TORCH_STD).reshape(shape)
        return (x / 255.0 - mean) / std
    axis = (0 if x.ndim == 3 else 1) if channels_first else x.ndim - 1
    bgr = x.flip(axis) if is_tensor else np.flip(x, axis)
    return bgr - constant(_CAFFE_MEAN_BGR).reshape(shape)


_class_index = None


def _load_class_index() -> dict:
    global _class_index
    if _class_index is None:
        path = weight_files.find(
            CLASS_INDEX_FILE, what="ImageNet class index", url=CLASS_INDEX_URL, otherwise=""
        )
        with open(path) as file:
            _class_index = json.load(file)
    return _class_index


def decode_predictions(preds, top=5):
    """The `top` most likely ImageNet classes of each prediction.

    Args:
        preds: `(samples, 1000)` NumPy array or tensor of class scores.
        top: how many classes to return per sample.

    Returns:
        One list per sample of `(class_id, class_name, score)` tuples, highest score first.
        Reads `imagenet_class_index.json` from `~/.keras/models` or `~/.lamina/models`.

    Example:
        >>> decode_predictions(model.predict(images), top=3)[0][0]  # doctest: +SKIP
        ('n02123045', 'tabby', 0.71)
    """
    preds = backend.as_plain_numpy(preds)  # a tensor on any device; bfloat16 as float32
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "decode_predictions() expects a batch of ImageNet predictions of shape "
            f"(samples, 1000); received shape {preds.shape}."
        )
    index = _load_class_index()
    results = []
    for row in preds:
        best = np.argsort(row, kind="stable")[::-1][:top]
        results.append([(*index[str(int(i))], row[i]) for i in best])
    return results


def correct_pad(inputs, kernel_size):
    """The ZeroPadding2D padding that makes a strided `kernel_size` convolution TF-'same'.

    Args:
        inputs: a symbolic `(batch, height, width, channels)` tensor.
        kernel_size: an int or a pair.
    """
    sizes = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    pads = []
    for size, kernel in zip(inputs.shape[1:3], sizes, strict=True):
        extra = 1 if size is None else 1 - size % 2
        pads.append((kernel // 2 - extra, kernel // 2))
    return tuple(pads)


__all__ = ["correct_pad", "decode_predictions", "preprocess_input"]
