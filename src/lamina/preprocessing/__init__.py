"""lamina.preprocessing: image utilities (`image`) and Keras's dataset builders under their
`keras.preprocessing` names (the same functions as in `lamina.utils`)."""

from lamina.preprocessing import image
from lamina.preprocessing import text as text  # tf.keras 2.x names: each says its successor
from lamina.preprocessing.image import image_dataset_from_directory
from lamina.preprocessing.sequence import timeseries_dataset_from_array
from lamina.preprocessing.text_folders import text_dataset_from_directory

__all__ = [
    "image",
    "image_dataset_from_directory",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
]
