"""Geometric image ops (Keras's `ops.image`): `map_coordinates`, `affine_transform` and
`perspective_transform`.

All three sample input pixels at computed coordinates: `map_coordinates` is the general N-D
sampler (orders 0 and 1, SciPy's fill modes), the transforms compute TensorFlow's projective
coordinates (pixel centres at integers, `x` the column) and sample with it.
"""

from __future__ import annotations

import itertools

import torch

from lamina import backend
from lamina.engine import errors
from lamina.ops.core import floating, symbolic_op, tensor

_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _fold_index(index, size, mode):
    """Integer indices mapped into [0, size) by the fill mode (constant: left as they are)."""
    if mode == "nearest":
        return index.clamp(0, size - 1)
    if mode == "wrap":
        return torch.remainder(index, size)
    if mode == "mirror":
        if size == 1:
            return torch.zeros_like(index)
        period = 2 * (size - 1)
        return (size - 1) - torch.abs(torch.remainder(index, period) - (size - 1))
    if mode == "reflect":
        folded = torch.remainder(index, 2 * size)
        return torch.where(folded >= size, 2 * size - 1 - folded, folded)
    return index


def _sample(x, coords, order, fill_mode, fill_value):
    """`x` (spatial axes only) sampled at `coords` (one tensor per axis, same shape)."""
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"expected fill_mode in {list(_FILL_MODES)}; received {fill_mode!r}.")
    if order not in (0, 1):
        raise ValueError(f"expected order 0 or 1; received order={order!r}.")
    sizes = x.shape
    if order == 0:
        corners = [[(torch.round(c).long(), None)] for c in coords]  # half to even, as Keras
    else:
        corners = []
        for c in coords:
            lower = torch.floor(c)
            weight = c - lower
            corners.append([(lower.long(), 1 - weight), (lower.long() + 1, weight)])
    out = torch.zeros(coords[0].shape, dtype=x.dtype, device=x.device)
    for combo in itertools.product(*corners):
        indices, valid, weight = [], None, None
        for (index, w), size in zip(combo, sizes, strict=True):
            inside = (index >= 0) & (index < size)
            valid = inside if valid is None else valid & inside
            indices.append(_fold_index(index, size, fill_mode).clamp(0, size - 1))
            if w is not None:
                weight = w if weight is None else weight * w
        value = x[tuple(indices)]
        if fill_mode == "constant":
            value = torch.where(valid, value, torch.as_tensor(fill_value, dtype=x.dtype))
        out = out + (value if weight is None else value * weight)
    return out


@symbolic_op("map_coordinates")
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """`inputs` sampled at `coordinates` (SciPy's `map_coordinates`, orders 0 and 1).

    Args:
        inputs: an N-D tensor.
        coordinates: N tensors (or one `(N, ...)` tensor) of positions along each axis.
        order: 0 (nearest) or 1 (linear).
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: the value outside the input when `fill_mode="constant"`.

    Returns:
        A tensor of `inputs`' dtype shaped like one coordinate tensor; integer inputs are
        interpolated in floating point and rounded.

    Examples:
        >>> map_coordinates(torch.arange(4.0), [torch.tensor([0.5, 2.0])], order=1)
        tensor([0.5000, 2.0000])
    """
    inputs = tensor(inputs)
    x = floating(inputs)
    coords = [floating(tensor(c)).to(x.dtype) for c in coordinates]
    out = _sample(x, coords, order, fill_mode, fill_value)
    if out.dtype == inputs.dtype:
        return out
    return out.round().to(inputs.dtype)  # integer inputs: the nearest integer, as Keras


def _project(transform, height, width, dtype, device):
    """Input (row, col) for every output pixel under TF's 8-parameter projective transform."""
    a0, a1, a2, b0, b1, b2, c0, c1 = transform.unbind(-1)
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=dtype, device=device),
        torch.arange(width, dtype=dtype, device=device),
        indexing="ij",
    )
    expand = (slice(None), None, None)
    k = c0[expand] * xs + c1[expand] * ys + 1
    col = (a0[expand] * xs + a1[expand] * ys + a2[expand]) / k
    row = (b0[expand] * xs + b1[expand] * ys + b2[expand]) / k
    return row, col


