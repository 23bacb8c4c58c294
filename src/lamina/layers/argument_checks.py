"""Shared validation of constructor arguments: one helper per kind, raising the house message."""

from __future__ import annotations

from lamina.engine import errors


def positive_int(value, argument: str, layer) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        and not (hasattr(value, "__index__") and not isinstance(value, float))
    ):
        raise errors.value_error(
            layer, f"`{argument}` to be a positive integer", f"{argument}={value!r}"
        )
    value = int(value)
    if value <= 0:
        raise errors.value_error(
            layer, f"`{argument}` to be a positive integer", f"{argument}={value}"
        )
    return value


def int_tuple(value, rank: int, argument: str, layer, allow_zero: bool = False) -> tuple[int, ...]:
    """3 -> (3, 3); (3, 2) stays; checks length and sign."""
    if isinstance(value, int) and not isinstance(value, bool):
        values = (value,) * rank
    else:
        try:
            values = tuple(int(v) for v in value)
        except TypeError:
            raise errors.value_error(
                layer, f"`{argument}` as an int or a tuple of {rank} ints", f"{argument}={value!r}"
            ) from None
    if len(values) != rank:
        raise errors.value_error(
            layer, f"`{argument}` as an int or a tuple of {rank} ints", f"{argument}={value!r}"
        )
    lowest = 0 if allow_zero else 1
    if any(v < lowest for v in values):
        raise errors.value_error(
            layer, f"every entry of `{argument}` to be >= {lowest}", f"{argument}={value!r}"
        )
    return values


def strides_without_dilation(strides: tuple, dilation_rate: tuple, layer) -> None:
    """A convolution strides or dilates, not both (Keras refuses the pair: torch would take it)."""
    if any(d > 1 for d in dilation_rate) and any(s > 1 for s in strides):
        raise errors.value_error(
            layer,
            "strides == 1 when dilation_rate > 1 (as Keras)",
            f"strides={strides}, dilation_rate={dilation_rate}",
            "use either strides or dilation_rate, not both.",
        )


def noise_shape(value, layer) -> tuple | None:
    """A dropout mask's shape: None, or a tuple/list of positive ints and Nones (as Keras)."""
    if value is None:
        return None
    expected = "`noise_shape` as a tuple or list of positive integers or None"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise errors.value_error(layer, expected, f"noise_shape={value!r}")
    value = tuple(value)
    sizes = []
    for size in value:
        if size is not None:
            if isinstance(size, bool) or not hasattr(size, "__index__") or size <= 0:
                raise errors.value_error(layer, expected, f"noise_shape={value!r}")
            size = int(size)
        sizes.append(size)
    return tuple(sizes)


def choice(value, options, argument: str, layer) -> str:
    if not isinstance(value, str) or value.lower() not in options:
        raise errors.value_error(layer, f"`{argument}` in {list(options)}", f"{argument}={value!r}")
    return value.lower()


def rate(value, argument: str, layer) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise errors.value_error(layer, f"`{argument}` in [0, 1]", f"{argument}={value}")
    return value


def dropout_rate(value, argument: str, layer) -> float:
    """A dropped fraction in [0, 1): a rate of 1 drops everything and scales by 1 / 0."""
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise errors.value_error(
            layer,
            f"`{argument}` in [0, 1) (the fraction of units dropped)",
            f"{argument}={value}",
            "rate=1.0 would drop every unit; remove the layer instead, or use a rate such as 0.5."
            if value == 1.0
            else None,
        )
    return value
