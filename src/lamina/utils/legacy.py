"""Keras 2's `{"class_name", "config"}` serialization (Keras's `keras.utils.legacy`).

Examples:
    >>> serialize_keras_object(lamina.layers.ReLU())["class_name"]
    'ReLU'
"""

from lamina.saving.legacy_serialization import deserialize_keras_object, serialize_keras_object

__all__ = ["deserialize_keras_object", "serialize_keras_object"]
