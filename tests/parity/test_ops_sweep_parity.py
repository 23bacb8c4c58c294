"""lamina.ops against keras.ops where Keras's own ops unit tests found them apart: integer
results, symbolic shapes, warnings and argument errors (the value tables are in
tests/ops/parity_cases.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import ops
from tests.parity.reference import keras

RNG = np.random.default_rng(3)


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["int32", "uint8"])
def test_map_coordinates_keeps_integer_dtype_rounded(dtype):
    image = RNG.integers(0, 50, size=(3, 4, 5)).astype(dtype)
    coordinates = [RNG.uniform(-1, size, (2, 3)).astype("float32") for size in image.shape]
    ours = ops.image.map_coordinates(image, coordinates, 1)
    ref = keras.ops.image.map_coordinates(image, coordinates, 1)
    assert ours.dtype == ref.dtype
    torch.testing.assert_close(ours, ref)


@pytest.mark.parity
@pytest.mark.parametrize("op", ["segment_sum", "segment_max"])
def test_segment_reductions_on_symbolic_ids_have_unknown_length(op):
    def shape(namespace, tensor):
        data = tensor((10, 4), dtype="float32")
        ids = tensor((10,), dtype="int32")
        return getattr(namespace, op)(data, ids).shape, getattr(namespace, op)(data, ids, 3).shape

    assert shape(ops, lamina.KerasTensor) == shape(keras.ops, keras.KerasTensor)


@pytest.mark.parity
def test_segment_reductions_reject_ids_that_do_not_fit_data():
    data = np.ones((4, 2), "float32")
    for ids in (np.zeros((4, 1), "int32"), np.zeros(3, "int32")):
        with pytest.raises(ValueError):
            keras.ops.segment_sum(data, ids)
        with pytest.raises(ValueError, match="segment_ids"):
            ops.segment_sum(data, ids)


def test_softmax_checks_its_axis_and_warns_over_a_single_class():
    with pytest.warns(UserWarning, match="size 1"):
        ops.softmax(np.ones((2, 1), "float32"), axis=1)
    with pytest.raises(ValueError, match="axis 10"):
        ops.softmax(lamina.KerasTensor((3, 4)), axis=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ops.softmax(np.ones((2, 3), "float32"))


@pytest.mark.parity
@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("stft", (np.ones(8, "float32"), 2, 0, 4)),
        ("stft", (np.ones(8, "float32"), 4, 1, 2)),
        ("stft", (np.ones(8, "float32"), 2, 1, 4, np.ones(3, "float32"))),
        ("istft", ((np.ones((1, 3)), np.ones((1, 3))), 2, 1.0, 4)),
        ("view_as_complex", (np.ones((2, 3), "float32"),)),
        ("image.resize", (np.ones((4, 4, 1), "float32"), (0, 4))),
        ("fft", (np.array([1.0, 2.0, 3.0]),)),
        ("fft", ((np.ones(3), np.ones(2)),)),
        ("cdist", (np.ones((2, 4), "float32"), np.ones((3, 5), "float32"))),
        ("image.rgb_to_grayscale", (np.ones((4, 4, 4), "float32"),)),
        ("image.rgb_to_hsv", (np.ones((4, 3), "float32"),)),
        ("image.gaussian_blur", (np.ones((12, 12), "float32"),)),
        ("image.crop_images", (np.ones((10, 10, 3), "float32"), -1, 0, None, None, 8, 8)),
        ("image.pad_images", (np.ones((10, 10, 3), "float32"), -1, 0, None, None, 12, 12)),
        ("image.affine_transform", (np.ones((3, 2), "float32"), np.ones(8, "float32"))),
    ],
)
def test_bad_arguments_raise_value_errors_as_keras(op, args):
    def call(namespace):
        for part in op.split("."):
            namespace = getattr(namespace, part)
        return namespace(*args)

    with pytest.raises(ValueError):
        call(keras.ops)
    with pytest.raises(ValueError):
        call(ops)


def _symbolic_control_flow(namespace, tensor):
    x, init = tensor((None, 3)), tensor((3,))
    return [
        namespace.scan(lambda c, v: (c + v, c * v), init, x)[1],
        namespace.map(lambda row: row * 2, x),
        namespace.cond(True, lambda: x * 2, lambda: x + 1),
        namespace.switch(1, [lambda a: a * 2, lambda a: a + 1], x),
        namespace.associative_scan(lambda a, b: a + b, x),
        namespace.vectorized_map(lambda row: namespace.sum(row), x),
    ]


@pytest.mark.parity
def test_control_flow_on_symbolic_tensors_gives_keras_shapes():
    ours = [t.shape for t in _symbolic_control_flow(ops, lamina.KerasTensor)]
    assert ours == [t.shape for t in _symbolic_control_flow(keras.ops, keras.KerasTensor)]


def test_scan_runs_inside_a_functional_model():
    inputs = lamina.Input((5, 3))
    steps = ops.transpose(inputs, (1, 0, 2))
    _, sums = ops.scan(lambda c, v: (c + v, c + v), ops.zeros((3,)), steps)
    model = lamina.Model(inputs, ops.transpose(sums, (1, 0, 2)))
    x = RNG.standard_normal((2, 5, 3)).astype("float32")
    torch.testing.assert_close(model(x), torch.tensor(x).cumsum(1))


@pytest.mark.parity
def test_while_loop_and_scan_take_numpy_state_as_keras():
    def body(i, x, total):
        return i + 1, x, total + ops.slice(x, [i], [1])

    start = (0, np.arange(10), np.array([0]))
    ours = ops.while_loop(lambda i, x, total: i < 10, body, start)
    ref = keras.ops.while_loop(lambda i, x, total: i < 10, body, start)
    for mine, theirs in zip(ours, ref, strict=True):
        assert mine.dtype == theirs.dtype
        torch.testing.assert_close(mine, theirs)
    ours = ops.scan(lambda c, v: (c + v, c * v), np.array(1), np.arange(4))
    ref = keras.ops.scan(lambda c, v: (c + v, c * v), np.array(1), np.arange(4))
    for mine, theirs in zip(ours, ref, strict=True):
        torch.testing.assert_close(mine, theirs)


@pytest.mark.parity
def test_slice_with_minus_one_takes_the_rest_of_the_axis():
    # Keras's symbolic shape (its eager torch backend gives an empty block instead).
    shape = keras.ops.slice(keras.KerasTensor((3, 3)), (1, 1), (-1, -1)).shape
    assert ops.slice(lamina.KerasTensor((3, 3)), (1, 1), (-1, -1)).shape == shape
    x = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(ops.slice(x, (1, 2), (-1, 2)).numpy(), x[1:, 2:4])


@pytest.mark.parity
def test_image_ops_take_array_arguments_and_half_points():
    images = RNG.random((2, 8, 8, 3)).astype("float32")
    kernel_size, sigma = np.array([3, 3]), np.array([0.6, 0.9], "float32")
    ours = ops.image.gaussian_blur(images, kernel_size, sigma)
    # Keras's torch backend reads data_format=None as channels first here: name it.
    ref = keras.ops.image.gaussian_blur(images, kernel_size, sigma, data_format="channels_last")
    torch.testing.assert_close(ours, ref)
    start = np.array([[0, 0], [0, 7], [7, 0], [7, 7]], "float16")
    end = np.array([[1, 1], [0, 6], [6, 0], [7, 7]], "float16")
    half = images.astype("float16")
    ours = ops.image.perspective_transform(half, start, end)
    ref = keras.ops.image.perspective_transform(
        torch.tensor(half), torch.tensor(start), torch.tensor(end)
    )
    assert ours.dtype == ref.dtype == torch.float16
    torch.testing.assert_close(ours, ref)


@pytest.mark.parity
def test_layer_normalization_rms_scaling_warns_and_computes_as_keras():
    x = RNG.random((2, 5)).astype("float32") + 1
    gamma = RNG.random(5).astype("float32")
    with pytest.warns(UserWarning, match="deprecated"):
        ours = ops.layer_normalization(x, gamma, rms_scaling=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = keras.ops.layer_normalization(x, gamma, rms_scaling=True)
    torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ops.nn.depth_to_space(np.ones((1, 2, 2, 12)), 1),
        lambda: ops.nn.space_to_depth(np.ones((1, 4, 4, 3)), 0),
        lambda: ops.nn.normalize(np.array([1.0, 2.0]), order=0),
        lambda: ops.nn.normalize(np.array([1.0, 2.0]), order=2.0),
        lambda: ops.nn.fold(np.ones((1, 2, 3, 4)), (4, 4), 2),
    ],
)
def test_nn_ops_reject_bad_arguments_with_value_errors(call):
    with pytest.raises(ValueError, match="expects"):
        call()


@pytest.mark.parity
@pytest.mark.parametrize(
    ("op", "x"),
    [
        ("cholesky", np.array([[1.0, 2.0], [2.0, 1.0]], "float32")),
        ("det", np.ones((4, 3, 4), "float32")),
        ("inv", np.ones((2, 3), "float32")),
        ("eigh", np.ones((3, 2), "float32")),
    ],
)
def test_linalg_raises_value_errors_as_keras(op, x):
    with pytest.raises(ValueError):
        getattr(keras.ops.linalg, op)(x)
    with pytest.raises(ValueError, match=op):
        getattr(ops.linalg, op)(x)


@pytest.mark.parametrize(
    ("op", "x"),
    [
        ("fft2", (np.ones(3), np.ones(3))),
        ("rfft", np.array(5.0)),
        ("irfft", (np.array(1.0), np.array(1.0))),
    ],
)
def test_fourier_ops_check_the_rank_as_keras_symbolic_ops(op, x):
    # Keras raises these ValueErrors on symbolic inputs; on torch tensors it raises IndexError.
    with pytest.raises(ValueError, match=f"{op}.*rank"):
        getattr(ops, op)(x)


@pytest.mark.parity
def test_ops_take_symbolic_tensors_by_keyword():
    def shapes(namespace, tensor):
        x, ids = tensor((None, 6)), tensor((None,), dtype="int32")
        return [
            namespace.add(x1=x, x2=x).shape,
            namespace.associative_scan(f=lambda a, b: a + b, elems=x, axis=0).shape,
            namespace.segment_sum(data=x, segment_ids=ids).shape,
        ]

    assert shapes(ops, lamina.KerasTensor) == shapes(keras.ops, keras.KerasTensor)


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e5m2"])
def test_cast_to_float8_and_back_as_keras(dtype):
    x = np.array([0.3, -1.7, 448.0, 2.5], "float32")
    ours = ops.cast(ops.cast(x, dtype), "float32")
    ref = keras.ops.cast(keras.ops.cast(x, dtype), "float32")
    torch.testing.assert_close(ours, ref)
    assert ops.cast(lamina.KerasTensor((2,)), dtype).dtype == dtype


def test_slice_needs_one_start_and_size_per_axis():
    # Keras's symbolic slice raises this ValueError; its eager torch slice an IndexError.
    with pytest.raises(ValueError, match="one start index and one size per axis"):
        ops.slice(lamina.KerasTensor((3, 3)), (1, 1, 1), (2, 2))


@pytest.mark.parity
def test_beam_search_ctc_decode_symbolic_shapes_as_keras():
    def shapes(namespace, tensor):
        decoded, scores = namespace.nn.ctc_decode(
            tensor((None, 2, 3)), tensor((None,), dtype="int32"), "beam_search", top_paths=2
        )
        return decoded.shape, scores.shape

    assert shapes(ops, lamina.KerasTensor) == shapes(keras.ops, keras.KerasTensor)


@pytest.mark.parity
def test_while_loop_on_symbolic_tensors_keeps_the_loop_shapes():
    def shapes(namespace, tensor):
        state = (tensor((None, 3)), tensor((2,), dtype="int32"))
        out = namespace.while_loop(lambda a, b: True, lambda a, b: (a, b), state)
        return [(o.shape, o.dtype) for o in out]

    assert shapes(ops, lamina.KerasTensor) == shapes(keras.ops, keras.KerasTensor)
    inputs = lamina.Input((3,))
    _, doubled = ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2), (0, inputs))
    out = lamina.Model(inputs, doubled)(np.ones((2, 3), "float32"))
    torch.testing.assert_close(out, torch.full((2, 3), 8.0))


@pytest.mark.parity
def test_pad_images_of_unknown_size_keeps_the_target_shape():
    def shape(namespace, tensor):
        images = tensor((None, None, None, 3))
        return namespace.image.pad_images(images, 2, 3, target_height=20, target_width=30).shape

    assert shape(ops, lamina.KerasTensor) == shape(keras.ops, keras.KerasTensor)


def _data_dependent_and_joined_specs(namespace):
    """Symbolic ops whose output sizes a probe cannot find: sizes set by the data (nonzero,
    unique), per-element repeats over an unknown size, flattened meshgrid inputs and joins of
    tensors whose sizes are unknown in one and known in another."""
    kops, Input = namespace.ops, namespace.Input  # noqa: N806 - Keras's name
    x = Input((3,))
    outputs = [
        *kops.nonzero(Input((3, 4))),
        kops.unique(x),
        *kops.unique(x, return_index=True, return_inverse=True, return_counts=True),
        kops.unique(x, size=5),
        *kops.unique(Input((4, 3), batch_size=2), axis=1, return_inverse=True),
        kops.repeat(Input((2,)), [1, 2], axis=0),
        kops.repeat(x, [1, 2, 3]),
        *kops.meshgrid(Input((2,)), Input((3,))),
        *kops.meshgrid(Input((2,), batch_size=2), Input((3,), batch_size=3), indexing="ij"),
        kops.concatenate([x, Input((None,), batch_size=2)], axis=0),
        kops.concatenate([x, Input((None,), batch_size=2, dtype="int32")], axis=-1),
        kops.stack([x, Input((None,), batch_size=2)], axis=1),
    ]
    return [(tuple(t.shape), str(t.dtype)) for t in outputs]


@pytest.mark.parity
def test_symbolic_shapes_the_probe_cannot_find_are_keras_static_rules():
    ours = _data_dependent_and_joined_specs(lamina)
    assert ours == _data_dependent_and_joined_specs(keras)
    assert ours[0] == ((None,), "int32")  # sized by the data: unknown, not a probe's 0


def _sliced_shapes(namespace):
    x = namespace.Input((5, 16))
    sequence = namespace.Input((None, 8))
    kops = namespace.ops
    return [
        tuple(t.shape)
        for t in (
            x[:5, :],
            x[:5, 3:, 3:12:2],
            x[..., -1],
            x[:, None, ...],
            x[5],
            x[-1:, -1],
            sequence[:, :10],
            sequence[:, ::2, 2:],
            kops.get_item(sequence, (slice(None), -1)),
            kops.get_item(x, np.s_[:3, 1]),
        )
    ]


@pytest.mark.parity
def test_slicing_an_unknown_size_leaves_it_unknown_as_keras():
    ours = _sliced_shapes(lamina)
    assert ours == _sliced_shapes(keras)
    assert ours[6] == (None, None, 8)  # not the probe's (None, 10, 8): a sequence may be shorter


def _diagonal_shapes(namespace):
    kops, Input = namespace.ops, namespace.Input  # noqa: N806 - Keras's name
    return [
        tuple(t.shape)
        for t in (
            kops.diag(Input((3,))),
            kops.diag(Input((3,)), k=1),
            kops.diag(Input((3,), batch_size=4)),
            kops.diagonal(Input((3, 3))),
            kops.diagonal(Input((3, 4)), axis1=1, axis2=2),
            kops.diagonal(Input((3, 4)), offset=1, axis1=0, axis2=-1),
        )
    ]


@pytest.mark.parity
def test_a_diagonal_over_an_unknown_size_has_unknown_length_as_keras():
    ours = _diagonal_shapes(lamina)
    assert ours == _diagonal_shapes(keras)
    assert ours[0] == (None,)  # not the probe's (3,): a batch of 2 has a diagonal of 2
