"""Keras losses: the functions (one value per sample) and the Loss classes (weights, reduction).

Each concept lives in its own module (`loss` the base and reductions, `regression`,
`crossentropy`, `hinge`, `overlap`, `sequence`); this package re-exports them under Keras's
names and resolves names, configs and objects with `get`, `serialize` and `deserialize`.
"""

from __future__ import annotations

from lamina.engine import errors
from lamina.losses.crossentropy import (
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    sparse_categorical_crossentropy,
)
from lamina.losses.hinge import (
    CategoricalHinge,
    Hinge,
    SquaredHinge,
    categorical_hinge,
    hinge,
    squared_hinge,
)
from lamina.losses.loss import (
    EPSILON,
    Loss,
    LossFunctionWrapper,
    as_float,
    match_rank,
    reduce_values,
)
from lamina.losses.overlap import Dice, Tversky, dice, tversky
from lamina.losses.regression import (
    CosineSimilarity,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    cosine_similarity,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
)
from lamina.losses.sequence import CTC, Circle, circle, ctc

_FUNCTIONS = {
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mape": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error,
    "huber": huber,
    "huber_loss": huber,
    "log_cosh": log_cosh,
    "logcosh": log_cosh,
    "binary_crossentropy": binary_crossentropy,
    "bce": binary_crossentropy,
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "kl_divergence": kl_divergence,
    "kld": kl_divergence,
    "kullback_leibler_divergence": kl_divergence,
    "poisson": poisson,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "cosine_similarity": cosine_similarity,
    "dice": dice,
    "tversky": tversky,
    "ctc": ctc,
    "circle": circle,
}
_CLASSES = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        Huber,
        LogCosh,
        BinaryCrossentropy,
        BinaryFocalCrossentropy,
        CategoricalCrossentropy,
        CategoricalFocalCrossentropy,
        CategoricalGeneralizedCrossEntropy,
        SparseCategoricalCrossentropy,
        KLDivergence,
        Poisson,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        CosineSimilarity,
        Dice,
        Tversky,
        CTC,
        Circle,
    )
}


def get(identifier):
    """A name, a Loss, a class, a config dict or a function -> a loss callable.

    Args:
        identifier: `"mse"`-style function names resolve to the function, class names
            (`"MeanSquaredError"`) to a new object with default options, `{"class_name": ...,
            "config": ...}` dicts to a configured object; Loss objects and functions pass through.

    Examples:
        >>> get("mse") is mean_squared_error
        True
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        key = identifier.lower()
        if key not in _FUNCTIONS:
            raise errors.unknown_name("loss", identifier, list(_FUNCTIONS) + list(_CLASSES))
        return _FUNCTIONS[key]
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        if name not in _CLASSES:
            raise errors.unknown_name("loss", name, _CLASSES)
        return _CLASSES[name].from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret loss identifier: {identifier!r}.")


def serialize(loss):
    """A Loss object or one of this module's functions -> Keras's config dict (a function's:
    `{"class_name": "function", "config": its name, ...}`, as Keras writes it).

    Args:
        loss: a `Loss`, one of this module's functions, or None (returned as None).

    Examples:
        >>> serialize(Huber(delta=2.0))["config"]["delta"]
        2.0
        >>> serialize(mean_squared_error)["config"]
        'mean_squared_error'
    """
    if loss is None:
        return None
    from lamina.saving.keras_entry import serialize_keras_object

    if isinstance(loss, Loss):
        return serialize_keras_object(loss)
    name = getattr(loss, "__name__", None)
    if _FUNCTIONS.get(name) is loss:
        return serialize_keras_object(loss)
    raise TypeError(
        f"Could not serialize loss {loss!r}: it is neither a Loss nor a known function."
    )


def deserialize(name, custom_objects=None):
    """A config dict (from `serialize`) or a name -> the loss object or function.

    Args:
        name: a dict `{"class_name": ..., "config": ...}` or a loss name.
        custom_objects: optional mapping of names to user classes or functions.

    Examples:
        >>> deserialize({"class_name": "Huber", "config": {"delta": 2.0}}).fn_kwargs["delta"]
        2.0
        >>> deserialize({"class_name": "function", "config": "mse"}).__name__
        'mean_squared_error'
    """
    if isinstance(name, dict) and name.get("class_name") == "function":
        # Keras's serialized loss function: {"class_name": "function", "config": "mse", ...}
        name = name.get("config")
    if custom_objects:
        key = name.get("class_name") if isinstance(name, dict) else name
        if key in custom_objects:
            found = custom_objects[key]
            if isinstance(found, type) and isinstance(name, dict):
                return found.from_config(name.get("config", {}))
            return found
    return get(name)


def names() -> list[str]:
    """The function names `get` accepts (class names are accepted too).

    Examples:
        >>> "mse" in names()
        True
    """
    return sorted(_FUNCTIONS)


__all__ = [
    "CTC",
    "EPSILON",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CategoricalHinge",
    "Circle",
    "CosineSimilarity",
    "Dice",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "Tversky",
    "as_float",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "categorical_hinge",
    "circle",
    "cosine_similarity",
    "ctc",
    "deserialize",
    "dice",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "match_rank",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "names",
    "poisson",
    "reduce_values",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "tversky",
]

# tf.keras's function aliases (`tf.keras.losses.mae(y_true, y_pred)` in TF's autoencoder
# tutorial, `losses.kullback_leibler_divergence` in Hands-On ML's sparse autoencoder); Keras 3
# dropped them as attributes but keeps them as loss strings. Each gives the Keras 3 function of
# that string.
_TF_KERAS_ALIASES = ("mae", "mse", "mape", "msle", "kld", "logcosh", "kullback_leibler_divergence")


def __getattr__(name):
    """`lamina.losses.mae` and the other tf.keras aliases: the function of that loss string."""
    if name.lower() in _TF_KERAS_ALIASES and name in (name.lower(), name.upper()):
        return _FUNCTIONS[name.lower()]  # `mae`, or tf.keras's capitalised `MAE`
    raise errors.missing_attribute("lamina.losses", name, {})
