"""Per-class automatic names: `conv2d`, `conv2d_1`, ... counted per process, as Keras does."""

from __future__ import annotations

import re
from collections import defaultdict

_counters: defaultdict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    """Keras's rule: `MaxPooling1D` -> `max_pooling1d`, `GlobalAveragePooling2D` ->
    `global_average_pooling2d`."""
    intermediate = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    if insecure[0] != "_":
        return insecure
    return "private" + insecure


def unique_name(base: str) -> str:
    """`base` the first time, then `base_1`, `base_2`, ..."""
    count = _counters[base]
    _counters[base] += 1
    return base if count == 0 else f"{base}_{count}"


def take_names_of(*classes: str) -> None:
    """Use up the next auto-name of each class, for a helper layer Keras creates that lamina
    computes inline: later layers of that class are then numbered as in Keras.

    Args:
        *classes: Keras class names, such as "Dropout" (auto-name `dropout`).

    Example:
        >>> take_names_of("Dropout")  # doctest: +SKIP
        >>> unique_name("dropout")  # doctest: +SKIP
        'dropout_1'
    """
    for class_name in classes:
        unique_name(to_snake_case(class_name))


def reset() -> None:
    _counters.clear()
