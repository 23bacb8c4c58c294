"""`GPTQConfig` and `AWQConfig`: the settings of Keras's calibration-based weight quantizers.

lamina's `Model.quantize()` runs int8, int4 and float8, not the GPTQ or AWQ algorithms: these
configs validate and serialise their settings as Keras does, so that they can be written, read
and compared.
"""

from __future__ import annotations

from lamina.engine import errors
from lamina.quantizers import registry
from lamina.quantizers.quantization_config import QuantizationConfig


def _check_positive(who, **values):
    for name, value in values.items():
        if value <= 0:
            raise errors.value_error(who, f"a positive integer {name}", f"{name}={value}")


def _check_group_size(who, group_size):
    if group_size < -1 or group_size == 0:
        raise errors.value_error(
            who, "group_size -1 (per channel) or a positive integer", f"group_size={group_size}"
        )


class _CalibrationConfig(QuantizationConfig):
    """What GPTQ's and AWQ's configs share: their settings (`_SETTINGS`, in Keras's order) written
    and read as a flat dict, `dataset` and `tokenizer` as None (as Keras writes them)."""

    _SETTINGS: tuple[str, ...] = ()

    def dtype_policy_string(self):
        """The dtype policy name of the quantized layers: `"<mode>/<bits>/<group_size>"`."""
        return f"{self.mode}/{self.weight_bits}/{self.group_size}"

    def get_config(self):
        """The settings; `dataset` and `tokenizer` are written as None."""
        settings = {name: getattr(self, name) for name in self._SETTINGS}
        return {"dataset": None, "tokenizer": None, **settings}

    @classmethod
    def from_config(cls, config):
        """A config from `get_config`'s dict.

        Args:
            config: the dict `get_config` returned.
        """
        return cls(**config)


@registry.register
class GPTQConfig(_CalibrationConfig):
    """The settings of GPTQ: Hessian-guided post-training quantization of the weights.

    GPTQ quantizes a layer's weight columns one at a time and spreads each column's rounding
    error over the columns not yet quantized, using the Hessian of the layer's outputs on
    calibration data. lamina does not run GPTQ/AWQ; this config only records the
    settings (`dataset` and `tokenizer` are not serialised, as in Keras).

    Args:
        dataset: the calibration data (strings or token arrays).
        tokenizer: the callable that turns `dataset`'s strings into tokens.
        weight_bits: the bits per weight: 2, 3, 4 or 8 (default 4).
        num_samples: calibration samples to use (default 128).
        per_channel: one scale per output channel (default True).
        sequence_length: tokens per calibration sample (default 512).
        hessian_damping: the fraction of the mean Hessian diagonal added for stability, in
            [0, 1] (default 0.01).
        group_size: weights sharing one scale; -1 for per channel (default 128).
        symmetric: symmetric quantization (default False).
        activation_order: quantize columns in order of decreasing activation (default False).
        quantization_layer_structure: `{"pre_block_layers": ..., "sequential_blocks": ...}`,
            or None.

    Example:
        >>> config = GPTQConfig(dataset=None, tokenizer=None, weight_bits=8, group_size=-1)
        >>> config.mode, config.dtype_policy_string()
        ('gptq', 'gptq/8/-1')
    """

    _SETTINGS = (
        "weight_bits",
        "num_samples",
        "per_channel",
        "sequence_length",
        "hessian_damping",
        "group_size",
        "symmetric",
        "activation_order",
        "quantization_layer_structure",
    )

    def __init__(
        self,
        dataset,
        tokenizer,
        *,
        weight_bits=4,
        num_samples=128,
        per_channel=True,
        sequence_length=512,
        hessian_damping=0.01,
        group_size=128,
        symmetric=False,
        activation_order=False,
        quantization_layer_structure=None,
    ):
        super().__init__()
        if weight_bits not in (2, 3, 4, 8):
            raise errors.value_error(
                "GPTQConfig", "weight_bits 2, 3, 4 or 8", f"weight_bits={weight_bits}"
            )
        _check_positive("GPTQConfig", num_samples=num_samples, sequence_length=sequence_length)
        if not 0 <= hessian_damping <= 1:
            raise errors.value_error(
                "GPTQConfig", "hessian_damping in [0, 1]", f"hessian_damping={hessian_damping}"
            )
        _check_group_size("GPTQConfig", group_size)
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.weight_bits = weight_bits
        self.num_samples = num_samples
        self.per_channel = per_channel
        self.sequence_length = sequence_length
        self.hessian_damping = hessian_damping
        self.group_size = group_size
        self.symmetric = symmetric
        self.activation_order = activation_order
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self):
        """`"gptq"`."""
        return "gptq"


@registry.register
class AWQConfig(_CalibrationConfig):
    """The settings of AWQ: activation-aware 4-bit weight quantization.

    AWQ scales each input channel by a factor found by grid search on calibration activations,
    so the weights meeting large activations keep more precision, then quantizes to 4 bits.
    lamina does not run GPTQ/AWQ; this config only records the settings.

    Args:
        dataset: the calibration data (strings or token arrays).
        tokenizer: the callable that turns `dataset`'s strings into tokens.
        weight_bits: the bits per weight; AWQ supports only 4 (default).
        num_samples: calibration samples to use (default 128).
        sequence_length: tokens per calibration sample (default 512).
        group_size: weights sharing one scale; -1 for per channel (default 128).
        num_grid_points: grid-search points for the channel scales (default 20).
        quantization_layer_structure: `{"pre_block_layers": ..., "sequential_blocks": ...}`,
            or None.

    Example:
        >>> config = AWQConfig(dataset=None, tokenizer=None, group_size=64)
        >>> config.mode, config.dtype_policy_string()
        ('awq', 'awq/4/64')
    """

    _SETTINGS = (
        "weight_bits",
        "num_samples",
        "sequence_length",
        "group_size",
        "num_grid_points",
        "quantization_layer_structure",
    )

    def __init__(
        self,
        dataset,
        tokenizer,
        *,
        weight_bits=4,
        num_samples=128,
        sequence_length=512,
        group_size=128,
        num_grid_points=20,
        quantization_layer_structure=None,
    ):
        super().__init__()
        if weight_bits != 4:
            raise errors.value_error("AWQConfig", "weight_bits=4", f"weight_bits={weight_bits}")
        _check_positive("AWQConfig", num_samples=num_samples, sequence_length=sequence_length)
        _check_group_size("AWQConfig", group_size)
        _check_positive("AWQConfig", num_grid_points=num_grid_points)
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.weight_bits = weight_bits
        self.num_samples = num_samples
        self.sequence_length = sequence_length
        self.group_size = group_size
        self.num_grid_points = num_grid_points
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self):
        """`"awq"`."""
        return "awq"
