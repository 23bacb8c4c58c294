"""Low-rank adaptation (LoRA), as Keras 3 gives Dense, EinsumDense, Embedding and Conv1D/2D/3D.

`enable_lora(rank)` freezes the layer's kernel (an Embedding's table) and adds two trainable
float32 factors in Keras's names and shapes: A spans the kernel's leading axes and the rank, B
the rank and the kernel's last axis (he_uniform and zeros: the layer starts unchanged). The
layer then computes with `kernel + (alpha / rank) * A @ B`. On a float kernel the product is
merged into it at each call, in Keras's layout, as Keras computes it: the kernels LoRA adapts
have Keras's shapes (a Dense or convolution kernel as a view over torch's memory order, whose
call views the sum in that order again, for free). Beside an int8 / int4 kernel
it runs as a low-rank path on the inputs, `(x A) B`, as Keras trains QLoRA; the integer kernel
stays frozen either way.

Files hold the plain layout, as Keras's: saving writes the merged kernel (re-quantized when the
kernel is an integer one) in the kernel's slot and no factors; loading fills the frozen kernel
and zeroes both factors. A layer whose config carries `lora_rank` enables LoRA when it is built,
so a saved LoRA model loads as one.
"""

from __future__ import annotations

import torch

from lamina import initializers
from lamina.engine import errors
from lamina.engine.weight import WeightSlot, stored_weight
from lamina.quantizers.functions import unpack_int4


