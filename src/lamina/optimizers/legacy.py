"""`lamina.optimizers.legacy`: Keras 2's optimizers, which Keras 3 (and lamina) do not have.

Keras 3 keeps the names so that old imports still resolve; creating one raises an ImportError
that says what to use instead. lamina does the same.
"""

from __future__ import annotations


class _LegacyOptimizer:
    """A Keras 2 (`tf.keras.optimizers.legacy`) optimizer: creating one raises an ImportError.

    Args:
        *args: ignored.
        **kwargs: ignored.

    Example:
        >>> Adam(learning_rate=0.1)
        Traceback (most recent call last):
        ...
        ImportError: `lamina.optimizers.legacy.Adam` is not supported: ...
    """

    def __init__(self, *args, **kwargs):
        raise ImportError(
            f"`lamina.optimizers.legacy.{type(self).__name__}` is not supported: the legacy "
            "optimizers are Keras 2's, and lamina, like Keras 3, has none (Keras 3's "
            "`keras.optimizers.legacy` raises the same way). Hint: use "
            f"`lamina.optimizers.{type(self).__name__}`, which takes Keras 3's arguments."
        )


class Optimizer(_LegacyOptimizer):
    """Keras 2's legacy base optimizer: raises an ImportError (see `_LegacyOptimizer`)."""


class Adam(_LegacyOptimizer):
    """Keras 2's legacy Adam: raises an ImportError; use `lamina.optimizers.Adam`."""


class SGD(_LegacyOptimizer):
    """Keras 2's legacy SGD: raises an ImportError; use `lamina.optimizers.SGD`."""


class RMSprop(_LegacyOptimizer):
    """Keras 2's legacy RMSprop: raises an ImportError; use `lamina.optimizers.RMSprop`."""


class Adagrad(_LegacyOptimizer):
    """Keras 2's legacy Adagrad: raises an ImportError; use `lamina.optimizers.Adagrad`."""


class Ftrl(_LegacyOptimizer):
    """Keras 2's legacy Ftrl: raises an ImportError; use `lamina.optimizers.Ftrl`."""


__all__ = ["SGD", "Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop"]
