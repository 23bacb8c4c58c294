"""MultiHeadAttention, quantized: each projection as Keras quantizes it.

Keras's MultiHeadAttention holds its projections in EinsumDense sub-layers (`query_dense`,
..., `output_dense`), and `Model.quantize()` quantizes those. lamina's attention keeps the
projection kernels as its own weights (one matrix product each), so a `Projection` presents
one of them to the quantized EinsumDense code (quantized_dense.py) under the equation Keras
gives that sub-layer: the same integer variables, scales and arithmetic, stored on the
attention layer as `query_kernel`, `query_kernel_scale`, ... ("float8" keeps the kernels and
adds `query_inputs_scale`, ...: float8_training).
"""

from __future__ import annotations

import torch

from lamina import backend
from lamina.dtype_policies.quantized import CALIBRATED_MODES
from lamina.engine import errors
from lamina.quantizers import calibrated_dense, float8_training, quantized_dense
from lamina.quantizers import model_quantization as mq

# Keras's equations for 3-d inputs (lamina's attention flattens any inner axes to one) and the
# kernel axes each contracts.
_EQUATIONS = {
    "query": ("abc,cde->abde", (0,)),
    "key": ("abc,cde->abde", (0,)),
    "gate": ("abc,cde->abde", (0,)),
    "value": ("abc,cde->abde", (0,)),
    "output": ("abcd,cde->abe", (0, 1)),
}
# The variables a quantized kernel becomes (quantized_dense's and calibrated_dense's
# make_variables name them), and float8's, which keep the float kernel and add scales
# (float8_training.make_variables).
_KERNEL_VARIABLES = ("kernel", "kernel_scale", "kernel_zero", "zero_point", "awq_scales", "g_idx")
PROJECTION_VARIABLES = (*_KERNEL_VARIABLES, "bias", *float8_training.SCALE_NAMES)
# What a projection reads from its attention layer as its own.
_SHARED = (
    "dtype_policy",
    "variable_dtype",
    "_compute_torch_dtype",
    "quantization_mode",
    "training",
)


class Projection:
    """One projection of an attention layer, seen as the EinsumDense Keras makes of it.

    The quantized EinsumDense code reads and creates `kernel`, `kernel_scale`, ...: here those
    are the attention layer's `<prefix>_kernel`, `<prefix>_kernel_scale`, .... What the forward
    needs besides (the kernel's shape, the activation quantizer) is kept on the projection.

    It is also what `MultiHeadAttention.query_dense` (`key_dense`, `value_dense`,
    `output_dense`) returns: Keras's sub-layer attributes (`kernel`, `bias`, `name`, `equation`,
    `bias_axes`, `built`, `weights`, `get_weights`, `set_weights`) over the attention layer's own
    weight objects, so writing through them (`assign`) changes the layer. The equation is the
    3-d one whatever the inputs' rank (lamina flattens the inner axes into one).

    Args:
        attention: the attention layer holding the weights.
        prefix: which projection: `"query"`, `"key"`, `"gate"`, `"value"` or `"output"`.

    Example:
        >>> mha = lamina.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        >>> _ = mha(torch.ones(1, 3, 8), torch.ones(1, 3, 8))
        >>> query = mha.query_dense
        >>> query.name, query.equation, tuple(query.kernel.shape), query.kernel is mha.query_kernel
        ('query', 'abc,cde->abde', (8, 2, 4), True)
    """

    input_spec = None  # the equations spell out every axis

    def __init__(self, attention, prefix: str):
        self.attention = attention
        self.prefix = prefix
        self.equation, self.kernel_axes = _EQUATIONS[prefix]

    def __getattr__(self, name):
        # Called only for names the projection lacks: its variables and the layer's policy.
        attention = self.__dict__.get("attention")
        if attention is not None and name in PROJECTION_VARIABLES:
            return getattr(attention, f"{self.prefix}_{name}")
        if attention is not None and name in _SHARED:
            return getattr(attention, name)
        raise AttributeError(name)

    @property
    def name(self) -> str:
        """Keras's name for the sub-layer (`"attention_output"` for the output projection)."""
        return "attention_output" if self.prefix == "output" else self.prefix

    @property
    def bias_axes(self) -> str | None:
        """The output axes the bias spans (those the kernel adds), or None without a bias."""
        if getattr(self.attention, f"{self.prefix}_bias", None) is None:
            return None
        inputs, output = self.equation.split("->")
        return "".join(axis for axis in output if axis not in inputs.split(",")[0])

    @property
    def built(self) -> bool:
        return self.attention.built

    @property
    def trainable(self) -> bool:
        """Whether training updates the projection: the attention layer's flag."""
        return self.attention.trainable

    @trainable.setter
    def trainable(self, value) -> None:
        # Its weights are the attention layer's own: freezing one projection alone is not
        # supported, and a flag that changed nothing would train what the program froze.
        raise AttributeError(
            errors.message(
                f"Projection '{self.name}' of {errors.describe(self.attention)}",
                "its trainable flag to be set on the attention layer",
                f"trainable={value!r} on the projection",
                "set `trainable` on the MultiHeadAttention layer itself",
            )
        )

    @property
    def weights(self) -> list:
        """The projection's variables, in the attention layer's (Keras's) order."""
        mine = {
            id(value)
            for kind in PROJECTION_VARIABLES
            if (value := getattr(self.attention, f"{self.prefix}_{kind}", None)) is not None
        }
        return [weight for weight in self.attention.weights if id(weight) in mine]

    def get_weights(self) -> list:
        """The projection's variables as NumPy arrays (Keras's layouts).

        Returns:
            One array per `weights` entry.
        """
        return [backend.as_numpy(weight.detach()).copy() for weight in self.weights]

    def set_weights(self, weights) -> None:
        """Set the projection's variables in place from arrays in `weights`' order.

        Args:
            weights: one array per `weights` entry, each of its shape.
        """
        own, weights = self.weights, list(weights)
        if len(weights) != len(own):
            raise errors.value_error(
                f"Projection '{self.name}' of {errors.describe(self.attention)}",
                f"a list of {len(own)} arrays (kernel, then bias)",
                f"{len(weights)} arrays",
                "`get_weights()` gives the list in its order",
            )
        for weight, value in zip(own, weights, strict=True):
            weight.assign(value)

    def add_weight(self, name, **kwargs):
        return self.attention.add_weight(name=f"{self.prefix}_{name}", **kwargs)

    def float_kernel(self):
        """The float kernel, in Keras's layout already."""
        return getattr(self.attention, f"{self.prefix}_kernel").detach()


