"""lamina.ops on symbolic tensors, inside custom layers and functional models; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, ops


def test_shape_is_a_tuple_of_ints_on_real_tensors_and_has_none_on_symbolic():
    assert ops.shape(torch.zeros(2, 3)) == (2, 3)
    assert all(type(d) is int for d in ops.shape(np.zeros((4, 5))))
    assert ops.shape(layers.Input((3,))) == (None, 3)


SYMBOLIC_CASES = [
    ("mean-axis", lambda x: ops.mean(x, axis=1), (None, 5)),
    ("reshape", lambda x: ops.reshape(x, (-1, 20)), (None, 20)),
    ("transpose", lambda x: ops.transpose(x, (0, 2, 1)), (None, 5, 4)),
    ("expand", lambda x: ops.expand_dims(x, -1), (None, 4, 5, 1)),
    ("concat", lambda x: ops.concatenate([x, x], axis=-1), (None, 4, 10)),
    ("stack", lambda x: ops.stack([x, x], axis=1), (None, 2, 4, 5)),
    ("softmax", lambda x: ops.nn.softmax(x), (None, 4, 5)),
    ("matmul", lambda x: ops.matmul(x, ops.transpose(x, (0, 2, 1))), (None, 4, 4)),
    ("einsum", lambda x: ops.einsum("bij,bkj->bik", x, x), (None, 4, 4)),
    ("where", lambda x: ops.where(ops.greater(x, 0), x, 0.0), (None, 4, 5)),
    ("cast", lambda x: ops.cast(x, "int32"), (None, 4, 5)),
    ("split", lambda x: ops.split(x, 5, axis=-1)[0], (None, 4, 1)),
    ("resize", lambda x: ops.image.resize(ops.expand_dims(x, -1), (8, 10)), (None, 8, 10, 1)),
]


@pytest.mark.parametrize(
    ("case", "fn", "shape"), SYMBOLIC_CASES, ids=[c[0] for c in SYMBOLIC_CASES]
)
def test_ops_on_keras_tensors_record_nodes_that_replay(case, fn, shape):
    inputs = layers.Input((4, 5))
    outputs = fn(inputs)
    assert isinstance(outputs, lamina.KerasTensor)
    assert outputs.shape == shape
    model = lamina.Model(inputs, outputs)
    x = torch.randn(3, 4, 5)
    torch.testing.assert_close(model(x), fn(x))


class PositionalEmbedding(layers.Layer):
    """The seeds' layer: ops.shape / ops.arange inside call, ops.not_equal in compute_mask."""

    def __init__(self, length, vocab, dim, **kwargs):
        super().__init__(**kwargs)
        self.tokens = layers.Embedding(vocab, dim)
        self.positions = layers.Embedding(length, dim)

    def call(self, inputs):
        length = ops.shape(inputs)[-1]
        return self.tokens(inputs) + self.positions(ops.arange(start=0, stop=length, step=1))

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)


def test_ops_inside_a_custom_layer_work_symbolically_and_eagerly():
    inputs = layers.Input((6,), dtype="int32")
    embedded = PositionalEmbedding(6, 10, 4)(inputs)
    assert embedded.shape == (None, 6, 4)
    model = lamina.Model(inputs, embedded)
    tokens = torch.tensor([[1, 2, 3, 0, 0, 0]], dtype=torch.int32)
    output = model(tokens)
    assert output.shape == (1, 6, 4)
    assert torch.equal(output._keras_mask.cpu(), tokens != 0)


def test_convert_to_tensor_keeps_strings_as_a_numpy_array_a_string_model_takes():
    strings = ops.convert_to_tensor([["a b"], ["c"]])
    assert isinstance(strings, np.ndarray)
    assert strings.dtype.kind == "U"
    assert ops.convert_to_tensor(np.array([b"x"])).tolist() == ["x"]
    vectorizer = layers.TextVectorization(vocabulary=["a", "b", "c"])
    text = lamina.Input(shape=(1,), dtype="string")
    model = lamina.Model(text, vectorizer(text))
    assert model(strings).tolist() == [[2, 3], [4, 0]]


