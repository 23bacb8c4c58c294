"""Keras 2 `Model` methods that Keras 3 removed, kept as names that say what replaced them.

The classic tf.keras examples call `model.fit_generator(...)` or `model.predict_classes(x)`. Keras 3
answers with a bare "has no attribute"; lamina's model answers the same AttributeError when the
method is called, with the Keras 3 spelling. (A descriptor that raised on lookup would be hidden
by torch's `Module.__getattr__`, whose own message carries no hint.)
"""

from __future__ import annotations

REPLACEMENTS = {
    "fit_generator": "`model.fit(generator, ...)` (fit takes generators and PyDatasets)",
    "evaluate_generator": "`model.evaluate(generator, ...)`",
    "predict_generator": "`model.predict(generator, ...)`",
    "predict_classes": (
        "`np.argmax(model.predict(x), axis=-1)` (or `(model.predict(x) > 0.5).astype('int32')` "
        "for a sigmoid output)"
    ),
    "predict_proba": "`model.predict(x)`",
}


class RemovedKeras2Method:
    """A class attribute standing for a Keras 2 method Keras 3 removed: calling it raises an
    AttributeError that names the Keras 3 replacement.

    Args:
        replacement: the Keras 3 spelling, as the error message shows it.

    Example:
        >>> class Demo:
        ...     predict_classes = RemovedKeras2Method("`model.predict`")
        >>> try:
        ...     Demo().predict_classes([1])
        ... except AttributeError as error:
        ...     print("Keras 3 removed" in str(error))
        True
    """

    def __init__(self, replacement: str):
        self.replacement = replacement
        self.name = ""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        owner_name = type(instance).__name__ if instance is not None else owner.__name__
        message = (
            f"'{owner_name}' object has no attribute '{self.name}': `{self.name}` is Keras 2 "
            f"API that Keras 3 removed. Use {self.replacement} instead."
        )

        def removed(*args, **kwargs):
            raise AttributeError(message)

        removed.__name__ = self.name
        removed.__doc__ = message
        return removed
