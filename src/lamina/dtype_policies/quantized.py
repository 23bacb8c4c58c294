"""Quantized dtype policies: a layer whose weights `Model.quantize()` turned into integers.

A quantized policy is named `"<mode>_from_<source>"` ("int8_from_float32",
"int4/128_from_mixed_bfloat16"): the layer computes as the source policy says, and its kernel is
stored in the mode's integers ("float8" keeps it in floats and adds delayed scales, whose amax
history length its policy carries). Keras writes these policies into a quantized model's config,
so loading a config with one builds the layer's quantized variables directly.
"""

from __future__ import annotations

from lamina.dtype_policies.policy import DTypePolicy, _parse_name, dtype_policy, mixed_in_use
from lamina.engine import errors

# Keras's modes, in Keras's order (lamina runs them all).
QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")
# The modes that quantize from calibration data, block by block (lamina/quantizers/calibration.py).
CALIBRATED_MODES = ("gptq", "awq")


def check_mode(mode, compute_dtype, who="QuantizedDTypePolicy") -> None:
    """Raise unless `mode` is a Keras quantization mode that can run in `compute_dtype`."""
    if mode not in QUANTIZATION_MODES:
        raise errors.value_error(
            who,
            f"a quantization mode in {QUANTIZATION_MODES}",
            f"mode={mode!r}",
        )
    if mode == "int8" and compute_dtype == "float16":
        # Keras refuses it: int8 outputs divided by small scales overflow float16.
        raise errors.value_error(
            who,
            "a compute dtype other than float16 for mode='int8'",
            "compute_dtype='float16'",
            "use the 'mixed_bfloat16' or 'float32' policy before calling quantize().",
        )


class QuantizedDTypePolicy(DTypePolicy):
    """The policy of a quantized layer: computes as `source_name` says, stores int weights.

    Args:
        mode: the quantization mode, `"int8"` ("int4/<n>", "float8", "gptq/..." and "awq/..."
            have their own classes).
        source_name: the float policy the layer had before quantizing ("float32",
            "mixed_bfloat16", ...); None takes the global policy's name.

    Example:
        >>> policy = QuantizedDTypePolicy("int8", "float32")
        >>> policy.name, policy.quantization_mode, policy.compute_dtype
        ('int8_from_float32', 'int8', 'float32')
    """

    def __init__(self, mode, source_name=None):
        if source_name is None:
            source_name = dtype_policy().name
        self._compute_dtype, self._variable_dtype = _parse_name(source_name)
        check_mode(mode, self._compute_dtype, type(self).__name__)
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode
        if source_name != "float32":  # as DTypePolicy: layer calls then consult their policy
            mixed_in_use[0] = True

    def __eq__(self, other) -> bool:
        if not isinstance(other, QuantizedDTypePolicy) or type(other) is not type(self):
            return False
        return self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<{type(self).__name__} "{self._name}">'

    def get_config(self) -> dict:
        return {"mode": self._quantization_mode, "source_name": self._source_name}


