"""Utilities: seeds, label encoding, progress bars, plots and reports."""

import numpy as np
import torch

from lamina.backend import clear_session, is_keras_tensor, set_random_seed, standardize_dtype
from lamina.config import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from lamina.preprocessing.audio_folders import audio_dataset_from_directory
from lamina.preprocessing.image import image_dataset_from_directory
from lamina.preprocessing.image_io import array_to_img, img_to_array, load_img, save_img
from lamina.preprocessing.sequence import pad_sequences, timeseries_dataset_from_array
from lamina.preprocessing.text_folders import text_dataset_from_directory
from lamina.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lamina.saving.object_serialization import deserialize_keras_object, serialize_keras_object
from lamina.utils import legacy
from lamina.utils.config import Config
from lamina.utils.data_tuples import normalize, pack_x_y_sample_weight, unpack_x_y_sample_weight
from lamina.utils.dataset_split import split_dataset
from lamina.utils.embedding_warmstart import warmstart_embedding_matrix
from lamina.utils.feature_space import FeatureSpace
from lamina.utils.file_download import get_file
from lamina.utils.graph_inputs import get_source_inputs
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset
from lamina.visualization.model_dot import model_to_dot
from lamina.visualization.model_plot import plot_model

Sequence = PyDataset  # Keras's older name for the same base class


def to_categorical(y, num_classes=None, dtype=None):
    """Class ids -> one-hot rows.

    Labels shaped `(N, 1)` are treated as `(N,)`, as Keras does.

    Args:
        y: class ids (ints >= 0), any shape.
        num_classes: the number of classes (default: the largest id + 1).
        dtype: the result's dtype; None (the default) gives Keras 3's: float64 for NumPy
            (NumPy's default, as Keras), float32 for a torch tensor.

    Returns:
        An array shaped `y.shape + (num_classes,)`: a torch tensor on `y`'s device when `y` is
        one (as Keras returns a backend tensor for one), a NumPy array otherwise.

    Examples:
        >>> to_categorical([0, 2], 3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if isinstance(y, torch.Tensor):
        rows = to_categorical(y.detach().cpu().numpy(), num_classes, dtype or "float32")
        return torch.from_numpy(rows).to(y.device)
    y = np.asarray(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical expects class ids >= 0; received a minimum of {y.min()}.")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= num_classes:
        raise ValueError(
            f"to_categorical got num_classes={num_classes} but a label {int(y.max())}; "
            f"labels must be in [0, {num_classes})."
        )
    categorical = np.zeros((y.size, num_classes), dtype=dtype or "float64")
    categorical[np.arange(y.size), y] = 1
    return categorical.reshape(*shape, num_classes)


__all__ = [
    "legacy",
    "Config",
    "CustomObjectScope",
    "FeatureSpace",
    "Progbar",
    "PyDataset",
    "Sequence",
    "array_to_img",
    "audio_dataset_from_directory",
    "clear_session",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_file",
    "get_registered_name",
    "get_registered_object",
    "get_source_inputs",
    "image_dataset_from_directory",
    "img_to_array",
    "is_keras_tensor",
    "load_img",
    "model_to_dot",
    "normalize",
    "pack_x_y_sample_weight",
    "pad_sequences",
    "plot_model",
    "register_keras_serializable",
    "save_img",
    "serialize_keras_object",
    "split_dataset",
    "standardize_dtype",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
    "unpack_x_y_sample_weight",
    "warmstart_embedding_matrix",
    "disable_interactive_logging",
    "enable_interactive_logging",
    "is_interactive_logging_enabled",
    "set_random_seed",
    "to_categorical",
]