class LoraLayer:
    """Keras's `enable_lora` / `lora_rank` / `lora_alpha`, mixed into a layer with one kernel.

    The layer class says which weight is adapted (`_lora_target`), the factors' names, and how
    its quantized forward projects inputs through factor A (`_lora_project`). Its constructor
    calls `_init_lora(lora_rank, lora_alpha)`, its `build` ends with `_build_lora()`, its float
    forward reads `_lora_kernel()` when `lora_enabled`, and its quantized forward adds
    `_lora_outputs(inputs)`.

    Example:
        >>> layer = lamina.layers.Dense(3)
        >>> layer.build((None, 5))
        >>> layer.enable_lora(2)
        >>> [w.name for w in layer.trainable_weights]
        ['bias', 'lora_kernel_a', 'lora_kernel_b']
    """

    _lora_target = "kernel"
    _lora_factor_names = ("lora_kernel_a", "lora_kernel_b")
    # Keras's Dense and Embedding re-enable LoRA at build with alpha = rank (their constructor's
    # lora_alpha is dropped there); its convolutions and EinsumDense keep lora_alpha.
    _lora_alpha_from_config = True
    lora_enabled = False

    def _init_lora(self, lora_rank, lora_alpha) -> None:
        if lora_rank is not None:
            _check_rank(self, lora_rank, "lora_rank")
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros"):
        """Freeze the kernel and train a low-rank update of it: `kernel + (alpha / rank) A @ B`.

        The layer must be built, have no `kernel_constraint`, and not have LoRA already; a
        quantized (int8 / int4) layer trains the factors beside its integer kernel. From then
        on `layer.kernel` (an Embedding's `embeddings`) reads the merged kernel, a tensor, as
        Keras's property does; `layer.weights`, `get_weights()` and `state_dict()` keep the
        frozen base weight, and saved files hold the merged kernel, as Keras's.

        Args:
            rank: the inner size of the two factors (a positive integer).
            lora_alpha: scales the update by `lora_alpha / rank` (default: `rank`, a scale of 1).
            a_initializer: initializer of factor A (default `"he_uniform"`).
            b_initializer: initializer of factor B (default `"zeros"`: the layer starts
                unchanged).

        Example:
            >>> layer = lamina.layers.Dense(4)
            >>> layer.build((None, 8))
            >>> layer.enable_lora(2, lora_alpha=4)
            >>> tuple(layer.lora_kernel_a.shape), tuple(layer.lora_kernel_b.shape)
            ((8, 2), (2, 4))
        """
        if not self.built:
            raise errors.value_error(
                self,
                "to be built before enable_lora()",
                "an unbuilt layer",
                "call it on data or build it (layer.build(input_shape)) first, or pass "
                "lora_rank= to the constructor.",
            )
        self._enable_lora(rank, lora_alpha, a_initializer, b_initializer)

    def _enable_lora(self, rank, lora_alpha, a_initializer, b_initializer) -> None:
        _check_rank(self, rank, "rank")
        constraint = getattr(self, f"{self._lora_target}_constraint", None)
        if constraint is not None:
            raise errors.value_error(
                self,
                f"no {self._lora_target}_constraint for LoRA (as Keras)",
                f"{self._lora_target}_constraint={constraint!r}",
                f"remove the {self._lora_target}_constraint argument to enable LoRA.",
            )
        if self.lora_enabled:
            raise errors.value_error(
                self,
                "enable_lora() once",
                f"a second call on a layer with LoRA of rank {self.lora_rank}",
            )
        if self.quantization_mode not in (None, "int8", "int4"):
            raise NotImplementedError(
                f"{errors.describe(self)}: LoRA trains on float, int8 and int4 kernels, as "
                f"Keras; this layer is quantized with mode={self.quantization_mode!r}."
            )
        leading, last = _split_shape(self._lora_keras_shape())
        target = stored_weight(self, self._lora_target)
        regularizer = getattr(self, f"{self._lora_target}_regularizer", None)
        name_a, name_b = self._lora_factor_names
        # float32 whatever the policy, as Keras: fine-tuning steps must not underflow.
        with torch.device(target.device):
            for name, shape, initializer in (
                (name_a, (*leading, rank), a_initializer),
                (name_b, (rank, last), b_initializer),
            ):
                self.add_weight(
                    name=name,
                    shape=shape,
                    initializer=initializers.get(initializer),
                    dtype="float32",
                    regularizer=regularizer,
                )
        if not self._is_quantized:  # an integer kernel is frozen already
            self._freeze_weight(self._lora_target)
        self._forget_weights_device()
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def _build_lora(self) -> None:
        """At the end of `build`: a layer made with `lora_rank` starts with LoRA on."""
        if self.lora_rank:
            alpha = self.lora_alpha if self._lora_alpha_from_config else None
            self._enable_lora(self.lora_rank, alpha, "he_uniform", "zeros")

    def _lora_keras_shape(self) -> tuple[int, ...]:
        """The adapted kernel's shape in Keras's layout (an integer kernel's unpacked one)."""
        if self._is_quantized:
            return tuple(self._kernel_shape)
        return tuple(stored_weight(self, self._lora_target).shape)

    def _lora_factors(self, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
        """A and B, read in `dtype` (a call's compute dtype: Keras autocasts them in calls)."""
        factors = (getattr(self, name) for name in self._lora_factor_names)
        return tuple(f if dtype is None else f.to(dtype) for f in factors)

    def _lora_delta(self, dtype=None) -> torch.Tensor:
        """`(alpha / rank) * A @ B` in Keras's layout of the kernel."""
        factor_a, factor_b = self._lora_factors(dtype)
        return (self.lora_alpha / self.lora_rank) * torch.matmul(factor_a, factor_b)

    def _lora_kernel(self) -> torch.Tensor:
        """The float kernel with the update merged, in the kernel's own (Keras's) layout, in the
        compute dtype (Keras reads kernel and factors there: no-ops under float32)."""
        compute = self._compute_torch_dtype
        kernel = stored_weight(self, self._lora_target).to(compute)
        return kernel + self._lora_delta(compute)

    def _lora_merged_attribute(self) -> torch.Tensor:
        """What `layer.kernel` reads with LoRA on, as Keras's property: the stored kernel (an
        int4 one unpacked to its integer values) plus the update, in float32, cast to the
        compute dtype."""
        stored = stored_weight(self, self._lora_target)
        if self.quantization_mode == "int4":
            stored = self._lora_unpacked_int4(stored)
        merged = stored.to(torch.float32) + self._lora_delta()
        return merged.to(self._compute_torch_dtype)

    def _lora_unpacked_int4(self, packed: torch.Tensor) -> torch.Tensor:
        """An int4 kernel's integer values in Keras's layout (Dense / EinsumDense's)."""
        unpacked = unpack_int4(packed, self._int4_columns, axis=-1)
        return unpacked.reshape(self._kernel_shape)

    def _lora_outputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """The low-rank path a quantized layer adds to its outputs: `(alpha / rank) (x A) B`."""
        factor_a, factor_b = self._lora_factors(self._compute_torch_dtype)
        projected = torch.matmul(self._lora_project(inputs, factor_a), factor_b)
        return (self.lora_alpha / self.lora_rank) * projected

    def _lora_project(self, inputs: torch.Tensor, factor_a: torch.Tensor) -> torch.Tensor:
        """`inputs` through factor A as the layer's forward takes its kernel."""
        raise NotImplementedError

    def _lora_requantized(self, merged: torch.Tensor) -> dict:
        """The quantized variables' values, by name, for a merged float kernel (Keras's
        layout), as the layer's own `quantize()` computes them."""
        raise NotImplementedError

    def _lora_dequantized(self) -> torch.Tensor:
        """The float kernel an integer one stands for, in Keras's layout."""
        raise NotImplementedError

    def _lora_config(self) -> dict:
        """Keras writes lora_rank and lora_alpha only for a layer with a rank."""
        if not self.lora_rank:
            return {}
        return {"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha}

    # ----------------------------------------------------------------------------------------------
    # Files: the merged kernel in the kernel's slot, no factors (Keras's save_own_variables)

    def _file_weights(self):
        entries = super()._file_weights()
        if not self.lora_enabled:
            return entries
        factors = [getattr(self, name) for name in self._lora_factor_names]
        entries = [e for e in entries if not any(e.tensor is f for f in factors)]
        names = {id(stored_weight(self, spec.name)): spec.name for spec in self._weight_specs}
        merged = _MergedValues(self)
        return [
            entry._replace(file_value=merged.reader(names[id(entry.tensor)])) for entry in entries
        ]

    def _own_variables_loaded(self) -> None:
        if self.lora_enabled:  # the file's kernel has the update in it: start it again at zero
            with torch.no_grad():
                for name in self._lora_factor_names:
                    getattr(self, name).zero_()


class _MergedValues:
    """What a LoRA layer's file holds, computed once per save and only if read: the float
    kernel with the update merged, or an integer kernel's variables re-quantized from it."""

    def __init__(self, layer):
        self.layer = layer
        self.values = None

    def reader(self, name: str):
        layer, target = self.layer, self.layer._lora_target
        replaced = (
            {target, f"{target}_scale", f"{target}_zero"} if layer._is_quantized else {target}
        )
        if name not in replaced:
            return None  # filed as it is

        def merged_value(tensor):
            if layer._is_quantized:
                if self.values is None:
                    with torch.no_grad():
                        float_kernel = layer._lora_dequantized() + layer._lora_delta()
                        self.values = layer._lora_requantized(float_kernel)
                return self.values[name]
            # Keras files `kernel + delta` cast to the compute dtype (bfloat16 under a mixed
            # policy), read outside a call: in the variables' own dtype.
            with torch.no_grad():
                merged = tensor + layer._lora_delta()
                return merged.to(layer._compute_torch_dtype)

        return merged_value


def lora_target_slot(name: str) -> WeightSlot:
    """The class attribute of a LoRA layer's adapted weight: the stored weight, and with LoRA
    on the merged kernel (`_lora_merged_attribute`), as Keras's `kernel` property.

    Args:
        name: the adapted weight's name (`"kernel"`, an Embedding's `"embeddings"`).

    Returns:
        The `WeightSlot` to set as the class's attribute of that name.

    Example:
        >>> layer = lamina.layers.Dense(2)
        >>> layer.build((None, 3))
        >>> layer.enable_lora(1)
        >>> type(lamina.layers.Dense.kernel).__name__, layer.kernel is layer.weights[0]
        ('WeightSlot', False)
    """
    return WeightSlot(name, LoraLayer._lora_merged_attribute, "lora_enabled")


def _split_shape(shape):
    return shape[:-1], shape[-1]


def _check_rank(layer, rank, argument: str) -> None:
    if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
        raise errors.value_error(
            layer,
            f"`{argument}` as a positive integer (the inner size of the LoRA factors)",
            f"{argument}={rank!r}",
        )