def test_one_hot_of_an_index_out_of_range_is_a_row_of_zeros():
    # Keras on TensorFlow and JAX: a class id past num_classes (or negative) encodes nothing.
    encoded = ops.one_hot(np.array([[1], [3], [-1]]), 3)
    assert encoded.tolist() == [[[0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]]
    assert ops.shape(ops.one_hot(layers.Input((1,), dtype="int32"), 3)) == (None, 1, 3)


def test_convert_to_tensor_of_a_read_only_array_copies_it_without_a_warning():
    array = np.arange(4, dtype="float32")
    array.flags.writeable = False  # pandas' to_numpy() under copy-on-write gives such views
    tensor = ops.convert_to_tensor(array, dtype="int32")  # warnings are errors in this suite
    tensor += 1
    assert tensor.tolist() == [1, 2, 3, 4] and array.tolist() == [0, 1, 2, 3]


def test_arange_is_int32_like_keras_and_follows_the_meta_device():
    assert ops.arange(3).dtype == torch.int32
    with torch.device("meta"):
        assert ops.arange(3).is_meta
        assert ops.zeros((2,)).is_meta


def test_convert_round_trip_and_python_defaults():
    array = np.arange(6, dtype="float64").reshape(2, 3)
    assert ops.convert_to_tensor(array).dtype == torch.float64  # NumPy keeps its dtype
    assert ops.convert_to_tensor([1.5, 2.0]).dtype == torch.float32
    assert ops.convert_to_tensor([1, 2]).dtype == torch.int32
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.convert_to_tensor(array)), array)
    grad_tensor = torch.ones(2, requires_grad=True) * 2
    assert isinstance(ops.convert_to_numpy(grad_tensor), np.ndarray)


def test_text_converts_to_a_numpy_array_that_string_inputs_take():
    # Keras's TensorFlow backend gives a tf.string tensor; lamina's string tensors are NumPy arrays.
    text = ops.convert_to_tensor(["b", "c"])
    assert isinstance(text, np.ndarray) and text.tolist() == ["b", "c"]
    assert ops.convert_to_tensor([b"b"], dtype="string").tolist() == ["b"]  # one form: str
    words = layers.Input((1,), dtype="string", name="word")
    model = lamina.Model(words, layers.StringLookup(vocabulary=["a", "b", "c"])(words))
    indices = model.predict({"word": ops.convert_to_tensor([["c"], ["a"]])}, verbose=0)
    np.testing.assert_array_equal(indices, [[3], [1]])
    with pytest.raises(
        TypeError, match="dtype='string' expects text; received an array of dtype int64"
    ):
        ops.convert_to_tensor(np.array([1]), dtype="string")


def test_numeric_ops_on_text_say_so_eagerly_and_symbolically():
    with pytest.raises(TypeError, match=r"computes on numbers; received text.*Hint: map text"):
        ops.mean(np.array(["a", "b"]))
    words = layers.Input(shape=(), dtype="string")
    with pytest.raises(ValueError, match=r"'mean'.*received a string tensor.*Hint: map"):
        ops.mean(words)


def test_ops_that_only_move_elements_take_text_eagerly_and_in_a_graph():
    # keras-io's structured-data examples: `lookup(ops.expand_dims(inputs[name], -1))` on a
    # string Input of shape ().
    text = np.array(["a", "b", "c"])
    assert ops.expand_dims(text, -1).tolist() == [["a"], ["b"], ["c"]]
    assert ops.reshape(text, (-1, 1)).shape == (3, 1)
    assert ops.squeeze(np.array([["a"], ["b"]]), axis=[1]).tolist() == ["a", "b"]
    words = layers.Input(shape=(), dtype="string")
    column = ops.expand_dims(words, -1)
    assert (column.shape, column.dtype) == ((None, 1), "string")
    rows = ops.reshape(words, (-1, 1))
    assert (rows.shape, rows.dtype) == ((None, 1), "string")
    lookup = layers.StringLookup(vocabulary=["a", "b"], num_oov_indices=0, output_mode="one_hot")
    model = lamina.Model(words, lookup(column))
    np.testing.assert_array_equal(
        model.predict(np.array(["b", "a"]), verbose=0), [[0.0, 1.0], [1.0, 0.0]]
    )
    back = lamina.models.Model.from_config(model.get_config())  # the graph's op is rebuilt
    np.testing.assert_array_equal(back.predict(np.array(["a"]), verbose=0), [[1.0, 0.0]])


