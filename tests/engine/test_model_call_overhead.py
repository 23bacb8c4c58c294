"""A built model's call on one batch: the Python work around its layers' own `call`s.

On a GPU, predict and evaluate are bound by host work per batch. A Sequential or functional
model's usual call (one tensor, built layers, no hooks or masks) runs its layers through
`Layer._call_in_run` and binds a lone input without converting it again: a few Python calls
per layer besides the layers' own, where the general path (`Layer.__call__`, torch's
`Module.__call__`, `Layer.forward`) cost about ten. The behaviour tests below hold that the short
way still honours what the general path does: hooks added later, casts, shape errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.dtype_policies import policy as dtype_policies
from lamina.engine import layer as layer_module
from tests.op_counts import python_calls


def _stack() -> list:
    """Six layers that no channels-first plan takes: each call goes its own way."""
    return [
        layers.Dense(4, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(4),
        layers.Activation("tanh"),
        layers.BatchNormalization(),
        layers.Dense(2, activation="softmax"),
    ]


def _model(kind: str):
    if kind == "sequential":
        return lamina.Sequential([lamina.Input((3,)), *_stack()])
    inputs = x = lamina.Input((3,))
    for layer in _stack():
        x = layer(x)
    return lamina.Model(inputs, x)


def _layer_chain(model):
    """The layers' own `call`s one after the other: what a hand-written loop runs."""
    chain = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]

    def run(x):
        for layer in chain:
            x = layer.call(x, training=False) if layer._call_takes_training else layer.call(x)
        return x

    return chain, run


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_a_model_call_adds_few_python_calls_to_its_layers_calls(kind, monkeypatch):
    # Once any layer of the process added a loss, or any policy but float32 was made, every
    # call takes the general path (`layer._losses_added`, `policy.mixed_in_use`): as in a
    # fresh process, neither has happened (other tests in this process may have done both).
    monkeypatch.setattr(layer_module, "_losses_added", [False])
    monkeypatch.setattr(dtype_policies, "mixed_in_use", [False])
    model = _model(kind)
    x = torch.ones(4, 3)
    chain, run = _layer_chain(model)
    with torch.inference_mode(), layer_module.inference_calls():
        model(x)  # the first call plans and records what later calls reuse
        torch.testing.assert_close(model(x), run(x), rtol=0, atol=0)
        overhead = python_calls(lambda: model(x)) - python_calls(lambda: run(x))
    # 24 (sequential) and 26 (functional) now, 4 of them the Dense layers' input checks;
    # 62 and 70 before, through each layer's __call__ and the model's general path.
    assert overhead <= 5 * len(chain), overhead


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_a_hook_added_after_a_predict_runs_in_the_next_one(kind):
    model = _model(kind)
    x = np.ones((8, 3), "float32")
    before = model.predict(x, batch_size=4, verbose=0)
    dense = next(layer for layer in model.layers if isinstance(layer, layers.Dense))
    seen = []
    handle = dense.register_forward_hook(
        lambda module, args, output: seen.append(output) or 0 * output
    )
    hooked = model.predict(x, batch_size=4, verbose=0)
    handle.remove()
    assert len(seen) == 2  # one per batch
    assert not np.array_equal(hooked, before)
    np.testing.assert_array_equal(model.predict(x, batch_size=4, verbose=0), before)


def test_a_functional_model_still_casts_and_checks_a_lone_input_after_plain_calls():
    model = _model("functional")
    x = torch.linspace(-1, 1, 12).reshape(4, 3)
    with torch.inference_mode(), layer_module.inference_calls():
        first = model(x)
        assert model(x) is not None  # bound directly now
        widened = model(x.double())  # another dtype: converted, as on the first call
        with pytest.raises(ValueError, match=r"shape \(None, 3\)"):
            model(torch.ones(4, 5))
        again = model(x)
    assert widened.dtype == torch.float32
    torch.testing.assert_close(widened, first, rtol=0, atol=0)
    torch.testing.assert_close(again, first, rtol=0, atol=0)


def test_a_sequential_still_refuses_another_rank_after_plain_calls():
    model = _model("sequential")
    with torch.inference_mode(), layer_module.inference_calls():
        model(torch.ones(4, 3))
        model(torch.ones(4, 3))
        with pytest.raises(ValueError, match=r"expects a 2-D input like \(None, 3\)"):
            model(torch.ones(4, 1, 3))


def test_a_sequential_runs_a_layer_added_after_plain_calls():
    model = _model("sequential")
    x = torch.ones(4, 3)
    with torch.inference_mode(), layer_module.inference_calls():
        model(x)
        model(x)
        model.add(layers.Dense(5))
        assert tuple(model(x).shape) == (4, 5)
