"""Keras 2 `Model` methods that Keras 3 removed, kept as names that say what replaced them.

The classic tf.keras examples call `model.fit_generator(...)` or `model.predict_classes(x)`, and
their custom train_steps `self.compiled_loss(...)` and `self.compiled_metrics.update_state(...)`.
Keras 3 answers with a bare "has no attribute"; lamina's model answers the same AttributeError
when the method is called (or, for those two, reached into), with the Keras 3 spelling.
(A descriptor that raised on lookup would be hidden by torch's `Module.__getattr__`, whose own
message carries no hint.)
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
    # tf.keras 2's YAML configs (Imperial's TF2 course saves an architecture with it).
    "to_yaml": "`model.to_json()` (read back with `keras.models.model_from_json`)",
    # tf.keras custom train_steps (DLwP 2nd ed., chapter 7) call these two.
    "compiled_loss": (
        "`self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)` in a custom "
        "train_step"
    ),
    "compiled_metrics": (
        "`self.compute_metrics(x, y, y_pred, sample_weight)` in a custom train_step (it updates "
        "the compiled metrics and returns their results)"
    ),
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

        return _Removed(self.name, message)


class _Removed:
    """What a removed name gives: calling it, or reaching for any attribute of it
    (`self.compiled_metrics.update_state(...)`), raises the AttributeError naming the Keras 3
    replacement."""

    def __init__(self, name: str, message: str):
        self.__name__ = name
        self.__doc__ = message

    def __call__(self, *args, **kwargs):
        raise AttributeError(self.__doc__)

    def __getattr__(self, name):
        raise AttributeError(self.__doc__)