class Int4DTypePolicy(QuantizedDTypePolicy):
    """The policy of an int4-quantized layer: `"int4/<block_size>"` from a float policy.

    Args:
        mode: `"int4/<block_size>"`: a positive block size quantizes the kernel in groups of
            that many input rows (with a zero point), -1 one scale per output channel.
        source_name: the float policy the layer had before quantizing; None takes the global
            policy's name.

    Example:
        >>> policy = Int4DTypePolicy("int4/128", "float32")
        >>> policy.name, policy.quantization_mode, policy.block_size
        ('int4/128_from_float32', 'int4', 128)
    """

    def __init__(self, mode, source_name=None):
        parts = mode.split("/") if isinstance(mode, str) else []
        block_size = None
        if len(parts) == 2 and parts[0] == "int4":
            try:
                block_size = int(parts[1])
            except ValueError:
                block_size = None
        if block_size is None or block_size < -1 or block_size == 0:
            raise errors.value_error(
                "Int4DTypePolicy",
                "mode 'int4/<block_size>' with block_size -1 or a positive integer",
                f"mode={mode!r}",
                "write e.g. 'int4/128' (groups of 128 rows) or 'int4/-1' (per channel).",
            )
        super().__init__("int4", source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode = "int4"
        self.block_size = block_size

    def get_config(self) -> dict:
        return {"mode": f"int4/{self.block_size}", "source_name": self._source_name}


class GPTQDTypePolicy(QuantizedDTypePolicy):
    """The policy of a GPTQ-quantized layer: `"gptq/<weight_bits>/<group_size>"` from a float
    policy.

    Args:
        mode: `"gptq/<weight_bits>/<group_size>"`: 2, 3, 4 or 8 bits per weight; a positive
            group size gives each group of that many input rows its own scale and zero point,
            -1 one per output channel.
        source_name: the float policy the layer had before quantizing; None takes the global
            policy's name.

    Example:
        >>> policy = GPTQDTypePolicy("gptq/4/128", "float32")
        >>> policy.name, policy.weight_bits, policy.group_size
        ('gptq/4/128_from_float32', 4, 128)
    """

    _ALGORITHM, _BITS = "gptq", (2, 3, 4, 8)

    def __init__(self, mode, source_name=None):
        algorithm = self._ALGORITHM
        weight_bits, group_size = _bits_and_group(type(self).__name__, algorithm, mode, self._BITS)
        QuantizedDTypePolicy.__init__(self, algorithm, source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode = algorithm
        self.weight_bits = weight_bits
        self.group_size = group_size

    def get_config(self) -> dict:
        mode = f"{self.mode}/{self.weight_bits}/{self.group_size}"
        return {"mode": mode, "source_name": self._source_name}


class AWQDTypePolicy(GPTQDTypePolicy):
    """The policy of an AWQ-quantized layer: `"awq/4/<group_size>"` from a float policy.

    Args:
        mode: `"awq/4/<group_size>"`: AWQ quantizes to 4 bits only; a positive group size gives
            each group of that many input rows its own scale and zero point, -1 one per output
            channel.
        source_name: the float policy the layer had before quantizing; None takes the global
            policy's name.

    Example:
        >>> policy = AWQDTypePolicy("awq/4/-1", "float32")
        >>> policy.name, policy.weight_bits, policy.group_size
        ('awq/4/-1_from_float32', 4, -1)
    """

    _ALGORITHM, _BITS = "awq", (4,)


def _bits_and_group(who: str, algorithm: str, mode, allowed_bits) -> tuple[int, int]:
    """`"<algorithm>/<bits>/<group_size>"` -> (bits, group_size), checked as Keras checks them."""
    parts = mode.split("/") if isinstance(mode, str) else []
    numbers = None
    if len(parts) == 3 and parts[0] == algorithm:
        try:
            numbers = int(parts[1]), int(parts[2])
        except ValueError:
            numbers = None
    if numbers is None or numbers[0] not in allowed_bits or numbers[1] < -1 or numbers[1] == 0:
        bits = ", ".join(str(b) for b in allowed_bits)
        raise errors.value_error(
            who,
            f"mode '{algorithm}/<weight_bits>/<group_size>' with weight_bits in ({bits}) and "
            "group_size -1 or a positive integer",
            f"mode={mode!r}",
            f"write e.g. '{algorithm}/4/128' (groups of 128 rows) or '{algorithm}/4/-1'.",
        )
    return numbers


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """The policy of a float8-trained layer (`quantize("float8")`): `"float8_from_<source>"`.

    Args:
        mode: `"float8"`.
        source_name: the float policy the layer had before quantizing; None takes the global
            policy's name.
        amax_history_length: how many steps of absolute maxima the delayed scales look back on
            (default 1024, Keras's).

    Example:
        >>> policy = QuantizedFloat8DTypePolicy("float8", "float32", amax_history_length=16)
        >>> policy.name, policy.amax_history_length
        ('float8_from_float32', 16)
    """

    default_amax_history_length = 1024

    def __init__(self, mode, source_name=None, amax_history_length=default_amax_history_length):
        super().__init__(mode, source_name)
        if not isinstance(amax_history_length, int) or isinstance(amax_history_length, bool):
            raise TypeError(
                errors.message(
                    "QuantizedFloat8DTypePolicy",
                    "an integer `amax_history_length`",
                    f"amax_history_length={amax_history_length!r}",
                    "Keras's default is 1024.",
                )
            )
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self) -> int:
        """The length of the amax histories the float8 scales are computed from."""
        return self._amax_history_length

    def get_config(self) -> dict:
        return {**super().get_config(), "amax_history_length": self._amax_history_length}


def from_name(name: str) -> QuantizedDTypePolicy:
    """`"int8_from_float32"` or `"int4/128_from_float32"` -> its policy (Keras's names).

    Args:
        name: `"<mode>_from_<source policy>"`.

    Example:
        >>> from_name("int4/-1_from_mixed_bfloat16").compute_dtype
        'bfloat16'
    """
    mode, separator, source = name.partition("_from_")
    if not separator or not source:
        raise errors.value_error(
            "dtype policy name",
            "'<mode>_from_<source policy>', such as 'int8_from_float32'",
            repr(name),
        )
    if mode.startswith("int4/"):
        return Int4DTypePolicy(mode, source)
    # A bare "int4" (Keras's older name, no block size) stays a plain QuantizedDTypePolicy, as
    # in Keras: the layers then quantize per output channel.
    if mode.startswith("gptq"):
        return GPTQDTypePolicy(mode, source)
    if mode.startswith("awq"):
        return AWQDTypePolicy(mode, source)
    if mode == "float8":
        return QuantizedFloat8DTypePolicy(mode, source)
    return QuantizedDTypePolicy(mode, source)