def test_resize_uint8_in_uint8_out_rounded():
    image = np.array([[[[0], [255]]]], dtype="uint8")  # (1, 1, 2, 1)
    out = ops.image.resize(image, (1, 4))
    assert out.dtype == torch.uint8
    # half-pixel centres: 0, 0.25*255 rounded, 0.75*255 rounded, 255
    assert out[0, 0, :, 0].tolist() == [0, 64, 191, 255]


ERROR_CASES = [
    (
        "split",
        lambda: ops.split(torch.zeros(5), 2),
        r"split\(\) expects an axis whose size \(5\) divides into 2 equal sections",
    ),
    (
        "resize-mode",
        lambda: ops.image.resize(torch.zeros(1, 4, 4, 1), (2, 2), interpolation="area"),
        r"resize\(\) expects interpolation in \['bicubic', 'bilinear', 'nearest'\]",
    ),
    (
        "resize-rank",
        lambda: ops.image.resize(torch.zeros(4, 4), (2, 2)),
        r"resize\(\) expects images of rank 3 .* received shape \(4, 4\)",
    ),
    (
        "resize-size",
        lambda: ops.image.resize(torch.zeros(4, 4, 1), (2,)),
        r"resize\(\) expects size=\(height, width\)",
    ),
    (
        "convert-text-to-numbers",
        lambda: ops.convert_to_tensor(["a"], dtype="int32"),
        r"cannot convert text to dtype int32; received an array of dtype <U1.*Hint: map text",
    ),
    (
        "pad-mode",
        lambda: ops.pad(torch.zeros(2, 2), 1, mode="nearest"),
        r"pad\(\) expects mode in \['constant', 'empty', 'linear_ramp', 'edge'",
    ),
]