@symbolic_op("affine_transform")
def affine_transform(
    images,
    transform,
    interpolation="bilinear",
    fill_mode="constant",
    fill_value=0,
    data_format=None,
):
    """Warp images by projective transforms given as TensorFlow's 8 parameters.

    With `transform = [a0, a1, a2, b0, b1, b2, c0, c1]`, the output pixel at column `x` and row `y`
    takes the input at `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)` with `k = c0 x + c1 y + 1`
    (pixel centres at integers, the first coordinate the column).

    Args:
        images: `(batch, height, width, channels)` images or a single `(height, width, channels)`
            image (channels first with `data_format="channels_first"`).
        transform: `(8,)` parameters, or `(batch, 8)` for one transform per image.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_mode: how points outside the image are filled: `"constant"` (default: `fill_value`),
            `"nearest"`, `"wrap"`, `"mirror"` or `"reflect"`.
        fill_value: the value outside the image when `fill_mode` is `"constant"` (default 0).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        The transformed images, shaped like `images`.

    Example:
        >>> image = torch.arange(9.0).reshape(3, 3, 1)
        >>> shift_right = torch.tensor([1.0, 0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0])
        >>> lamina.ops.image.affine_transform(image, shift_right)[..., 0]
        tensor([[0., 0., 1.],
                [0., 3., 4.],
                [0., 6., 7.]])
    """
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(
            "affine_transform() expects interpolation in ['nearest', 'bilinear']; received "
            f"{interpolation!r}."
        )
    x = tensor(images)
    transform = tensor(transform)
    if x.dim() not in (3, 4) or transform.dim() not in (1, 2) or transform.shape[-1] != 8:
        raise errors.value_error(
            "affine_transform()",
            "images of rank 3 or 4 and transforms of shape (8,) or (batch, 8)",
            f"images {tuple(x.shape)}, transform {tuple(transform.shape)}",
        )
    single = x.dim() == 3
    x = x.unsqueeze(0) if single else x
    last = backend.standardize_data_format(data_format) == "channels_last"
    x = x if last else x.movedim(1, -1)
    original = x.dtype
    x = floating(x)
    transform = floating(transform).to(x.dtype)
    transform = transform.reshape(-1, 8).expand(x.shape[0], 8)
    batch, height, width, channels = x.shape
    row, col = _project(transform, height, width, x.dtype, x.device)
    order = 0 if interpolation == "nearest" else 1
    out = torch.stack(
        [
            torch.stack(
                [
                    _sample(x[b, ..., c], [row[b], col[b]], order, fill_mode, fill_value)
                    for c in range(channels)
                ],  # fmt: skip
                dim=-1,
            )
            for b in range(batch)
        ]
    )
    out = out if original.is_floating_point else out.round().to(original)
    out = out if last else out.movedim(-1, 1)
    return out.squeeze(0) if single else out


def _perspective_coefficients(start_points, end_points):
    """The 8 coefficients mapping output (end) points back to input (start) points."""
    rows = []
    rhs = []
    for i in range(4):
        (xs, ys), (xe, ye) = start_points[:, i].unbind(-1), end_points[:, i].unbind(-1)
        zero, one = torch.zeros_like(xs), torch.ones_like(xs)
        rows.append(torch.stack([xe, ye, one, zero, zero, zero, -xe * xs, -ye * xs], -1))
        rows.append(torch.stack([zero, zero, zero, xe, ye, one, -xe * ys, -ye * ys], -1))
        rhs += [xs, ys]
    # torch's CPU solver has no half types: solve in float32, return the points' dtype.
    system, target = torch.stack(rows, -2), torch.stack(rhs, -1)
    solve_dtype = torch.float32 if system.dtype in (torch.float16, torch.bfloat16) else system.dtype
    return torch.linalg.solve(system.to(solve_dtype), target.to(solve_dtype)).to(system.dtype)