def projections(attention) -> list[str]:
    """The prefixes of the attention layer's projections, in Keras's sub-layer order."""
    names = {spec.name for spec in attention._weight_specs}
    return [p for p in _EQUATIONS if f"{p}_kernel" in names or f"{p}_kernel_scale" in names]


def quantize(attention, mode: str, config) -> None:
    """Quantize every projection kernel of a built attention layer."""
    if mode == "float8":
        _add_float8_scales(attention, config)
        return
    _swap(attention, mode, config, with_values=True)


def swap_calibrated(attention, mode: str, config, values: dict) -> None:
    """Replace every projection kernel by its calibrated (GPTQ / AWQ) `values`, by prefix."""
    _swap(attention, mode, config, with_values=True, calibrated=values)


def build_quantized(attention) -> None:
    """In `build` of an attention layer loaded with a quantized policy: the quantized
    variables, zeros until the weights file fills them."""
    mode, config = attention.quantization_mode, attention.quantization_config
    if mode == "float8":
        _add_float8_scales(attention, config)
        return
    _swap(attention, mode, config, with_values=False)


def _add_float8_scales(attention, config) -> None:
    """Each projection keeps its float kernel and gains the float8 scales Keras gives its
    EinsumDense sub-layer: `query_inputs_scale`, ..., grouped by projection as Keras lists
    them. (Keras leaves the attention layer's own policy float32, so it cannot reload such a
    layer from its config; lamina gives the layer the float8 policy, and reloads it.)"""
    found = {}
    for prefix in projections(attention):
        projection = Projection(attention, prefix)
        float8_training.make_variables(projection)
        found[prefix] = projection
    attention.__dict__["_projections"] = found
    order = [f"{p}_{name}" for p in found for name in float8_training.FILE_ORDER]
    mq.finish(attention, "float8", config, order)


def _swap(attention, mode: str, config, with_values: bool, calibrated=None) -> None:
    found, order = {}, []
    for prefix in projections(attention):
        projection = Projection(attention, prefix)
        kernel = projection.float_kernel()
        values = None
        if with_values and mode in CALIBRATED_MODES:
            values = calibrated[prefix]
        elif with_values:
            values = quantized_dense.quantized_values(
                projection, mode, config, kernel, projection.kernel_axes
            )
        mq.drop_weight(attention, f"{prefix}_kernel")
        projection.__dict__["_quantized_device"] = attention.__dict__.get("_quantized_device")
        if mode in CALIBRATED_MODES:
            names = calibrated_dense.make_variables(
                projection, mode, tuple(kernel.shape), config, values or {}
            )
        else:
            quantized_dense.make_variables(
                projection, mode, tuple(kernel.shape), config, projection.kernel_axes, values
            )
            names = quantized_dense.FILE_ORDER[mode]
        order += [f"{prefix}_{name}" for name in names]
        found[prefix] = projection
    attention.__dict__["_projections"] = found
    mq.finish(attention, mode, config, order)


def project(attention, prefix: str, x: torch.Tensor) -> torch.Tensor:
    """`einsum(equation, x, kernel) + bias` of one quantized projection."""
    projection = attention.__dict__["_projections"][prefix]
    if attention.quantization_mode in CALIBRATED_MODES:
        outputs = calibrated_dense.call(projection, x)
    else:
        outputs = quantized_dense.einsum_call(projection, x)
    if projection.bias is not None:
        outputs = outputs + quantized_dense.bias(projection).to(outputs.dtype)
    return outputs


def keras_order(attention, entries: list) -> list:
    """A quantized attention layer's weights grouped by projection, as Keras's sub-layers list
    them (each projection's trainable bias, then its integer kernel and scales)."""
    rank = {}
    for index, prefix in enumerate(attention.__dict__["_projections"]):
        for name in PROJECTION_VARIABLES:
            rank[f"{prefix}_{name}"] = index
    names = {id(getattr(attention, spec.name)): spec.name for spec in attention._weight_specs}
    return sorted(entries, key=lambda entry: rank.get(names.get(id(entry.tensor)), len(rank)))