@pytest.mark.parametrize(
    ("case", "trigger", "pattern"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_error_messages(case, trigger, pattern):
    with pytest.raises(ValueError, match=pattern):
        trigger()


def test_symbolic_tensors_have_no_values():
    with pytest.raises(TypeError, match="convert_to_numpy\\(\\) received a symbolic KerasTensor"):
        ops.convert_to_numpy(layers.Input((3,)))
    with pytest.raises(TypeError, match="convert_to_tensor\\(\\) received a symbolic KerasTensor"):
        ops.convert_to_tensor(layers.Input((3,)))


X3 = np.random.default_rng(3).standard_normal((4, 3)).astype("float32")
Y3 = np.random.default_rng(4).standard_normal((4, 3)).astype("float32")

# Where Keras's torch backend departs from NumPy (or fails), lamina follows NumPy: checked here.
NUMPY_CASES = [
    ("cross-2d", lambda m: m.cross(X3[:, :2], Y3[:, :2]), (X3[:, :2], Y3[:, :2])),
    ("average-2d-weights", lambda m: m.average(X3, weights=np.abs(Y3)), (X3, np.abs(Y3))),
    ("vdot-flattens", lambda m: m.vdot(X3, Y3), (X3, Y3)),
    ("array_split-indices", lambda m: m.array_split(X3, [1, 2], axis=1)[1], (X3,)),
    ("histogram-2d", lambda m: m.histogram(X3, bins=3)[0], (X3,)),
    ("correlate-longer-second", lambda m: m.correlate(X3[0], Y3.ravel()), (X3[0], Y3.ravel())),
    ("std-no-axis", lambda m: m.std(X3, axis=(), keepdims=True), (X3,)),
    ("nanmax-int-no-axis", lambda m: m.nanmax((X3 * 9).astype("int32"), axis=()), (X3,)),
    ("nanmin-int-no-axis", lambda m: m.nanmin((X3 * 9).astype("int32"), axis=()), (X3,)),
    ("median-of-one-inf", lambda m: m.median(np.array([[np.inf], [1.0]], "float32"), 1), ()),
    ("nanmedian-no-axis", lambda m: m.nanmedian(np.array([-np.inf, np.inf, 2.0]), axis=()), ()),
]


@pytest.mark.parametrize(("case", "fn", "args"), NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES])
@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
def test_ops_follow_numpy_where_keras_on_torch_departs(case, fn, args):
    expected = np.asarray(fn(np), dtype="float32")
    torch.testing.assert_close(
        fn(ops).to(torch.float32), torch.tensor(expected), atol=1e-5, rtol=1e-5
    )


def test_average_without_an_axis_wants_weights_shaped_like_x_as_numpy():
    # Keras's docstring (and NumPy) raise here; Keras's torch backend broadcast the weights and
    # lamina divided by their broadcast sum, two different numbers.
    weights = np.array([0.25, 0.75])
    with pytest.raises(TypeError, match="Axis must be specified"):
        np.average(np.arange(6.0).reshape(3, 2), weights=weights)
    with pytest.raises(ValueError, match=r"weights shaped like x \(3, 2\) when no axis is given"):
        ops.average(np.arange(6.0).reshape(3, 2), weights=weights)
    np.testing.assert_allclose(
        ops.average(np.arange(6.0).reshape(3, 2), 1, weights), [0.75, 2.75, 4.75]
    )


def test_unique_with_index_and_nonzero_as_a_tuple_index():
    x = np.array([3, 1, 3, 2, 1], dtype="int32")
    values, index = ops.unique(x, return_index=True)
    assert values.tolist() == [1, 2, 3] and index.tolist() == [1, 3, 0]
    mask = torch.tensor([[0, 2], [3, 0]])
    assert mask[ops.nonzero(mask)].tolist() == [2, 3]


def test_argmax_and_argmin_take_booleans():
    flags = torch.tensor([[False, True, True], [False, False, False]])
    assert ops.argmax(flags, axis=1).tolist() == [1, 0]
    assert ops.argmin(flags, axis=1).tolist() == [0, 0]


NEW_SYMBOLIC_CASES = [
    ("tensordot", lambda x: ops.tensordot(x, ops.ones((5, 2)), axes=1), (None, 4, 2)),
    ("quantile", lambda x: ops.quantile(x, 0.5, axis=-1), (None, 4)),
    ("roll", lambda x: ops.roll(x, 1, axis=1), (None, 4, 5)),
    ("slice_update", lambda x: ops.slice_update(x, (0, 0, 0), ops.zeros((1, 2, 2))), (None, 4, 5)),
    ("unstack", lambda x: ops.unstack(x, axis=1)[0], (None, 5)),
    ("arcsinh", lambda x: ops.arcsinh(x), (None, 4, 5)),
    ("conv", lambda x: ops.conv(x, ops.ones((3, 5, 2)), padding="same"), (None, 4, 2)),
    ("max_pool", lambda x: ops.max_pool(x, 2), (None, 2, 5)),
    ("layer_normalization", lambda x: ops.layer_normalization(x), (None, 4, 5)),
    (
        "attention",
        lambda x: ops.dot_product_attention(*[ops.expand_dims(x, 2)] * 3),
        (None, 4, 1, 5),
    ),
    ("patches", lambda x: ops.image.extract_patches(ops.expand_dims(x, -1), 2), (None, 2, 2, 4)),
    ("segment_sum", lambda x: ops.segment_sum(ops.transpose(x), [0, 1, 1, 0, 2]), (3, 4, None)),
    ("rearrange", lambda x: ops.rearrange(x, "b h w -> b (h w)"), (None, 20)),
]


@pytest.mark.parametrize(
    ("case", "fn", "shape"), NEW_SYMBOLIC_CASES, ids=[c[0] for c in NEW_SYMBOLIC_CASES]
)
def test_new_ops_record_nodes_on_keras_tensors(case, fn, shape):
    inputs = layers.Input((4, 5))
    outputs = fn(inputs)
    assert outputs.shape == shape
    x = torch.randn(3, 4, 5)
    torch.testing.assert_close(lamina.Model(inputs, outputs)(x), fn(x))


def test_sparsemax_projects_onto_the_simplex():
    # Keras's torch backend sums the cumulative sums (its rows do not sum to one); lamina follows
    # the definition: tau = (0.3 + 0.25 + 0.2 - 1) / 3 here.
    out = ops.nn.sparsemax(torch.tensor([[0.3, 0.2, -1.0, 0.25], [1.0, 2.0, 3.0, 0.0]]))
    expected = torch.tensor([[0.3 + 0.25 / 3, 0.2 + 0.25 / 3, 0.0, 0.25 + 0.25 / 3], [0, 0, 1, 0]])
    torch.testing.assert_close(out, expected)


def test_same_average_pooling_averages_real_elements_only():
    # TensorFlow's rule; Keras's torch backend counts its explicit (asymmetric) zero padding.
    x = torch.tensor([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    out = ops.nn.average_pool(x, 2, strides=2, padding="same")
    assert out.reshape(-1).tolist() == [1.5, 3.0]


def test_attention_logit_soft_cap_bounds_the_logits():
    q = torch.randn(1, 3, 1, 4) * 10
    k, v = torch.randn(1, 5, 1, 4) * 10, torch.randn(1, 5, 1, 4)
    out = ops.nn.dot_product_attention(q, k, v, attn_logits_soft_cap=2.0)
    logits = torch.einsum("bqhd,bkhd->bhqk", q, k) / 2.0
    weights = torch.softmax(2.0 * torch.tanh(logits / 2.0), dim=-1)
    torch.testing.assert_close(out, torch.einsum("bhqk,bkhd->bqhd", weights, v))


def test_gaussian_blur_spreads_an_impulse_as_a_normalised_2d_gaussian():
    # Keras's torch backend blurs along one axis only here; lamina blurs in 2-D as TensorFlow.
    # sigma is (along x, along y), the order every Keras backend applies it in.
    x = torch.zeros(1, 7, 7, 1)
    x[0, 3, 3, 0] = 1.0
    out = ops.image.gaussian_blur(x, kernel_size=(5, 3), sigma=(0.5, 2.0))[0, ..., 0]
    rows = torch.exp(-((torch.arange(5.0) - 2) ** 2) / (2 * 2.0**2))
    cols = torch.exp(-((torch.arange(3.0) - 1) ** 2) / (2 * 0.5**2))
    expected = torch.outer(rows / rows.sum(), cols / cols.sum())
    torch.testing.assert_close(out[1:6, 2:5], expected)
    assert out.sum().item() == pytest.approx(1.0)


def test_affine_transform_honours_the_projective_terms():
    # TensorFlow's 8-parameter rule: k = c0 x + c1 y + 1 divides both coordinates (Keras's torch
    # backend drops c0 and c1). Output pixel (x=4, y=2) samples input column 4 / (1 + 0.5 * 2).
    image = torch.arange(20.0).reshape(1, 4, 5, 1)
    transform = torch.tensor([1.0, 0, 0, 0, 1, 0, 0, 0.5])
    out = ops.image.affine_transform(image, transform, interpolation="nearest")
    assert out[0, 2, 4, 0].item() == image[0, 1, 2, 0].item()  # row 2/2=1, column 4/2=2
    assert out[0, 0, 3, 0].item() == image[0, 0, 3, 0].item()  # k = 1 on the first row


def test_elastic_transform_is_seeded_smooth_and_the_identity_without_strength():
    images = torch.rand(2, 12, 10, 3)
    torch.testing.assert_close(ops.image.elastic_transform(images, alpha=0.0, seed=1), images)
    first = ops.image.elastic_transform(images, alpha=4.0, sigma=2.0, seed=7)
    again = ops.image.elastic_transform(images, alpha=4.0, sigma=2.0, seed=7)
    other = ops.image.elastic_transform(images, alpha=4.0, sigma=2.0, seed=8)
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)
    # bilinear resampling with reflection stays inside the input's range and keeps its scale
    assert first.min() >= images.min() and first.max() <= images.max()
    assert abs(first.mean().item() - images.mean().item()) < 0.1


def test_istft_inverts_stft_and_jvp_matches_the_jacobian():
    signal = torch.randn(2, 64)
    spectrum = ops.stft(signal, 16, 4, 16)
    torch.testing.assert_close(ops.istft(spectrum, 16, 4, 16, length=64), signal, atol=1e-5, rtol=0)
    x, tangent = torch.randn(3), torch.randn(3)
    out, directional = ops.linalg.jvp(lambda v: ops.sin(v) * v, (x,), (tangent,))
    torch.testing.assert_close(out, torch.sin(x) * x)
    torch.testing.assert_close(directional, (torch.cos(x) * x + torch.sin(x)) * tangent)


def test_argpartition_puts_the_kth_element_in_place():
    x = torch.tensor([[5.0, 1.0, 4.0, 2.0, 3.0], [0.0, 9.0, 7.0, 8.0, 6.0]])
    order = ops.argpartition(x, 2, axis=1).long()
    parted = torch.take_along_dim(x, order, dim=1)
    assert parted[:, 2].tolist() == [3.0, 7.0]
    assert (parted[:, :2] <= parted[:, 2:3]).all() and (parted[:, 3:] >= parted[:, 2:3]).all()


def test_cdist_in_half_precision_computes_in_float32():
    # torch's cdist kernel has no float16; Keras-on-torch rounds differently, so no parity case.
    a = torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=torch.float16)
    b = torch.tensor([[3.0, 4.0]], dtype=torch.float16)
    out = ops.cdist(a, b)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out, torch.tensor([[5.0], [2.8284]], dtype=torch.float16))