@symbolic_op("perspective_transform")
def perspective_transform(
    images,
    start_points,
    end_points,
    interpolation="bilinear",
    fill_value=0,
    data_format=None,
):
    """Warp images so that four `start_points` land on four `end_points`.

    Points are `(x, y)`: column then row. The transform is solved from the point pairs and applied
    as in `affine_transform`, with constant fill.

    Args:
        images: `(batch, height, width, channels)` images or a single `(height, width, channels)`
            image (channels first with `data_format="channels_first"`).
        start_points: `(4, 2)` or `(batch, 4, 2)` points in the input.
        end_points: `(4, 2)` or `(batch, 4, 2)` positions those points move to.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_value: the value outside the image (default 0).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        The transformed images, shaped like `images`.

    Example:
        >>> image = torch.arange(9.0).reshape(3, 3, 1)
        >>> corners = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
        >>> moved = corners + torch.tensor([1.0, 0.0])
        >>> lamina.ops.image.perspective_transform(image, corners, moved)[..., 0]
        tensor([[0.0000, 0.0000, 1.0000],
                [0.0000, 3.0000, 4.0000],
                [0.0000, 6.0000, 7.0000]])
    """
    start = floating(tensor(start_points))
    end = tensor(end_points).to(start.dtype)
    if start.shape[-2:] != (4, 2) or end.shape != start.shape or start.dim() not in (2, 3):
        raise errors.value_error(
            "perspective_transform()",
            "start_points and end_points of shape (4, 2) or (batch, 4, 2)",
            f"{tuple(start.shape)} and {tuple(end.shape)}",
        )
    start = start.unsqueeze(0) if start.dim() == 2 else start
    end = end.unsqueeze(0) if end.dim() == 2 else end
    transform = _perspective_coefficients(start, end)
    return affine_transform(
        images,
        transform,
        interpolation=interpolation,
        fill_mode="constant",
        fill_value=fill_value,
        data_format=data_format,
    )


def _triangle(x):
    return torch.clamp(1.0 - x, min=0.0)


def _keys_cubic(x):
    inner = ((1.5 * x - 2.5) * x) * x + 1.0
    outer = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return torch.where(x < 1.0, inner, torch.where(x < 2.0, outer, torch.zeros_like(x)))


def _lanczos(radius):
    def kernel(x):
        return torch.where(x < radius, torch.sinc(x) * torch.sinc(x / radius), 0.0)

    return kernel


_KERNELS = {
    "linear": _triangle,
    "bilinear": _triangle,
    "trilinear": _triangle,
    "triangle": _triangle,
    "cubic": _keys_cubic,
    "bicubic": _keys_cubic,
    "tricubic": _keys_cubic,
    "keyscubic": _keys_cubic,
    "lanczos3": _lanczos(3.0),
    "lanczos5": _lanczos(5.0),
}


def _resampling_weights(in_size, out_size, scale, translation, kernel, antialias, dtype, device):
    """`(in_size, out_size)` weights: output i samples input at `(i + 0.5 - t) / s - 0.5`."""
    inverse = 1.0 / scale
    kernel_scale = torch.clamp(inverse, min=1.0) if antialias else torch.ones_like(inverse)
    sample = (torch.arange(out_size, dtype=dtype, device=device) + 0.5) * inverse
    sample = sample - translation * inverse - 0.5
    distance = torch.abs(
        sample[None, :] - torch.arange(in_size, dtype=dtype, device=device)[:, None]
    )
    weights = kernel(distance / kernel_scale)
    total = weights.sum(dim=0, keepdim=True)
    usable = torch.abs(total) > 1000.0 * torch.finfo(torch.float32).eps
    weights = torch.where(usable, weights / torch.where(total != 0, total, 1.0), 0.0)
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return torch.where(inside[None, :], weights, 0.0)


