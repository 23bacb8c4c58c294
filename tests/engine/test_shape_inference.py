"""Symbolic calls (engine/shape_inference.py) carry Keras masks: a symbolic tensor's
`_keras_mask` is a boolean KerasTensor of the mask's shape, and a layer that consumes masks gets
one while the functional graph is built, as it will when the model runs."""

import numpy as np
import pytest

import lamina
from lamina.engine.keras_tensor import KerasTensor
from tests.parity import reference

RNG = np.random.default_rng(3)
WEIGHTS = [
    RNG.normal(size=(10, 4)).astype("float32"),
    RNG.normal(size=(4, 1)).astype("float32"),
    np.zeros(1, "float32"),
]
TOKENS = np.array([[1, 2, 0, 0], [3, 4, 5, 0]], dtype="int32")


def _time_softmax_model(m):
    class TimeSoftmax(m.layers.Layer):
        """A softmax over time that needs the mask to leave padded steps out."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            if mask is None:
                raise ValueError("TimeSoftmax got no mask")
            keep = m.ops.expand_dims(m.ops.cast(mask, "float32"), -1)
            exps = m.ops.exp(inputs) * keep
            return exps / m.ops.sum(exps, axis=1, keepdims=True)

    inputs = m.Input(shape=(None,), dtype="int32")
    x = m.layers.Embedding(10, 4, mask_zero=True)(inputs)
    x = m.layers.Dense(1)(x)
    model = m.Model(inputs, TimeSoftmax()(x))
    model.set_weights(WEIGHTS)
    return model.predict(TOKENS, verbose=0)


def test_a_mask_consumer_gets_the_mask_while_the_graph_is_built():
    out = _time_softmax_model(lamina)
    assert out.shape == (2, 4, 1)
    np.testing.assert_allclose(out[:, :, 0].sum(axis=1), [1.0, 1.0], rtol=1e-6)
    assert out[0, 2:, 0].tolist() == [0.0, 0.0]


@pytest.mark.parity
def test_a_mask_consumer_computes_as_in_keras():
    ours = _time_softmax_model(lamina)
    theirs = reference.keras_run(_time_softmax_model)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_symbolic_masks_are_boolean_keras_tensors_of_the_mask_shape():
    inputs = lamina.Input(shape=(None,), dtype="int32")
    x = lamina.layers.Embedding(10, 4, mask_zero=True)(inputs)
    assert isinstance(x._keras_mask, KerasTensor)
    assert (x._keras_mask.shape, x._keras_mask.dtype) == ((None, None), "bool")
    y = lamina.layers.Dense(3)(x)  # passes the mask on unchanged
    assert y._keras_mask.shape == (None, None)
    assert lamina.layers.LSTM(2)(y)._keras_mask is None  # the time axis is gone


def test_a_layer_that_makes_no_mask_gives_none():
    inputs = lamina.Input(shape=(5,), dtype="int32")
    assert lamina.layers.Embedding(10, 4)(inputs)._keras_mask is None


@pytest.mark.parity
def test_symbolic_mask_shapes_match_keras():
    def shapes(m):
        inputs = m.Input(shape=(7, 3))
        masked = m.layers.Masking()(inputs)
        return tuple(masked._keras_mask.shape), str(masked._keras_mask.dtype)

    assert shapes(lamina) == reference.keras_run(shapes)


# A Sequential held by a custom layer and built on its first call: when that layer is called on a
# KerasTensor with an unknown time axis, the Sequential first sees a probe tensor, and must be built
# for an unknown time axis, not for the probe's size.
FEED_FORWARD_WEIGHTS = [
    RNG.normal(size=(4, 6)).astype("float32"),
    RNG.normal(size=(6,)).astype("float32"),
    RNG.normal(size=(6, 4)).astype("float32"),
    RNG.normal(size=(4,)).astype("float32"),
]
SEQUENCES = RNG.normal(size=(2, 5, 4)).astype("float32")


def _feed_forward_block_model(m):
    class FeedForward(m.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.proj = m.Sequential([m.layers.Dense(6, activation="relu"), m.layers.Dense(4)])

        def call(self, inputs):
            return inputs + self.proj(inputs)

    inputs = m.Input(shape=(None, 4))
    model = m.Model(inputs, FeedForward()(inputs))
    model.set_weights(FEED_FORWARD_WEIGHTS)
    return tuple(model.output.shape), model.predict(SEQUENCES, verbose=0)


def test_a_sequential_built_inside_a_symbolic_call_keeps_unknown_axes_unknown():
    shape, out = _feed_forward_block_model(lamina)
    assert shape == (None, None, 4)
    assert out.shape == (2, 5, 4)


@pytest.mark.parity
def test_a_sequential_built_inside_a_symbolic_call_computes_as_in_keras():
    ours_shape, ours = _feed_forward_block_model(lamina)
    theirs_shape, theirs = reference.keras_run(_feed_forward_block_model)
    assert ours_shape == theirs_shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_a_sequential_first_built_on_data_pins_its_shape_as_before():
    # Outside a probe a dimension the size of a probe is a real size.
    stack = lamina.Sequential([lamina.layers.Dense(2)])
    stack(np.zeros((3, 83, 4), "float32"))
    assert stack.input_shape == (None, 83, 4)


def test_nested_functional_model_keeps_shapes_its_layers_stated():
    # A layer that reshapes by groups of the batch fails on a probe batch size; its own
    # compute_output_shape gives the graph its shapes, and a model holding it, called on a new
    # Input, takes its outputs as its graph recorded them (Keras replays the graph symbolically).
    class GroupStd(lamina.layers.Layer):
        def call(self, inputs):
            groups = lamina.ops.reshape(inputs, (4, -1, inputs.shape[-1]))
            std = lamina.ops.mean(lamina.ops.std(groups, axis=0), axis=-1, keepdims=True)
            return lamina.ops.concatenate([inputs, lamina.ops.tile(std, (4, 1))], axis=-1)

        def compute_output_shape(self, input_shape):
            return input_shape[:-1] + (input_shape[-1] + 1,)

    inner_inputs = lamina.Input((3,))
    inner = lamina.Model(inner_inputs, lamina.layers.Dense(2)(GroupStd()(inner_inputs)))
    outer_inputs = lamina.Input((3,))
    outer = lamina.Model(outer_inputs, inner(outer_inputs))
    assert outer.output_shape == (None, 2)
    assert tuple(outer(np.ones((8, 3), "float32")).shape) == (8, 2)


def _stated_shape_layers(m):
    """Custom layers stating their output shape: one counts its calls, one does host work in
    `call` (no symbolic trace could run it), one turns int ids into float features."""
    calls = []

    class Counted(m.layers.Layer):
        def call(self, inputs):
            calls.append(1)
            return inputs * 2.0

        def compute_output_shape(self, input_shape):
            return input_shape

    class HostThreshold(m.layers.Layer):
        def call(self, inputs):
            above = np.asarray(m.ops.convert_to_numpy(inputs)) > 0.5
            return m.ops.convert_to_tensor(above.astype("float32"))

        def compute_output_shape(self, input_shape):
            return input_shape

    class IdsToFeatures(m.layers.Layer):
        def call(self, ids):
            return m.ops.one_hot(ids, 4)

        def compute_output_shape(self, input_shape):
            return (*input_shape, 4)

    inputs = m.Input((3,))
    counted = Counted()(inputs)
    ids = m.Input((2,), dtype="int32")
    features = IdsToFeatures()(ids)
    model = m.Model(inputs, HostThreshold()(counted))
    prediction = model.predict(np.full((2, 3), 0.3, "float32"), verbose=0)
    return len(calls), str(features.dtype), tuple(features.shape), prediction


def test_a_custom_layer_stating_its_shape_is_not_traced_as_in_keras():
    # Keras builds the graph from a custom layer's compute_output_shape, in the layer's compute
    # dtype, and never runs call on symbolic inputs.
    ours = _stated_shape_layers(lamina)
    theirs = reference.keras_run(_stated_shape_layers)
    assert ours[:3] == theirs[:3] == (1, "float32", (None, 2, 4))
    np.testing.assert_array_equal(ours[3], theirs[3])


# Unknown lengths under long kernels and large strides: a probe size must neither be shorter than
# the kernel (Keras builds Conv1D(4, 100) on (None, None, 1)) nor let a stride map both probes to
# one length (with probes 83 and 89, Conv1D(strides=16) made the unknown length 6).
def _unknown_length_shapes(m):
    shapes = []
    for layer in (
        m.layers.Conv1D(4, 100),
        m.layers.Conv1D(4, 3, strides=16),
        m.layers.STFTSpectrogram(frame_length=640, frame_step=240),
    ):
        model = m.Sequential([m.layers.InputLayer((None, 1)), layer])
        shapes.append(tuple(model.output_shape))
    return shapes


def test_unknown_lengths_stay_unknown_under_long_kernels_and_strides():
    shapes = _unknown_length_shapes(lamina)
    assert shapes == [(None, None, 4), (None, None, 4), (None, None, 513)]


@pytest.mark.parity
def test_unknown_lengths_under_long_kernels_match_keras():
    assert _unknown_length_shapes(lamina) == reference.keras_run(_unknown_length_shapes)


def test_a_known_length_shorter_than_the_kernel_still_names_the_kernel():
    with pytest.raises(ValueError, match=r"kernel size \(100,\).*received input shape \(None, 50"):
        lamina.Sequential([lamina.layers.InputLayer((50, 1)), lamina.layers.Conv1D(4, 100)])


def test_a_sequential_that_starts_with_a_lookup_takes_a_string_input():
    # Text cannot be probed: the Sequential traces its layers on the string input instead.
    words = ["ant", "bee", "cat"]
    encoder = lamina.Sequential(
        [
            lamina.layers.StringLookup(vocabulary=words, mask_token=None, num_oov_indices=0),
            lamina.layers.Embedding(3, 2),
        ]
    )
    text = lamina.Input(shape=(), dtype="string")
    model = lamina.Model(text, encoder(text))
    assert model.output_shape == (None, 2)
    table = encoder.layers[-1].get_weights()[0]
    got = model.predict(np.array(["cat", "ant"]), verbose=0)
    np.testing.assert_array_equal(got, table[[2, 0]])


def test_a_layers_own_compute_output_spec_is_taken_on_symbolic_calls():
    # As Keras: the stated spec gives the graph its output, and `call` runs only on data.
    calls = []

    class Canary(lamina.layers.Layer):
        def call(self, x, training=False):
            calls.append(training)
            return x.sum(-1, keepdims=True)

        def compute_output_spec(self, x, training=False):
            return lamina.KerasTensor((x.shape[0], 1), dtype="float16")

    class Inherits(lamina.layers.Layer):
        def call(self, x):
            return x * 2

        def compute_output_spec(self, x):
            return super().compute_output_spec(x)  # the inferred spec, not itself again

    class Unstated(lamina.layers.Layer):
        def call(self, x):
            return x + 1.0

        def compute_output_spec(self, *args, **kwargs):
            raise NotImplementedError  # as Keras: the shape is inferred instead

    inputs = lamina.Input((3,))
    assert Unstated()(inputs).shape == (None, 3)
    output = Canary()(inputs)
    assert (output.shape, output.dtype, calls) == ((None, 1), "float16", [])
    assert Inherits()(inputs).shape == (None, 3)
    lamina.Model(inputs, output)(np.ones((2, 3), "float32"), training=True)
    assert calls == [True]


# Unknown sizes broadcast against known ones: a probe size cannot stand for them (83 meets 2),
# Keras's static rule gives the known size.
BROADCAST_SHAPES = [
    ((None, 3), (2, None)),
    ((None, None, 3), (None, 5, 1)),
    ((None, 1), (4,)),
    ((3,), (None, None)),
]
BROADCASTING_OPS = [
    "add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "mod",
    "floor_divide", "equal", "not_equal", "greater", "less_equal", "logical_and",
    "logical_or", "logical_xor", "arctan2", "fmod", "isclose", "divide_no_nan", "heaviside",
]  # fmt: skip


def _broadcast_specs(m):
    specs = {}
    for first, second in BROADCAST_SHAPES:
        x, y = m.KerasTensor(first), m.KerasTensor(second)
        for name in BROADCASTING_OPS:
            out = getattr(m.ops, name)(x, y)
            specs[name, first, second] = (tuple(out.shape), str(out.dtype))
        out = m.ops.where(x > 0, x, y)
        specs["where", first, second] = (tuple(out.shape), str(out.dtype))
        specs["+", first, second] = tuple((x + y).shape)
    return specs


@pytest.mark.parity
def test_unknown_sizes_broadcast_against_known_ones_as_keras():
    ours = _broadcast_specs(lamina)
    assert ours["add", (None, 3), (2, None)] == ((2, 3), "float32")
    assert ours == reference.keras_run(_broadcast_specs)


def test_shapes_that_cannot_broadcast_name_the_op_and_the_sizes():
    with pytest.raises(ValueError, match=r"'add' .*\(None, 3\), \(2, 4\).*sizes 3 and 4 differ"):
        lamina.ops.add(KerasTensor((None, 3)), KerasTensor((2, 4)))


def _contracted_shapes(m):
    k = m.KerasTensor
    return {
        "inner": m.ops.inner(k((None,)), k((3,))).shape,
        "einsum": m.ops.einsum("ii", k((None, 3))).shape,
        "dot": m.ops.dot(k((None,)), k((None, 3, 2))).shape,
        "matmul": m.ops.matmul(k((None, None)), k((3, 4))).shape,
        "tensordot": m.ops.tensordot(k((None, 3, 4)), k((3, 4)), axes=[[0, 1], [1, 0]]).shape,
        "linspace": m.ops.linspace(k((None, 3, 4)), k((2, 3, 4)), 10, axis=1).shape,
        "dot_nd": m.ops.dot(k((2, 3, 4)), k((4, 4, 2))).shape,
        "dot_2d_3d": m.ops.dot(k((2, 3)), k((4, 3, 2))).shape,
        "broadcast_to": m.ops.broadcast_to(k((None, 3)), (2, 3, 3)).shape,
        "vstack": m.ops.vstack([k((None, 3)), k((None, None))]).shape,
        "dstack": m.ops.dstack([k((None, 3)), k((None, None))]).shape,
        # equal sections of an unknown size are of unknown size (83 does not divide by 2)
        "split": [t.shape for t in m.ops.split(k((None, 4)), 2)],
        "hsplit": [t.shape for t in m.ops.hsplit(k((3, None, 3)), 2)],
        "take_along_axis": m.ops.take_along_axis(
            k((None, 5, 3)), k((1, 2, None), dtype="int32"), axis=1
        ).shape,
    }


@pytest.mark.parity
def test_unknown_sizes_contracted_against_known_ones_as_keras():
    ours = _contracted_shapes(lamina)
    assert ours["matmul"] == (None, 4)
    assert ours == reference.keras_run(_contracted_shapes)
    # N-D dot follows NumPy (the last axis of x1 against the second-last of x2), eagerly too
    # (Keras on torch fails there: it calls torch.matmul).
    rng = np.random.default_rng(0)
    for key, (first, second) in {
        "dot_nd": ((2, 3, 4), (4, 4, 2)),
        "dot_2d_3d": ((2, 3), (4, 3, 2)),
    }.items():
        a, b = rng.normal(size=first), rng.normal(size=second)
        np.testing.assert_allclose(lamina.ops.dot(a, b), np.dot(a, b), rtol=1e-6)
        assert np.dot(a, b).shape == ours[key]
