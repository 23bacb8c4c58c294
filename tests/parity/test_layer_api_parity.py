"""Keras's public Layer API beyond call and weights, against Keras: `path`, `_flatten_layers`,
`stateless_call`, `compute_output_spec`, the introspection attributes, InputSpec and InputLayer."""

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import keras


class _Pair:
    """The same nested model (a subclassed model over a block of two Dense layers), built by
    either framework."""

    @staticmethod
    def make(k):
        class Block(k.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.first = k.layers.Dense(3, name="first")
                self.second = k.layers.Dense(2, name="second")

            def call(self, x):
                return self.second(self.first(x))

        class Net(k.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.block = Block(name="block")
                self.head = k.layers.Dense(1, name="head")

            def call(self, x):
                return self.head(self.block(x))

        net = Net(name="net")
        net(np.zeros((1, 4), "float32"))
        return net


def _nested_sequential(k):
    inner = k.Sequential(
        [k.Input((4,), name="inner_in"), k.layers.Dense(3, name="a"), k.layers.Dense(2, name="b")],
        name="inner",
    )
    return k.Sequential(
        [k.Input((4,), name="outer_in"), inner, k.layers.Dense(1, name="top")], name="outer"
    )


def _functional(k):
    x = k.Input((4,), name="x")
    y = k.layers.Dense(2, name="d2")(k.layers.Dense(3, name="d1")(x))
    return k.Model(x, y, name="func")


@pytest.mark.parametrize("make", [_Pair.make, _nested_sequential, _functional])
@pytest.mark.parametrize(("include_self", "recursive"), [(True, True), (False, False)])
def test_flatten_layers_and_paths_match_keras(make, include_self, recursive):
    theirs, ours = make(keras), make(lamina)

    def listed(model):
        layers = model._flatten_layers(include_self=include_self, recursive=recursive)
        return [(layer.name, layer.path) for layer in layers]

    assert listed(ours) == listed(theirs)


def test_path_of_a_layer_is_none_until_built_then_its_scope():
    layer = lamina.layers.Dense(2, name="alone")
    assert layer.path is None
    layer(torch.zeros(1, 3))
    assert layer.path == "alone"
    assert lamina.layers.InputLayer(shape=(2,)).path is None  # Keras's None too


def _bn_model(k):
    return k.Sequential(
        [
            k.Input((3,)),
            k.layers.Dense(4, kernel_regularizer=k.regularizers.L2(0.1), activity_regularizer="l1"),
            k.layers.BatchNormalization(),
        ]
    )


def test_stateless_call_matches_keras_and_leaves_the_layer_unchanged():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)).astype("float32")
    theirs, ours = _bn_model(keras), _bn_model(lamina)
    ours.set_weights(theirs.get_weights())
    trainable = [
        rng.standard_normal(tuple(v.shape)).astype("float32") for v in ours.trainable_variables
    ]
    non_trainable = [np.asarray(v.numpy()) + 0.5 for v in ours.non_trainable_variables]
    before = [w.copy() for w in ours.get_weights()]

    def run(model, convert):
        out, state, losses = model.stateless_call(
            [convert(v) for v in trainable],
            [convert(v) for v in non_trainable],
            convert(x),
            training=True,
            return_losses=True,
        )
        as_numpy = lambda t: np.asarray(keras.ops.convert_to_numpy(t))  # noqa: E731
        return (
            as_numpy(out),
            [as_numpy(s) for s in state],
            sorted(float(as_numpy(v)) for v in losses),
        )

    expected = run(theirs, keras.ops.convert_to_tensor)
    got = run(ours, torch.as_tensor)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)
    for g, e in zip(got[1], expected[1], strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-5)
    for kept, now in zip(before, ours.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
    assert not ours.layers[0]._activity_losses  # the stateless call's penalty went nowhere


def test_stateless_call_gradients_reach_the_given_values():
    layer = lamina.layers.Dense(1)
    layer(torch.zeros(1, 2))
    kernel = torch.ones(2, 1, requires_grad=True)
    out, _ = layer.stateless_call([kernel, torch.zeros(1)], [], torch.full((1, 2), 2.0))
    out.sum().backward()
    assert kernel.grad.tolist() == [[2.0], [2.0]]
    assert layer.kernel.grad is None


def test_stateless_call_returns_the_seed_state_and_keeps_the_layer_s():
    layer = lamina.layers.Dropout(0.5, seed=3)
    layer(torch.ones(2, 2))
    (state,) = layer.non_trainable_variables
    kept = state.clone()
    _, (new_state,) = layer.stateless_call([], [state], torch.ones(4, 4), training=True)
    assert torch.equal(state, kept)
    assert int(new_state[1]) == int(kept[1]) + 1


def test_stateless_call_refuses_an_unbuilt_layer_or_a_wrong_count():
    with pytest.raises(ValueError, match="built"):
        lamina.layers.Dense(1).stateless_call([], [], torch.ones(1, 2))
    layer = lamina.layers.Dense(1)
    layer(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="trainable_variables"):
        layer.stateless_call([torch.ones(2, 1)], [], torch.ones(1, 2))


@pytest.mark.parametrize(
    ("name", "config", "shape"),
    [
        ("Dense", {"units": 3}, (None, 4)),
        ("Conv2D", {"filters": 2, "kernel_size": 3}, (None, 8, 8, 1)),
        ("LSTM", {"units": 3, "return_sequences": True}, (None, 5, 2)),
        ("Embedding", {"input_dim": 5, "output_dim": 2}, (None, 7)),
    ],
)
def test_compute_output_spec_matches_keras(name, config, shape):
    dtype = "int32" if name == "Embedding" else "float32"
    expected = getattr(keras.layers, name)(**config).compute_output_spec(
        keras.KerasTensor(shape, dtype=dtype)
    )
    layer = getattr(lamina.layers, name)(**config)
    got = layer.compute_output_spec(lamina.KerasTensor(shape, dtype=dtype))
    assert (got.shape, got.dtype) == (expected.shape, expected.dtype)
    assert not layer._inbound_nodes  # no node recorded: that is symbolic_call's job
    assert layer.symbolic_call(lamina.KerasTensor(shape, dtype=dtype)).shape == expected.shape
    assert len(layer._inbound_nodes) == 1


def _introspected(k, x):
    layer = k.layers.Dense(2, name="d", autocast=False)
    layer(x)
    return (
        layer.input_dtype,
        layer.autocast,
        layer.supports_jit,
        layer.metrics_variables,
        sorted(layer.torch_params),
        k.layers.Dropout(0.1).call_signature_parameters,
        k.layers.MultiHeadAttention(2, 2).call_signature_parameters,
    )


def test_introspection_attributes_match_keras():
    expected = _introspected(keras, np.zeros((1, 3), "float32"))
    assert _introspected(lamina, torch.zeros(1, 3)) == expected


def test_torch_params_share_memory_with_the_weights():
    layer = lamina.layers.BatchNormalization()
    layer(torch.zeros(2, 3))
    params = layer.torch_params
    assert params[layer.gamma.path] is layer.gamma
    params[layer.moving_mean.path].data.add_(1.0)
    assert layer.moving_mean.tolist() == [1.0, 1.0, 1.0]
    assert not params[layer.moving_mean.path].requires_grad


def test_metrics_variables_lists_the_metrics_state():
    class Tracked(lamina.layers.Layer):
        def __init__(self):
            super().__init__()
            self.mean = lamina.metrics.Mean()

        def call(self, x):
            return x

    layer = Tracked()
    assert [tuple(v.shape) for v in layer.metrics_variables] == [(), ()]


def test_add_metric_raises_as_keras_does():
    with pytest.raises(NotImplementedError, match="compile"):
        keras.layers.Dense(1).add_metric(0.0)
    with pytest.raises(NotImplementedError, match="compile"):
        lamina.layers.Dense(1).add_metric(0.0)


def test_quantized_build_and_call():
    layer = lamina.layers.Dense(4)
    layer.quantized_build((None, 8), mode="int8")
    assert layer.kernel.dtype == torch.int8
    assert tuple(layer.quantized_call(torch.ones(2, 8)).shape) == (2, 4)
    with pytest.raises(ValueError, match="quantize"):
        lamina.layers.Dense(2).quantized_call(torch.ones(1, 3))


def test_rematerialized_call_checkpoints_under_a_remat_scope():
    with lamina.RematScope(mode="full"):
        layer = lamina.layers.Dense(2)
    layer(torch.zeros(1, 3))
    wrapped = layer.rematerialized_call(layer.call, torch.ones(1, 3))
    assert wrapped is not layer.call
    torch.testing.assert_close(wrapped(torch.ones(1, 3)), layer.call(torch.ones(1, 3)))
    plain = lamina.layers.Dense(2)
    assert plain.rematerialized_call(plain.call, torch.ones(1, 3)) == plain.call


# --------------------------------------------------------------------------------------------------
# InputSpec and InputLayer


@pytest.mark.parametrize(
    "arguments",
    [
        {"ndim": 3},
        {"shape": (None, 28, 1), "dtype": "float16"},
        {"min_ndim": 2, "axes": {-1: 4}},
        {"max_ndim": 4, "optional": True},
    ],
)
def test_input_spec_config_and_repr_match_keras(arguments):
    theirs, ours = keras.layers.InputSpec(**arguments), lamina.layers.InputSpec(**arguments)
    assert ours.get_config() == theirs.get_config()
    assert repr(ours) == repr(theirs)
    again = lamina.layers.InputSpec.from_config(ours.get_config())
    assert again.get_config() == ours.get_config()
    assert (ours.name, ours.allow_last_axis_squeeze) == (None, False)


class _Checked(lamina.layers.Layer):
    def __init__(self, spec):
        super().__init__()
        self.input_spec = spec

    def call(self, x):
        return x


@pytest.mark.parametrize(
    ("spec", "fits", "refused"),
    [
        (lamina.layers.InputSpec(max_ndim=2), (2, 3), (2, 3, 4)),
        (lamina.layers.InputSpec(dtype="float32"), (2, 3), None),
        (lamina.layers.InputSpec(shape=(None, 3)), (5, 3), (5, 4)),
        (lamina.layers.InputSpec(shape=(None, 3, 1), allow_last_axis_squeeze=True), (2, 3), (2, 4)),
        ([lamina.layers.InputSpec(ndim=2)], (2, 3), (2, 3, 1)),
    ],
)
def test_a_layer_checks_kerass_input_spec_fields(spec, fits, refused):
    layer = _Checked(spec)
    layer(torch.zeros(fits))
    layer(torch.zeros(fits))  # built: the plain call path checks too
    if refused is not None:
        with pytest.raises(ValueError, match="_checked"):
            layer(torch.zeros(refused))
    else:  # Keras casts a float input to the compute dtype first; an integer one fails
        assert layer(torch.zeros(fits, dtype=torch.float64)).dtype == torch.float32
        with pytest.raises(ValueError, match="float32 input"):
            layer(torch.zeros(fits, dtype=torch.int32))


@pytest.mark.parametrize("make", [_functional, _nested_sequential])
def test_float_inputs_are_cast_to_the_compute_dtype_as_keras(make):
    theirs, ours = make(keras), make(lamina)
    ours.set_weights(theirs.get_weights())
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 4)))  # float64
    want = theirs(x)
    got = ours(x)
    assert got.dtype == want.dtype == torch.float32
    torch.testing.assert_close(got, want.detach(), rtol=1e-6, atol=1e-6)
    masked = torch.ones(2, 3, 4, dtype=torch.float64)
    masked[:, 2] = 5.0  # masked out: a mean over it would read 7/3
    masked._keras_mask = torch.tensor([[True, True, False], [True, False, False]])
    pooled = lamina.layers.GlobalAveragePooling1D()(masked)  # the cast keeps the mask
    torch.testing.assert_close(pooled, torch.ones(2, 4))
    assert pooled.dtype == torch.float32
    layer = lamina.layers.Dense(2, dtype="float64")  # a float64 layer keeps float64
    assert layer(torch.zeros(1, 3)).dtype == torch.float64
    images = torch.zeros(1, 4, 4, 3, dtype=torch.float64)
    assert keras.layers.RandomFlip()(images, training=False).dtype == torch.float32
    assert lamina.layers.RandomFlip()(images, training=False).dtype == torch.float32


def test_input_layer_flags_and_config_match_keras():
    theirs = keras.layers.InputLayer(shape=(2,), name="x", optional=True)
    ours = lamina.layers.InputLayer(shape=(2,), name="x", optional=True)
    assert ours.get_config() == theirs.get_config()
    assert (ours.sparse, ours.ragged, ours.optional) == (False, False, True)
    for flag in ("sparse", "ragged"):
        with pytest.raises(ValueError, match=f"{flag}=True"):
            lamina.layers.InputLayer(shape=(2,), **{flag: True})


@pytest.mark.parity
@pytest.mark.parametrize(
    "name, config",
    [
        ("GlobalMaxPooling1D", {}),
        ("GlobalAveragePooling1D", {}),
        ("GlobalMaxPooling2D", {}),
        ("Embedding", {"input_dim": 4, "output_dim": 2, "mask_zero": True}),
        ("Embedding", {"input_dim": 4, "output_dim": 2}),
        ("Dot", {"axes": 1}),
    ],
)
def test_supports_masking_matches_keras(name, config):
    ours = getattr(lamina.layers, name)(**config).supports_masking
    assert ours == getattr(keras.layers, name)(**config).supports_masking
