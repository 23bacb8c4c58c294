"""Every Keras activation against keras.activations on random inputs (values and input
gradients), name resolution and (de)serialization; sparsemax against its definition, where
Keras 3.15's torch backend is wrong."""

import numpy as np
import pytest
import torch

import lamina
from lamina import activations
from tests.parity.reference import keras

RNG = np.random.default_rng(5)

# (name, options)
CASES = [
    ("relu", {}),
    ("relu", {"negative_slope": 0.1, "max_value": 2.0, "threshold": 0.3}),
    ("relu6", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("softmax", {"axis": -1}),
    ("log_softmax", {}),
    ("elu", {"alpha": 0.7}),
    ("selu", {}),
    ("gelu", {}),
    ("gelu", {"approximate": True}),
    ("silu", {}),
    ("swish", {}),
    ("leaky_relu", {"negative_slope": 0.3}),
    ("softplus", {}),
    ("softsign", {}),
    ("exponential", {}),
    ("hard_sigmoid", {}),
    ("hard_silu", {}),
    ("hard_swish", {}),
    ("mish", {}),
    ("linear", {}),
    ("celu", {"alpha": 0.6}),
    ("glu", {}),
    ("glu", {"axis": 1}),
    ("hard_shrink", {"threshold": 0.4}),
    ("soft_shrink", {"threshold": 0.3}),
    ("hard_tanh", {}),
    ("tanh_shrink", {}),
    ("log_sigmoid", {}),
    ("sparse_plus", {}),
    ("sparse_sigmoid", {}),
    ("squareplus", {"b": 2.0}),
    ("threshold", {"threshold": 0.2, "default_value": -3.0}),
]


@pytest.mark.parametrize(("name", "options"), CASES, ids=lambda v: str(v) if v else "")
def test_activation_matches_keras(name, options):
    x = (2.0 * RNG.standard_normal((4, 6))).astype("float32")
    ours_in = torch.tensor(x, requires_grad=True)
    theirs_in = torch.tensor(x, requires_grad=True)
    ours = getattr(activations, name)(ours_in, **options)
    theirs = getattr(keras.activations, name)(theirs_in, **options)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    cotangent = torch.tensor(RNG.standard_normal(tuple(ours.shape)).astype("float32"))
    (ours_grad,) = torch.autograd.grad(ours, ours_in, cotangent)
    (theirs_grad,) = torch.autograd.grad(theirs, theirs_in, cotangent)
    torch.testing.assert_close(ours_grad, theirs_grad, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "options",
    [
        {"threshold": 0.5},
        {"threshold": -1.0, "max_value": 2.0},
        {"threshold": 0.5, "negative_slope": 0.2, "max_value": 1.0},
    ],
    ids=str,
)
def test_relu_at_and_around_the_threshold_matches_keras_bit_for_bit(options):
    # Inputs on the threshold and below it: Keras gives +0 there, and clips the kept part at 0.
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.2, 0.5, 0.7, 3.0])
    ours = activations.relu(x, **options)
    theirs = keras.activations.relu(x, **options)
    assert ours.tolist() == theirs.tolist()
    assert torch.equal(torch.signbit(ours), torch.signbit(theirs))


def _sparsemax_by_sorting(z):
    """The simplex projection, row by row in float64 (Martins and Astudillo, 2016, Algorithm 1)."""
    out = np.zeros_like(z, dtype="float64")
    for i, row in enumerate(z.astype("float64")):
        ordered = np.sort(row)[::-1]
        cumulative = np.cumsum(ordered)
        k = max(j + 1 for j in range(len(row)) if 1 + (j + 1) * ordered[j] > cumulative[j])
        out[i] = np.maximum(row - (cumulative[k - 1] - 1) / k, 0)
    return out