@pytest.mark.parity
def test_convert_to_tensor_of_python_complex_numbers_is_complex64_as_keras():
    from tests.parity import reference

    for value in (1 + 2j, [[1 + 3j, 2 - 5j]], np.complex128(1j)):
        theirs = reference.keras.ops.convert_to_tensor(value).dtype
        assert ops.convert_to_tensor(value).dtype == theirs, value


def test_python_scalars_convert_without_a_float64_intermediate(monkeypatch):
    # As Keras's core_test, where torch.export would record a float64 constant: a Python float
    # goes straight to the requested dtype, never through NumPy's float64.
    import lamina.ops.core as core

    def no_numpy(*args, **kwargs):
        raise AssertionError("a Python scalar went through np.asarray")

    monkeypatch.setattr(core.np, "asarray", no_numpy)
    assert ops.convert_to_tensor(1e-7, dtype="float32").dtype == torch.float32
    assert ops.convert_to_tensor(2).dtype == torch.int32


def test_functional_models_run_ops_whose_sizes_depend_on_the_data():
    inputs = lamina.Input((3,))
    coords = lamina.Input((2,))
    model = lamina.Model(
        [inputs, coords],
        [
            ops.nonzero(inputs)[1],
            ops.unique(inputs),
            ops.repeat(inputs, [1, 2], axis=0),
            ops.meshgrid(coords, coords)[0],
            ops.concatenate([inputs, ops.ones((2, 3))], axis=0),
        ],
    )
    assert [tuple(t.shape) for t in model.outputs] == [
        (None,),
        (None,),
        (None, 3),
        (None, None),
        (None, 3),
    ]
    x = np.array([[0.0, 2.0, 2.0], [5.0, 0.0, 0.0]], dtype="float32")
    columns, values, repeated, grid, joined = model([x, np.arange(4.0).reshape(2, 2)])
    assert columns.tolist() == [1, 2, 0]
    assert values.tolist() == [0.0, 2.0, 5.0]
    assert repeated.tolist() == [x[0].tolist(), x[1].tolist(), x[1].tolist()]
    assert grid.shape == (4, 4)  # meshgrid counts a 2-D input as its flattened elements
    assert grid[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert joined.shape == (4, 3)
