"""`AbsMaxQuantizer`: the symmetric int8 quantizer object behind `abs_max_quantize`."""

from __future__ import annotations

from lamina import backend
from lamina.engine import errors
from lamina.engine.quantizer import Quantizer
from lamina.quantizers.functions import abs_max_quantize


class AbsMaxQuantizer(Quantizer):
    """Quantizes with `abs_max_quantize`: the largest `|x|` along an axis maps to the top value.

    Args:
        axis: the default axis (an int or tuple) to reduce; deprecated in Keras in favour of the
            `axis` argument of the call. None (default) means -1.
        value_range: `(low, high)` of the quantized values (default `(-127, 127)`).
        epsilon: added to the maximum before dividing (default `backend.epsilon()`).
        output_dtype: the dtype of the quantized values (default `"int8"`, whose range must lie
            within `[-128, 127]`).

    Example:
        >>> q, scale = AbsMaxQuantizer()(torch.tensor([[0.5, -1.0], [2.0, 1.0]]))
        >>> q.tolist()
        [[63, -127], [127, 64]]
        >>> AbsMaxQuantizer(axis=0).get_config()["axis"]
        (0,)
    """

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=None, output_dtype="int8"):
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
        self.value_range = value_range
        self.epsilon = backend.epsilon() if epsilon is None else epsilon
        if output_dtype == "int8" and (value_range[0] < -128 or value_range[1] > 127):
            raise errors.value_error(
                "AbsMaxQuantizer",
                "a value_range within [-128, 127] for output_dtype='int8'",
                f"value_range={value_range}",
            )

    def __call__(self, x, axis=None, to_numpy=False):
        """`(quantized, scale)` of `x`, reduced along `axis` (else the constructor's, else -1).

        Args:
            x: the float tensor.
            axis: the axis (or axes) to reduce for this call.
            to_numpy: compute on the host CPU; the result is the same.
        """
        axis = next(a for a in (axis, self.axis, -1) if a is not None)
        return abs_max_quantize(
            x, axis, self.value_range, self.output_dtype, self.epsilon, to_numpy
        )

    def get_config(self):
        """`value_range`, `epsilon`, `output_dtype` and, when set, `axis`."""
        config = {
            "value_range": self.value_range,
            "epsilon": self.epsilon,
            "output_dtype": self.output_dtype,
        }
        if self.axis is not None:
            config["axis"] = self.axis
        return config