@pytest.mark.parametrize(("name", "options"), CASES, ids=lambda v: str(v) if v else "")
def test_activation_on_a_keras_tensor_records_a_graph_node(name, options):
    # `keras.activations.swish(x)` between layers of a functional model, as Keras allows.
    x = (2.0 * RNG.standard_normal((4, 6))).astype("float32")
    inputs = lamina.Input((6,))
    model = lamina.Model(inputs, getattr(activations, name)(inputs, **options))
    expected = getattr(activations, name)(torch.tensor(x), **options)
    torch.testing.assert_close(model(torch.tensor(x)), expected)


def test_sparsemax_is_the_simplex_projection():
    z = (2.0 * RNG.standard_normal((8, 5))).astype("float32")
    ours = activations.sparsemax(torch.tensor(z))
    np.testing.assert_allclose(ours.numpy(), _sparsemax_by_sorting(z), atol=1e-6)
    torch.testing.assert_close(ours.sum(-1), torch.ones(8))
    by_columns = activations.sparsemax(torch.tensor(z).T, axis=0).T
    torch.testing.assert_close(by_columns, ours)
    # where the support is one entry, Keras's torch backend is right too
    one_hot_like = torch.tensor([[5.0, 0.0, -1.0]])
    torch.testing.assert_close(
        activations.sparsemax(one_hot_like), keras.activations.sparsemax(one_hot_like)
    )


def test_activation_names_resolve_and_round_trip():
    for name, _ in CASES:
        fn = activations.get(name)
        assert activations.deserialize(activations.serialize(fn)) is activations.get(
            activations.serialize(fn)
        )
    assert activations.get("sparsemax") is activations.sparsemax
    assert activations.deserialize({"class_name": "function", "config": "celu"}) is (
        activations.celu
    )
    with pytest.raises(ValueError, match=r"Unknown activation 'sparsmax'"):
        activations.get("sparsmax")


@pytest.mark.parametrize("name", ["softmax", "sigmoid", "relu", "gelu"])
def test_activations_take_variables_arrays_and_symbolic_tensors_as_keras(name):
    x = RNG.standard_normal((2, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(getattr(keras.activations, name)(keras.Variable(x)))
    ours = getattr(activations, name)
    np.testing.assert_allclose(ours(lamina.Variable(x)).detach().numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(ours(x).numpy(), expected, atol=1e-6)
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, ours(inputs))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [(1, 2), (0, 3), [1, 2, 3]])
def test_softmax_over_several_axes_matches_keras(name, axis):
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5)).astype("float32")
    ours = getattr(activations, name)(torch.tensor(x), axis=axis)
    theirs = getattr(keras.activations, name)(keras.ops.convert_to_tensor(x), axis=tuple(axis))
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs), atol=1e-6)


def test_an_activation_layer_object_saves_and_loads_both_ways(tmp_path):
    # Keras writes Dense(activation=LeakyReLU(...)) as the layer's class and config.
    def build(k):
        activation = k.layers.LeakyReLU(negative_slope=0.3, name="leaky")
        return k.Sequential([k.Input((3,)), k.layers.Dense(2, activation=activation)])

    ours, theirs = build(lamina), build(keras)
    ours.set_weights(theirs.get_weights())
    ours_config = ours.layers[0].get_config()["activation"]
    assert (
        ours_config["class_name"] == "LeakyReLU" and ours_config["config"]["negative_slope"] == 0.3
    )
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    expected = theirs.predict(x, verbose=0)
    for loaded in (
        lamina.models.load_model(tmp_path / "theirs.keras"),
        lamina.models.load_model(tmp_path / "ours.keras"),
        keras.models.load_model(tmp_path / "ours.keras"),
    ):
        assert type(loaded.layers[0].activation).__name__ == "LeakyReLU"
        np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["relu", "tanh", "gelu", "silu", "elu", "linear", "softmax"])
def test_the_elementwise_kernel_computes_the_activation_to_the_bit(name):
    activation = activations.get(name)
    kernel = activations.elementwise_kernel(activation)
    if not activations.is_elementwise(activation):
        assert kernel is None  # softmax mixes values: no kernel to take its place
        return
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(0)) * 3
    assert torch.equal(kernel(x), activation(x))
