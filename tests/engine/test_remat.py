"""remat (torch.utils.checkpoint): the same values and gradients, the function run again in the
backward pass; RematScope: layers created inside it are rematerialized as its mode says."""

import numpy as np
import pytest
import torch

import lamina
from tests.parity import reference


class Counted(lamina.layers.Layer):
    """y = tanh(x) * 3, counting how often `call` runs (a recomputation runs it again)."""

    def __init__(self, units=None, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0
        self.units = units

    def call(self, x):
        self.calls += 1
        y = torch.tanh(x) * 3.0
        return y if self.units is None else y.repeat(1, self.units)


def grad_of(fn, x, cotangent):
    x = torch.tensor(x, requires_grad=True)
    out = fn(x)
    (grad,) = torch.autograd.grad(out, x, torch.tensor(cotangent))
    return out.detach().numpy(), grad.numpy()


@pytest.mark.parity
def test_remat_values_and_gradients_match_keras_and_the_plain_function():
    def fn(t):
        return torch.sin(t) * t + t**3

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5)).astype("float32")
    cotangent = rng.standard_normal((4, 5)).astype("float32")
    keras_out, keras_grad = reference.keras_remat_values_and_grads(fn, x, cotangent)
    out, grad = grad_of(lamina.remat(fn), x, cotangent)
    plain_out, plain_grad = grad_of(fn, x, cotangent)
    np.testing.assert_allclose(out, keras_out, rtol=1e-6)
    np.testing.assert_allclose(grad, keras_grad, rtol=1e-6)
    np.testing.assert_allclose(grad, plain_grad, rtol=1e-6)
    np.testing.assert_allclose(out, plain_out, rtol=1e-6)


def test_remat_recomputes_in_the_backward_pass_only_when_gradients_flow():
    calls = []

    def fn(t):
        calls.append(1)
        return torch.exp(t)

    block = lamina.remat(fn)
    x = torch.ones(3, requires_grad=True)
    block(x).sum().backward()
    assert len(calls) == 2  # forward, then again for the backward pass
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, np.e), rtol=1e-6)
    with torch.no_grad():
        block(x)
    assert len(calls) == 3


def test_full_scope_rematerializes_layers_created_in_it_with_equal_gradients():
    with lamina.RematScope(mode="full"):
        inside = Counted()
    outside = Counted()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3)).astype("float32")
    cotangent = rng.standard_normal((2, 3)).astype("float32")
    out_in, grad_in = grad_of(inside, x, cotangent)
    with lamina.RematScope(mode="full"):  # the mode is taken at creation, not at call
        out_out, grad_out = grad_of(outside, x, cotangent)
    assert (inside.calls, outside.calls) == (2, 1)
    np.testing.assert_array_equal(out_in, out_out)
    np.testing.assert_array_equal(grad_in, grad_out)


def test_list_of_layers_and_larger_than_choose_layers():
    with lamina.RematScope(mode="list_of_layers", layer_names=["chosen"]):
        chosen, other = Counted(name="chosen"), Counted(name="other")
    with lamina.RematScope(mode="larger_than", output_size_threshold=10):
        large, small = Counted(units=4), Counted(units=1)  # outputs of 2*12 and 2*3 elements
    x = np.ones((2, 3), "float32")
    for layer in (chosen, other, large, small):
        cotangent = np.ones((2, 3 * (layer.units or 1)), "float32")
        grad_of(layer, x, cotangent)  # "larger_than" probes the output shape once per shape
        layer.calls = 0
        grad_of(layer, x, cotangent)
    assert [layer.calls for layer in (chosen, other, large, small)] == [2, 1, 2, 1]


def test_activations_mode_recomputes_the_activation_alone():
    activation_calls = []

    def counted_relu(t):
        activation_calls.append(1)
        return torch.relu(t)

    with lamina.RematScope(mode="activations"):
        dense = lamina.layers.Dense(3, activation=counted_relu)
    x = torch.ones(2, 4, requires_grad=True)
    dense(x).sum().backward()
    assert len(activation_calls) == 2
    assert dense.activation is counted_relu  # restored after the call


def test_dropout_under_remat_replays_its_mask():
    with lamina.RematScope(mode="full"):
        dropout = lamina.layers.Dropout(0.5, seed=3)
    x = torch.ones(64, requires_grad=True)
    out = dropout(x, training=True)
    out.sum().backward()
    kept = (out != 0).float()
    np.testing.assert_array_equal(x.grad.numpy(), (kept * 2.0).numpy())


def test_a_model_of_rematerialized_layers_trains_as_without():
    def build():
        lamina.utils.set_random_seed(5)
        inputs = lamina.Input((4,))
        hidden = lamina.layers.Dense(8, activation="relu")(inputs)
        model = lamina.Model(inputs, lamina.layers.Dense(1)(hidden))
        model.compile(optimizer="sgd", loss="mse")
        return model

    plain = build()
    with lamina.RematScope():
        checkpointed = build()
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((6, 4)).astype("float32"), rng.standard_normal((6, 1))
    for model in (plain, checkpointed):
        model.fit(x, y.astype("float32"), batch_size=3, epochs=2, shuffle=False, verbose=0)
    for ours, theirs in zip(checkpointed.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match=r"`mode` to be one of \['full', 'activations'"):
        lamina.RematScope(mode="everything")
