"""Name resolution for metrics: strings, classes, configs and functions -> Metric objects."""

from __future__ import annotations

from lamina.engine import errors
from lamina.engine.naming import to_snake_case
from lamina.metrics.metric import MeanMetricWrapper, Metric

# Short and function names -> the class Keras builds for them in compile(); "accuracy" and "acc"
# are resolved against the loss and the shapes by the trainer, as Keras does.
ALIASES: dict[str, type | None] = {"accuracy": None, "acc": None}
CLASSES: dict[str, type] = {}


def register(cls):
    """Make a metric class resolvable by its class name and its snake-case name (a class decorator).

    Args:
        cls: the `Metric` subclass.

    Returns:
        `cls` itself.

    Examples:
        >>> from lamina.metrics import Mean
        >>> register(Mean) is Mean  # Mean is registered already: registering again changes nothing
        True
        >>> type(get("mean")).__name__
        'Mean'
    """
    CLASSES[cls.__name__] = cls
    if to_snake_case(cls.__name__) not in ALIASES:  # 'accuracy' stays resolved by the trainer
        CLASSES[to_snake_case(cls.__name__)] = cls
    return cls


def get(identifier, *, name=None) -> Metric | None:
    """A name, a Metric, a class, a config dict or a function -> a Metric object.

    Args:
        identifier: `"mae"`-style names and class names build the class Keras builds; a dict
            `{"class_name": ..., "config": ...}` a configured one; a function becomes a running
            mean of its per-sample values; None gives None, as Keras's `get`.
        name: the metric's name when built from a string or a function.

    Examples:
        >>> get("mae").name  # the class's own name, as Keras's get
        'mean_absolute_error'
        >>> get("mae", name="mae").name  # as compile() names it
        'mae'
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier == "accuracy":  # alone, Keras's Accuracy; compile() resolves it first
            identifier = "Accuracy"
        if identifier in CLASSES:
            return CLASSES[identifier]() if name is None else CLASSES[identifier](name=name)
        key = identifier.lower()
        if ALIASES.get(key) is None:
            raise errors.unknown_name("metric", identifier, list(ALIASES) + list(CLASSES))
        return ALIASES[key]() if name is None else ALIASES[key](name=name)
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = CLASSES.get(identifier["class_name"])
        if cls is None:
            raise errors.unknown_name("metric", identifier["class_name"], CLASSES)
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        # Keras names a function metric after the function, snake-cased: `PSNR` logs as `psnr`.
        default = to_snake_case(getattr(identifier, "__name__", "metric"))
        return MeanMetricWrapper(identifier, name=name or default)
    raise TypeError(f"Could not interpret metric identifier: {identifier!r}.")


def serialize(metric) -> dict:
    """A Metric -> Keras's config dict `{"module", "class_name", "config", "registered_name"}`.

    Args:
        metric: the `Metric` to describe.

    Examples:
        >>> from lamina.metrics import Mean
        >>> serialize(Mean(name="m"))["config"]["name"]
        'm'
    """
    from lamina.saving.keras_entry import serialize_keras_object

    return serialize_keras_object(metric)


def deserialize(config, custom_objects=None) -> Metric:
    """A config dict (from `serialize`) or a name -> the Metric.

    Args:
        config: `{"class_name": ..., "config": ...}` or a metric name.
        custom_objects: optional mapping of class names to user Metric classes.

    Examples:
        >>> deserialize({"class_name": "Mean", "config": {"name": "m"}}).name
        'm'
    """
    if custom_objects and isinstance(config, dict):
        cls = custom_objects.get(config.get("class_name"))
        if cls is not None:
            return cls.from_config(config.get("config", {}))
    return get(config)


def names() -> list[str]:
    """The names `get` accepts: the short forms (`"accuracy"`, `"acc"`) and every registered class.

    Examples:
        >>> "AUC" in names() and "accuracy" in names()
        True
    """
    return sorted(ALIASES) + sorted(CLASSES)
