"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

Each takes a list of tensors. The element-wise ones broadcast as Keras does: the batch sizes must
agree, and the per-sample shapes broadcast like NumPy's (a rank-2 `(batch, 3)` input meets a rank-3
`(batch, 4, 3)` one by gaining an axis right after the batch axis, never before it).

Masks (Keras's rules, checked against Keras): the output of an element-wise merge carries the OR of
the input masks when every input has one; Maximum and Minimum also keep masked-out values from
winning (a masked position takes the other inputs' values), Multiply counts a masked value as 1 (and
gives 0 where every input is masked); Concatenate combines masks,
treating a missing one as all-true; Dot drops masks.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from lamina.engine import channels_first, errors
from lamina.engine.layer import Layer


def _format_shapes(shapes) -> str:
    return "[" + ", ".join(errors.format_shape(s) for s in shapes) + "]"


def _masks_of(inputs) -> list:
    return [getattr(x, "_keras_mask", None) for x in inputs]


def _as_mask_tensor(mask) -> torch.Tensor:
    if isinstance(mask, torch.Tensor):
        return mask
    return torch.as_tensor(np.asarray(mask), dtype=torch.bool)


def _mask_list(layer, inputs, mask) -> list | None:
    """The per-input masks for `compute_mask`, after checking the call's arguments as Keras does.

    `mask=None` reads the masks the input tensors carry (None where `inputs` is not a list);
    a given `mask` must be a list as long as the list `inputs`.
    """
    if mask is None:
        return _masks_of(inputs) if isinstance(inputs, (list, tuple)) else None
    if not isinstance(mask, (list, tuple)):
        raise errors.value_error(
            layer,
            "`mask` as a list with one mask (or None) per input",
            f"a {type(mask).__name__}",
            "`mask` should be a list, as `inputs` is.",
        )
    if not isinstance(inputs, (list, tuple)):
        raise errors.value_error(
            layer,
            "`inputs` as a list of tensors",
            f"a {type(inputs).__name__}",
            "`inputs` should be a list, one entry per mask.",
        )
    if len(mask) != len(inputs):
        raise errors.value_error(
            layer,
            "one mask (or None) per input",
            f"{len(inputs)} inputs and {len(mask)} masks",
            "`inputs` and `mask` should have the same length.",
        )
    return list(mask)


class _Merge(Layer):
    """Base of the element-wise merges: checks, broadcasting, masks."""

    supports_masking = True
    min_inputs = 1
    exact_inputs: int | None = None
    # Multiply / Maximum / Minimum: a masked value must not take part (Keras's "masked merge").
    masked_merge = False
    # Every merge's compute_mask gives None for inputs without masks: a call on a list of such
    # tensors takes Layer's plain path (a ResNet's Add in every block of every step).
    _plain_list_inputs = True
    _no_mask_from_unmasked_inputs = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A subclass with its own compute_mask may make a mask from unmasked inputs.
        if cls.__module__ != __name__ and "compute_mask" in vars(cls):
            cls._plain_list_inputs = False
            cls._no_mask_from_unmasked_inputs = False

    def build(self, input_shape):
        shapes = self._check_list(input_shape)
        self._check_batch(shapes)
        self._broadcast_shape(shapes)

    def _check_list(self, input_shape) -> list[tuple]:
        # A list or tuple of shapes, as Keras takes (a single shape holds ints, not shapes).
        if not isinstance(input_shape, (list, tuple)) or not all(
            isinstance(s, (tuple, list)) for s in input_shape
        ):
            raise errors.value_error(
                self,
                "a list of tensors",
                f"a single input of shape {input_shape}",
                f"call it as {type(self).__name__}()([x1, x2]).",
            )
        input_shape = [tuple(s) for s in input_shape]
        count = len(input_shape)
        if self.exact_inputs is not None and count != self.exact_inputs:
            raise errors.value_error(
                self,
                f"exactly {self.exact_inputs} inputs",
                f"{count} ({_format_shapes(input_shape)})",
            )
        if count < self.min_inputs:
            raise errors.value_error(self, f"at least {self.min_inputs} input(s)", f"{count}")
        return input_shape

    def _check_batch(self, shapes, broadcast_ones=False):
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if broadcast_ones:
            # On data Keras merges with the op itself, which broadcasts a batch of one (a learned
            # latent array, ops.expand_dims(weight, 0), added to every sample).
            batch_sizes -= {1}
        if len(batch_sizes) > 1:
            raise errors.value_error(
                self,
                "inputs with the same batch size",
                f"shapes {_format_shapes(shapes)}",
                "merge tensors that come from the same batch.",
            )

    def _broadcast_shape(self, shapes):
        """The per-sample output shape, NumPy-broadcast; raises when two shapes cannot broadcast."""
        result: list = []
        for shape in shapes:
            sample = list(shape[1:])
            if len(sample) > len(result):
                result = [1] * (len(sample) - len(result)) + result
            else:
                sample = [1] * (len(result) - len(sample)) + sample
            merged = []
            for ours, theirs in zip(result, sample, strict=False):
                if ours is None or theirs is None:
                    # Keras's merge rule: an unknown size meets anything -> unknown.
                    merged.append(None)
                elif ours == 1 or theirs == 1 or ours == theirs:
                    merged.append(max(ours, theirs))
                else:
                    raise errors.value_error(
                        self,
                        "inputs whose shapes broadcast (after the batch axis, sizes equal or 1)",
                        f"shapes {_format_shapes(shapes)}",
                        "make the sizes match, e.g. with a Dense or 1x1 Conv2D projection on the "
                        "shortcut.",
                    )
            result = merged
        return tuple(result)

    def compute_output_shape(self, input_shape):
        """Keras's rule on the symbolic shapes (a probe size cannot stand for an unknown size that
        must equal a known one, as in `(None, None, 3)` + `(None, 5, 1)`)."""
        shapes = self._check_list(input_shape)
        self._check_batch(shapes)
        batch = next((s[0] for s in shapes if s and s[0] is not None), None)
        return (batch, *self._broadcast_shape(shapes))

    def call(self, inputs):
        inputs = list(inputs)
        first = inputs[0].shape
        if any(x.shape != first for x in inputs[1:]):  # the usual call has nothing to align
            ranks = {x.dim() for x in inputs}
            if len(ranks) > 1:
                # Keras aligns lower-rank inputs by adding axes right after the batch axis.
                highest = max(ranks)
                inputs = [
                    x.reshape(x.shape[0], *([1] * (highest - x.dim())), *x.shape[1:])
                    for x in inputs
                ]
            else:
                shapes = [tuple(x.shape) for x in inputs]
                self._check_batch(shapes, broadcast_ones=True)
                self._broadcast_shape(shapes)
        if self.masked_merge:
            masks = _masks_of(inputs)
            if any(m is not None for m in masks):
                return self._merge_masked(inputs, masks)
        return self._merge(inputs)

    def _merge(self, inputs):
        raise NotImplementedError

    def _channels_first_role(self):
        # lamina's own merges, value by value on inputs of one shape.
        if type(self).__module__ == __name__ and type(self).call is _Merge.call:
            return channels_first.ELEMENTWISE
        return None

    def _channels_first_call(self, inputs, training):
        first = inputs[0].shape
        if any(x.shape != first for x in inputs[1:]):
            return None  # broadcasting or aligning ranks: `call`, on the channels-last views
        return self._merge(inputs)

    def _merge_masked(self, inputs, masks):
        # Pairwise, as Keras: where one side is masked it takes the other side's value, so the
        # op (max, min, product) sees only real values where any input is unmasked.
        output, output_mask = inputs[0], masks[0]
        if output_mask is not None:
            output_mask = output_mask.unsqueeze(-1)
        for x, mask in zip(inputs[1:], masks[1:], strict=False):
            if mask is not None:
                mask = mask.unsqueeze(-1)
                x = torch.where(mask, x, output)
            if output_mask is not None:
                output = torch.where(output_mask, output, x)
            output_mask = (
                output_mask | mask if (output_mask is not None and mask is not None) else None
            )
            output = self._merge([output, x])
        return output

    def compute_mask(self, inputs, mask=None):
        masks = _mask_list(self, inputs, mask)
        if not masks or any(m is None for m in masks):
            return None
        result = masks[0]
        for m in masks[1:]:
            result = result | m
        return result


def _sum(tensors):
    output = tensors[0]
    for x in tensors[1:]:
        output = output + x
    return output


class Add(_Merge):
    """Adds a list of inputs element-wise (shapes broadcast after the batch axis).

    Args:
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: a list of tensors `(batch, ...)`. Output shape: their broadcast shape.

    Example:
        >>> tuple(Add()([torch.ones(2, 3), torch.ones(2, 3)]).shape)
        (2, 3)
    """

    def _merge(self, inputs):
        return _sum(inputs)


class Subtract(_Merge):
    """`inputs[0] - inputs[1]`; takes exactly two inputs.

    Args:
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: a list of two tensors `(batch, ...)`. Output shape: their broadcast shape.

    Example:
        >>> Subtract()([torch.tensor([[5.0, 3.0]]), torch.tensor([[1.0, 1.0]])]).tolist()
        [[4.0, 2.0]]
    """

    exact_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Multiplies a list of inputs element-wise (masked values do not take part).

    Args:
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: a list of tensors `(batch, ...)`. Output shape: their broadcast shape.

    Example:
        >>> Multiply()([torch.tensor([[2.0, 3.0]]), torch.tensor([[4.0, 0.5]])]).tolist()
        [[8.0, 1.5]]
        >>> tuple(Multiply()([torch.ones(2, 3), torch.ones(2, 4, 3)]).shape)  # rank-2 broadcast
        (2, 4, 3)
    """

    masked_merge = True

    def _merge_masked(self, inputs, masks):
        # Keras: a masked value counts as 1; a position masked in every input gives 0.
        kept = [
            x if m is None else torch.where(m.unsqueeze(-1), x, torch.ones_like(x))
            for x, m in zip(inputs, masks, strict=False)
        ]
        product = self._merge(kept)
        if any(m is None for m in masks):  # an unmasked input keeps every position valid
            return product
        valid = masks[0]
        for mask in masks[1:]:
            valid = valid | mask
        return torch.where(valid.unsqueeze(-1), product, torch.zeros_like(product))

    def _merge(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = output * x
        return output


class Average(_Merge):
    """The element-wise mean of a list of inputs.

    Args:
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: a list of tensors `(batch, ...)`. Output shape: their broadcast shape.

    Example:
        >>> Average()([torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 6.0]])]).tolist()
        [[2.0, 4.0]]
    """

    def _merge(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output / len(inputs)


class Maximum(_Merge):
    """The element-wise maximum of a list of inputs (masked values never win).

    Args:
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: a list of tensors `(batch, ...)`. Output shape: their broadcast shape.

    Example:
        >>> Maximum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
        [[3.0, 5.0]]
    """

    masked_merge = True

    def _merge(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = torch.maximum(output, x)
        return output


class Minimum(_Merge):
    """The element-wise minimum of a list of inputs (masked values never win).

    Args:
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: a list of tensors `(batch, ...)`. Output shape: their broadcast shape.

    Example:
        >>> Minimum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
        [[1.0, 2.0]]
    """

    masked_merge = True

    def _merge(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = torch.minimum(output, x)
        return output


class Concatenate(_Merge):
    """Concatenates a list of inputs along `axis`; every other axis must match.

    Args:
        axis: the axis to join along (default -1, the channels of channels-last data).

    Input shape: a list of tensors of equal rank. Output shape: the same, with the `axis` sizes
    added.

    Example:
        >>> tuple(Concatenate()([torch.ones(2, 3), torch.ones(2, 4)]).shape)
        (2, 7)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise errors.value_error(self, "an integer `axis`", f"axis={axis!r}")
        self.axis = axis

    def build(self, input_shape):
        shapes = self._check_list(input_shape)
        self._check_shapes(shapes)

    def compute_output_shape(self, input_shape):
        """Keras's rule: the first input's shape, its `axis` size the sum (unknown if any is)."""
        shapes = self._check_list(input_shape)
        self._check_shapes(shapes)
        output = list(shapes[0])
        axis = self.axis % len(output)
        sizes = [s[axis] for s in shapes]
        output[axis] = None if None in sizes else sum(sizes)
        return tuple(output)

    def _check_shapes(self, shapes):
        rank = len(shapes[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        mismatch = axis is None or any(len(s) != rank for s in shapes)
        if not mismatch:
            for dim in range(rank):
                if dim == axis:
                    continue
                sizes = {s[dim] for s in shapes} - {None}
                mismatch = mismatch or len(sizes) > 1
        if mismatch:
            raise errors.value_error(
                self,
                f"inputs of equal rank whose shapes match except on the concatenation axis "
                f"(axis={self.axis})",
                f"shapes {_format_shapes(shapes)}",
                "check the axis, or resize/reshape the inputs so the other axes agree.",
            )

    def call(self, inputs):
        inputs = list(inputs)
        if len({x.dim() for x in inputs}) > 1:
            self._check_shapes([tuple(x.shape) for x in inputs])
        return torch.cat(inputs, dim=self.axis)

    def compute_mask(self, inputs, mask=None):
        masks = _mask_list(self, inputs, mask)
        if not masks or all(m is None for m in masks):
            return None
        # A missing mask is all-true; masks gain the feature axis, join along `axis`, and an
        # output step stays valid where any of its joined features is.
        # (Masks may come as NumPy arrays or Variables when compute_mask is called directly.)
        masks = [None if m is None else _as_mask_tensor(m) for m in masks]
        device = next(m.device for m in masks if m is not None)
        expanded = []
        for x, m in zip(inputs, masks, strict=False):
            if m is None:
                m = torch.ones(tuple(x.shape[:-1]), dtype=torch.bool, device=device)
            expanded.append(m.unsqueeze(-1))
        return torch.cat(expanded, dim=self.axis).any(dim=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """The dot product of two inputs along `axes`, per sample (Keras's batched dot).

    Args:
        axes: an int, or a pair `(axis_of_x1, axis_of_x2)`; the summed axes (not the batch axis).
        normalize: L2-normalise both inputs along `axes` first, giving cosine similarity.

    Input shape: a list of two tensors `(batch, ...)`; the two `axes` sizes must agree.
    Output shape: `x1`'s remaining axes then `x2`'s; `(batch, 1)` when none remain.

    Example:
        >>> tuple(Dot(axes=1)([torch.ones(2, 3), torch.ones(2, 3)]).shape)
        (2, 1)
    """

    exact_inputs = 2
    # As Keras: it takes masked inputs (supports_masking, inherited) but its output carries no
    # mask (compute_mask below).

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        valid = isinstance(axes, int) and not isinstance(axes, bool)
        if isinstance(axes, (list, tuple)):
            valid = len(axes) == 2 and all(
                isinstance(a, int) and not isinstance(a, bool) for a in axes
            )
        if not valid:
            raise errors.value_error(
                self, "`axes` as an int or a list of two ints", f"axes={axes!r}"
            )
        self.axes = list(axes) if isinstance(axes, (list, tuple)) else axes
        self.normalize = bool(normalize)

    def _resolve_axes(self, rank1: int, rank2: int) -> tuple[int, int]:
        pair = self.axes if isinstance(self.axes, list) else [self.axes, self.axes]
        return pair[0] % rank1, pair[1] % rank2

    def build(self, input_shape):
        shapes = self._check_list(input_shape)
        self._check_batch(shapes)
        self._check_axes(*shapes)

    def _check_axes(self, shape1, shape2):
        axis1, axis2 = self._resolve_axes(len(shape1), len(shape2))
        if axis1 == 0 or axis2 == 0:
            raise errors.value_error(
                self, "`axes` that are not the batch axis (0)", f"axes={self.axes!r}"
            )
        size1, size2 = shape1[axis1], shape2[axis2]
        # As Keras's build: an unknown size meets only an unknown size (two symbolic inputs
        # whose dot axes are not both known or both unknown are refused).
        if size1 != size2:
            raise errors.value_error(
                self,
                "equal sizes on the two dot axes",
                f"size {size1} (axis {axis1} of {errors.format_shape(shape1)}) and size {size2} "
                f"(axis {axis2} of {errors.format_shape(shape2)})",
            )

    def call(self, inputs):
        x1, x2 = inputs
        axis1, axis2 = self._resolve_axes(x1.dim(), x2.dim())
        if self.normalize:
            x1 = F.normalize(x1, dim=axis1)
            x2 = F.normalize(x2, dim=axis2)
        # (batch, rest1..., k) @ (batch, k, rest2...) as one batched matmul.
        left = x1.movedim(axis1, -1)
        right = x2.movedim(axis2, 1)
        rest1, rest2 = left.shape[1:-1], right.shape[2:]
        batch, size = left.shape[0], left.shape[-1]
        # Sizes spelled out, not -1: a batch of 0 samples leaves -1 ambiguous.
        rows, columns = math.prod(rest1), math.prod(rest2)
        product = torch.bmm(left.reshape(batch, rows, size), right.reshape(batch, size, columns))
        output = product.reshape(batch, *rest1, *rest2)
        return output.reshape(batch, 1) if output.dim() == 1 else output

    def compute_output_shape(self, input_shape):
        # Keras's rule, not the engine's probe: the probe fills each unknown size on its own,
        # so an unknown dot axis facing a known one would disagree with it. As Keras's, it
        # checks no sizes (build does).
        shape1, shape2 = self._check_list(input_shape)
        axis1, axis2 = self._resolve_axes(len(shape1), len(shape2))
        rest1 = [size for i, size in enumerate(shape1) if i != axis1]
        rest2 = [size for i, size in enumerate(shape2) if i not in (0, axis2)]
        output = rest1 + rest2
        return tuple(output + [1] if len(output) == 1 else output)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """Functional form of `Add`: `add([x1, x2])`.

    Creates a `Add` layer and calls it on `inputs` at once.

    Args:
        inputs: a list of tensors `(batch, ...)`.
        **kwargs: layer arguments (`name`, `dtype`, ...) for the layer created.

    Returns:
        The merged tensor (a symbolic one when `inputs` are symbolic).

    Example:
        >>> add([torch.tensor([[1.0, 2.0]]), torch.tensor([[10.0, 20.0]])]).tolist()
        [[11.0, 22.0]]
    """
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`.

    Creates a `Subtract` layer and calls it on `inputs` at once.

    Args:
        inputs: a list of two tensors `(batch, ...)`.
        **kwargs: layer arguments (`name`, `dtype`, ...) for the layer created.

    Returns:
        The merged tensor (a symbolic one when `inputs` are symbolic).

    Example:
        >>> subtract([torch.tensor([[5.0]]), torch.tensor([[2.0]])]).tolist()
        [[3.0]]
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`.

    Creates a `Multiply` layer and calls it on `inputs` at once.

    Args:
        inputs: a list of tensors `(batch, ...)`.
        **kwargs: layer arguments (`name`, `dtype`, ...) for the layer created.

    Returns:
        The merged tensor (a symbolic one when `inputs` are symbolic).

    Example:
        >>> multiply([torch.tensor([[2.0]]), torch.tensor([[3.0]]), torch.tensor([[4.0]])]).tolist()
        [[24.0]]
    """
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`.

    Creates a `Average` layer and calls it on `inputs` at once.

    Args:
        inputs: a list of tensors `(batch, ...)`.
        **kwargs: layer arguments (`name`, `dtype`, ...) for the layer created.

    Returns:
        The merged tensor (a symbolic one when `inputs` are symbolic).

    Example:
        >>> average([torch.tensor([[0.0, 4.0]]), torch.tensor([[2.0, 8.0]])]).tolist()
        [[1.0, 6.0]]
    """
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`.

    Creates a `Maximum` layer and calls it on `inputs` at once.

    Args:
        inputs: a list of tensors `(batch, ...)`.
        **kwargs: layer arguments (`name`, `dtype`, ...) for the layer created.

    Returns:
        The merged tensor (a symbolic one when `inputs` are symbolic).

    Example:
        >>> maximum([torch.tensor([[0.0, 4.0]]), torch.tensor([[2.0, 1.0]])]).tolist()
        [[2.0, 4.0]]
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`.

    Creates a `Minimum` layer and calls it on `inputs` at once.

    Args:
        inputs: a list of tensors `(batch, ...)`.
        **kwargs: layer arguments (`name`, `dtype`, ...) for the layer created.

    Returns:
        The merged tensor (a symbolic one when `inputs` are symbolic).

    Example:
        >>> minimum([torch.tensor([[0.0, 4.0]]), torch.tensor([[2.0, 1.0]])]).tolist()
        [[0.0, 1.0]]
    """
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`.

    Creates a `Concatenate` layer and calls it on `inputs` at once.

    Args:
        inputs: a list of tensors `(batch, ...)`.
        axis: the axis to join along (default -1).
        **kwargs: layer arguments (`name`, `dtype`, ...) for the layer created.

    Returns:
        The merged tensor (a symbolic one when `inputs` are symbolic).

    Example:
        >>> concatenate([torch.zeros(2, 3), torch.zeros(2, 5)]).shape
        torch.Size([2, 8])
        >>> concatenate([torch.zeros(2, 3), torch.zeros(4, 3)], axis=0).shape
        torch.Size([6, 3])
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional form of `Dot`.

    Creates a `Dot` layer and calls it on `inputs` at once.

    Args:
        inputs: a list of two tensors `(batch, ...)`.
        axes: an int or a pair `(axis_of_x1, axis_of_x2)`, the summed axes (default -1).
        normalize: L2-normalise both inputs along `axes` first (cosine similarity); default
            False.
        **kwargs: layer arguments (`name`, `dtype`, ...) for the layer created.

    Returns:
        The merged tensor (a symbolic one when `inputs` are symbolic).

    Example:
        >>> dot([torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])]).tolist()
        [[11.0]]
        >>> dot([torch.tensor([[3.0, 0.0]]), torch.tensor([[2.0, 0.0]])], normalize=True).tolist()
        [[1.0]]
    """
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
