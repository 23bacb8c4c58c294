"""`Quantizer`: the base class of Keras's quantizers (`keras.quantizers.Quantizer`).

A quantizer maps a float tensor to a lower-precision one (`output_dtype`); subclasses write
`__call__` and `get_config`. lamina's top level carries the base so user quantizers subclass it
and serialise as Keras's do.
"""

from __future__ import annotations


class Quantizer:
    """Base class of quantizers: a callable from a tensor to its quantized form.

    The base returns its input unchanged; a subclass computes the quantized tensor in `__call__`
    and lists its arguments in `get_config`, so `from_config(get_config())` rebuilds it.

    Args:
        output_dtype: the dtype of the quantized values (default `"int8"`).

    Example:
        >>> class Round(Quantizer):
        ...     def __call__(self, x):
        ...         return torch.round(x).to(torch.int8)
        ...     def get_config(self):
        ...         return {"output_dtype": self.output_dtype}
        >>> Round()(torch.tensor([0.4, 1.6])).tolist()
        [0, 2]
        >>> Round.from_config(Round().get_config()).output_dtype
        'int8'
    """

    def __init__(self, output_dtype="int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        """The quantized form of `x` (the base: `x` itself).

        Args:
            x: the tensor to quantize.
        """
        return x

    @classmethod
    def from_config(cls, config):
        """A quantizer from the dict `get_config` returned.

        Args:
            config: the quantizer's arguments, by name.
        """
        return cls(**config)

    def get_config(self):
        """The quantizer's arguments, by name; subclasses must write it."""
        raise NotImplementedError(f"{self} does not implement get_config()")
