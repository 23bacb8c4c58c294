"""Quantization configs: which quantizers an int8, int4 or float8 quantization would use.

`Model.quantize(config=...)` takes them (int8, int4 and float8): they validate their arguments,
report their `mode` and round-trip through `get_config` / `from_config` (and
`lamina.quantizers.serialize`) in Keras's format, so a config written by Keras reads back here.
"""

from __future__ import annotations

from lamina.engine import errors
from lamina.quantizers import registry
from lamina.quantizers.abs_max_quantizer import AbsMaxQuantizer


def _serialize(quantizer):
    return registry.serialize(quantizer)


def _deserialize(config):
    return None if config is None else registry.deserialize(config)


def _quantizers_from(config) -> dict:
    """The two quantizers of a config dict, deserialised, as keyword arguments."""
    return {
        "weight_quantizer": _deserialize(config.get("weight_quantizer")),
        "activation_quantizer": _deserialize(config.get("activation_quantizer")),
    }


class QuantizationConfig:
    """Base of the quantization configs: a weight quantizer and an activation quantizer.

    Subclasses name their `mode` (`"int8"`, `"int4"`, ...). `Model.quantize(config=...)`
    runs the int8, int4 and float8 ones; a config serialises as Keras's does.

    Args:
        weight_quantizer: the `Quantizer` for the weights, or None for the mode's default.
        activation_quantizer: the `Quantizer` for the activations, or None for none.

    Example:
        >>> config = Int8QuantizationConfig()
        >>> config.mode, type(config.activation_quantizer).__name__
        ('int8', 'AbsMaxQuantizer')
        >>> QuantizationConfig.weight_quantizer_or_default(config, "fallback")
        'fallback'
    """

    def __init__(self, weight_quantizer=None, activation_quantizer=None):
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self):
        """The quantization mode's name; subclasses define it."""
        raise NotImplementedError(
            "Subclasses must implement this property. Do not instantiate "
            "QuantizationConfig directly."
        )

    def get_config(self):
        """The two quantizers, each serialised (None stays None)."""
        return {
            "weight_quantizer": _serialize(self.weight_quantizer),
            "activation_quantizer": _serialize(self.activation_quantizer),
        }

    @classmethod
    def from_config(cls, config):
        """A config from `get_config`'s dict.

        Args:
            config: the dict `get_config` returned.
        """
        return cls(**_quantizers_from(config))

    @staticmethod
    def weight_quantizer_or_default(config, default):
        """The config's weight quantizer, or `default` when there is no config or quantizer.

        Args:
            config: a `QuantizationConfig`, or None.
            default: what to use otherwise.
        """
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config, default):
        """The config's activation quantizer (None included), or `default` without a config.

        Args:
            config: a `QuantizationConfig`, or None.
            default: what to use when `config` is None.
        """
        return default if config is None else config.activation_quantizer


def _require(who, quantizer, attribute, wanted):
    if quantizer is None:
        return
    value = getattr(quantizer, attribute)
    # A config read back from JSON holds lists where the user wrote tuples (`value_range`).
    if (tuple(value) if isinstance(value, list) else value) != wanted:
        raise errors.value_error(
            who,
            f"a weight_quantizer with {attribute}={wanted!r}",
            f"{attribute}={value!r}",
        )


@registry.register
class Int8QuantizationConfig(QuantizationConfig):
    """The int8 config: int8 weights, and by default abs-max int8 activations.

    Args:
        weight_quantizer: a `Quantizer` whose `output_dtype` is `"int8"`, or None.
        activation_quantizer: `"default"` (an `AbsMaxQuantizer`, axis -1), a `Quantizer`, or
            None for weight-only quantization.

    Example:
        >>> Int8QuantizationConfig(activation_quantizer=None).get_config()
        {'weight_quantizer': None, 'activation_quantizer': None}
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        _require("Int8QuantizationConfig", weight_quantizer, "output_dtype", "int8")

    @property
    def mode(self):
        """`"int8"`."""
        return "int8"


@registry.register
class Int4QuantizationConfig(QuantizationConfig):
    """The int4 config: int4 weights in groups of `block_size` inputs, weight-only by default.

    Args:
        weight_quantizer: a `Quantizer` with `value_range=(-8, 7)` and `output_dtype="int8"`,
            allowed only per channel (`block_size` None or -1).
        activation_quantizer: `"default"` (None: weights only) or a `Quantizer` (per channel
            only).
        block_size: the rows per group (`ceil(input_dim / block_size)` scales per column); None
            or -1 for one scale per output channel (default 128).

    Example:
        >>> config = Int4QuantizationConfig(block_size=64)
        >>> config.mode, config.get_config()["block_size"]
        ('int4', 64)
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default", block_size=128):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and block_size != -1 and block_size <= 0:
            raise errors.value_error(
                "Int4QuantizationConfig",
                "block_size None, -1 or a positive integer",
                f"block_size={block_size}",
            )
        self.block_size = block_size
        custom = weight_quantizer is not None or activation_quantizer is not None
        if block_size is not None and block_size > 0 and custom:
            raise errors.value_error(
                "Int4QuantizationConfig",
                "no custom quantizers with sub-channel groups (block_size > 0)",
                f"block_size={block_size} with a custom quantizer",
                "set block_size to None or -1 for per-channel quantization",
            )
        if weight_quantizer is not None:
            _require("Int4QuantizationConfig", weight_quantizer, "value_range", (-8, 7))
            _require("Int4QuantizationConfig", weight_quantizer, "output_dtype", "int8")

    @property
    def mode(self):
        """`"int4"`."""
        return "int4"

    def get_config(self):
        """The quantizers (serialised) and `block_size`."""
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config):
        """A config from `get_config`'s dict; a missing `block_size` means per channel.

        Args:
            config: the dict `get_config` returned.
        """
        return cls(**_quantizers_from(config), block_size=config.get("block_size"))


@registry.register
class Float8QuantizationConfig(QuantizationConfig):
    """The float8 config: marks float8 mixed-precision training; it takes no quantizers.

    Example:
        >>> Float8QuantizationConfig().mode, Float8QuantizationConfig().get_config()
        ('float8', {})
    """

    def __init__(self):
        super().__init__(None, None)

    @property
    def mode(self):
        """`"float8"`."""
        return "float8"

    def get_config(self):
        """An empty dict: the config has no arguments."""
        return {}

    @classmethod
    def from_config(cls, config):
        """A new config (the dict is empty).

        Args:
            config: the dict `get_config` returned.
        """
        return cls()