@symbolic_op("scale_and_translate")
def scale_and_translate(
    images, output_shape, scale, translation, spatial_dims, method, antialias=True
):
    """Resample images along some axes by a scale and a translation, as JAX's `scale_and_translate`.

    Output index `i` of a resampled axis samples the input at `(i + 0.5 - translation) / scale -
    0.5`
    with the `method`'s kernel; with `antialias`, the kernel widens by `1 / scale` when shrinking.

    Args:
        images: input tensor.
        output_shape: the full shape of the result.
        scale: the scale factor, one per axis in `spatial_dims`.
        translation: the translation in output pixels, one per axis in `spatial_dims`.
        spatial_dims: the axes to resample.
        method: the kernel: `"linear"`, `"cubic"`, `"lanczos3"` or `"lanczos5"` (or JAX's aliases,
            such as `"bilinear"`).
        antialias: whether to low-pass filter when shrinking (default True).

    Returns:
        A tensor of `output_shape`.

    Example:
        >>> signal = torch.tensor([0.0, 1.0, 2.0, 3.0])
        >>> lamina.ops.image.scale_and_translate(signal, (2,), [0.5], [0.0], (0,), "linear")
        tensor([0.7143, 2.2857])
    """
    if method not in _KERNELS:
        raise ValueError(
            f"scale_and_translate() expects method in {sorted(_KERNELS)}; received {method!r}."
        )
    x = floating(tensor(images))
    scale = floating(tensor(scale)).to(x.dtype).reshape(-1)
    translation = floating(tensor(translation)).to(x.dtype).reshape(-1)
    for position, axis in enumerate(spatial_dims):
        weights = _resampling_weights(
            x.shape[axis],
            int(output_shape[axis]),
            scale[position],
            translation[position],
            _KERNELS[method],
            antialias,
            x.dtype,
            x.device,
        )
        x = torch.tensordot(x.movedim(axis, -1), weights, dims=1).movedim(-1, axis)
    return x


@symbolic_op("elastic_transform")
def elastic_transform(
    images,
    alpha=20.0,
    sigma=5.0,
    interpolation="bilinear",
    fill_mode="reflect",
    fill_value=0.0,
    seed=None,
    data_format=None,
):
    """Elastic distortion: each pixel moves by a smooth random displacement field.

    The field is standard normal noise times `sigma`, blurred by a Gaussian of standard deviation
    `sigma` (a kernel `int(6 * sigma) | 1` wide), times `alpha`; the image is resampled at the
    displaced positions as in `map_coordinates`. Integer images are rounded back to their dtype.

    Args:
        images: `(batch, height, width, channels)` images or a single `(height, width, channels)`
            image (channels first with `data_format="channels_first"`).
        alpha: the strength of the displacement (default 20.0).
        sigma: the smoothness of the displacement field (default 5.0).
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_mode: how points outside the image are filled (default `"reflect"`; see
            `map_coordinates`).
        fill_value: the value outside the image when `fill_mode` is `"constant"` (default 0.0).
        seed: an int for a reproducible field (default None: drawn from torch's global generator).
        data_format: `"channels_last"` or `"channels_first"` (default None: the config's
            `image_data_format`).

    Returns:
        The distorted images, shaped like `images`.

    Example:
        >>> image = torch.rand(8, 8, 3)
        >>> distorted = lamina.ops.image.elastic_transform(image, alpha=2.0, sigma=1.0, seed=0)
        >>> lamina.ops.shape(distorted), distorted.dtype
        ((8, 8, 3), torch.float32)
    """
    from lamina.ops.image_filters import gaussian_blur

    x = tensor(images)
    single = x.dim() == 3
    x = x.unsqueeze(0) if single else x
    last = backend.standardize_data_format(data_format) == "channels_last"
    x = x if last else x.movedim(1, -1)
    original = x.dtype
    x = floating(x)
    batch, height, width, channels = x.shape
    generator = None
    if seed is not None:
        generator = torch.Generator(device=x.device).manual_seed(int(seed))
    size = int(6 * sigma) | 1
    fields = []
    for _ in range(2):
        noise = torch.randn(
            (batch, height, width, 1), generator=generator, dtype=x.dtype, device=x.device
        )
        blurred = gaussian_blur(noise * sigma, (size, size), (sigma, sigma), "channels_last")
        fields.append(alpha * blurred[..., 0])
    rows, cols = torch.meshgrid(
        torch.arange(height, dtype=x.dtype, device=x.device),
        torch.arange(width, dtype=x.dtype, device=x.device),
        indexing="ij",
    )
    order = 0 if interpolation == "nearest" else 1
    out = torch.stack(
        [
            torch.stack(
                [
                    _sample(
                        x[b, ..., c],
                        [rows + fields[1][b], cols + fields[0][b]],
                        order,
                        fill_mode,
                        fill_value,
                    )  # fmt: skip
                    for c in range(channels)
                ],
                dim=-1,
            )
            for b in range(batch)
        ]
    )
    out = out if original.is_floating_point else out.round().to(original)
    out = out if last else out.movedim(-1, 1)
    return out.squeeze(0) if single else out
