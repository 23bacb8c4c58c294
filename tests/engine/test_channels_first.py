"""The channels-first hand-off between a model's spatial layers (engine/channels_first.py): the
same numbers to the bit as layers that view their inputs channels-first and their outputs back
one by one, fewer permutes, and every tensor anyone can see (a model output, a hooked layer's
output or input) still the one the gradient flows through."""

from __future__ import annotations

import pytest
import torch

import lamina
from lamina import layers
from lamina.dtype_policies import policy
from lamina.engine import channels_first
from lamina.engine import layer as layer_module
from tests.op_counts import CountOps


def residual_model():
    torch.manual_seed(0)
    inputs = lamina.Input((6, 6, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(inputs)
    x = layers.BatchNormalization()(x)
    body = layers.Conv2D(4, 3, padding="same", use_bias=False)(x)
    body = layers.BatchNormalization(name="body_bn")(body)
    x = layers.Activation("relu", name="block_relu")(layers.Add()([body, x]))
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.5, seed=3)(x)
    scores = layers.Dense(3)(layers.GlobalAveragePooling2D()(x))
    return lamina.Model(inputs, scores)


def cnn_model():
    torch.manual_seed(0)
    return lamina.Sequential(
        [
            lamina.Input((6, 6, 3)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Conv2D(4, 3, padding="same"),
            layers.Activation("relu"),
            layers.Flatten(),
            layers.Dense(3),
        ]
    )


def step(model, x, training=True):
    """Outputs, input gradient and weight gradients of one forward and backward."""
    torch.manual_seed(7)  # the unseeded Dropout's draws
    x = x.clone().requires_grad_()
    model.zero_grad()
    out = model(x, training=training)
    (out * torch.arange(1.0, 4.0)).sum().backward()
    return [out.detach(), x.grad, *[p.grad.clone() for p in model.parameters()]]


@pytest.fixture
def plan_followed():
    """Whatever other tests did in this process: no mixed policy in use (the float32 path
    untouched by autocast's checks; tests/mixed_precision/test_fast_paths.py follows plans
    under one); and a loss added somewhere, which does not matter."""
    saved = policy.mixed_in_use[0], layer_module._losses_added[0]
    policy.mixed_in_use[0], layer_module._losses_added[0] = False, True
    yield
    policy.mixed_in_use[0], layer_module._losses_added[0] = saved


def no_plan(monkeypatch):
    monkeypatch.setattr(channels_first, "role", lambda layer: None)


@pytest.mark.parametrize("make", [residual_model, cnn_model])
@pytest.mark.parametrize("training", [True, False])
def test_the_hand_off_changes_no_number_and_saves_permutes(
    make, training, monkeypatch, plan_followed
):
    x = torch.randn(2, 6, 6, 3, generator=torch.Generator().manual_seed(1))
    model = make()
    step(model, x, training)
    with CountOps() as handing:
        got = step(model, x, training)
    no_plan(monkeypatch)
    model = make()
    step(model, x, training)
    with CountOps() as viewing:
        expected = step(model, x, training)
    for a, b in zip(got, expected, strict=True):
        assert torch.equal(a, b)
    # Each convolution still views its Keras-shaped kernel (and its gradient) in torch's layout.
    assert handing.counts["permute"] <= viewing.counts["permute"] - 8, (handing, viewing)


def test_a_model_output_stays_the_tensor_its_consumers_use():
    # Grad-CAM: the features the model returns are the ones the scores are computed from.
    inputs = lamina.Input((6, 6, 3))
    features = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.BatchNormalization()(features)
    scores = layers.Dense(3)(layers.GlobalAveragePooling2D()(x))
    model = lamina.Model(inputs, [features, scores])
    for training in (False, True):
        features_out, scores_out = model(torch.rand(2, 6, 6, 3), training=training)
        (gradient,) = torch.autograd.grad(scores_out[:, 1].sum(), features_out)
        assert gradient.shape == (2, 6, 6, 4) and gradient.abs().sum() > 0


def test_a_hook_added_after_the_plan_sees_the_tensors_the_gradient_flows_through():
    model = residual_model()
    x = torch.rand(2, 6, 6, 3)
    model(x)  # planned: every edge inside the model is channels-first
    outputs, inputs = [], []

    def output_hook(module, args, output):
        assert output.shape == (2, 6, 6, 4)  # Keras's layout, as the layer returns it
        output.register_hook(outputs.append)

    def input_hook(module, args):
        assert args[0].shape == (2, 6, 6, 4)
        args[0].register_hook(inputs.append)

    handles = [
        model.get_layer("body_bn").register_forward_hook(output_hook),
        model.get_layer("block_relu").register_forward_pre_hook(input_hook),
    ]
    model(x, training=True).sum().backward()
    assert [g.shape for g in outputs + inputs] == [(2, 6, 6, 4)] * 2
    assert outputs[0].abs().sum() > 0
    for handle in handles:
        handle.remove()
    model(x, training=True).sum().backward()
    assert len(outputs) == 1  # hooks gone: channels-first again, nothing to see


def test_a_global_forward_hook_sees_every_layer_in_keras_layout(monkeypatch):
    model = cnn_model()
    x = torch.rand(2, 6, 6, 3)
    expected = model(x)
    shapes = []

    def hook(module, args, output):
        shapes.append(tuple(output.shape))

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        got = model(x)
    finally:
        handle.remove()
    assert (2, 6, 6, 4) in shapes and (2, 3, 3, 4) in shapes
    assert not any(shape[1] == 4 and shape[-1] != 4 for shape in shapes)
    assert torch.equal(got, expected)


def test_a_mask_reaches_the_layers_after_it(monkeypatch):
    # Masking -> BatchNormalization -> BatchNormalization: the second still normalizes with the
    # statistics of the unmasked positions only.
    def make():
        torch.manual_seed(0)
        inputs = lamina.Input((3, 4, 2))
        x = layers.Masking(0.0)(inputs)
        x = layers.BatchNormalization(beta_initializer="ones")(x)
        return lamina.Model(inputs, layers.BatchNormalization()(x))

    x = torch.randn(2, 3, 4, 2, generator=torch.Generator().manual_seed(2))
    x[:, 0] = 0.0
    got = make()(x, training=True)
    no_plan(monkeypatch)
    expected = make()(x, training=True)
    assert torch.equal(got, expected)


def test_what_a_layer_cannot_take_channels_first_it_takes_as_before():
    inputs = lamina.Input((4, 4, 3))
    bias = lamina.Input((1, 1, 2))
    conv = layers.Conv2D(2, 1, kernel_initializer="ones", name="conv")
    x = layers.Add()([conv(inputs), bias])  # broadcast: the channels-last call
    x = layers.Activation("relu")(x)
    model = lamina.Model([inputs, bias], layers.Flatten()(x))
    a, b = torch.rand(1, 4, 4, 3), torch.tensor([[[[1.0, -100.0]]]])
    expected = torch.relu(a.sum(-1, keepdim=True) + b).flatten(1)
    assert torch.equal(model([a, b]), expected)
    conv.activation = lamina.activations.softmax  # no longer value by value: `call`
    expected = torch.relu(torch.softmax(a.sum(-1, keepdim=True).expand(1, 4, 4, 2), -1) + b)
    torch.testing.assert_close(model([a, b]), expected.flatten(1))


def test_a_too_small_input_is_named_in_keras_layout():
    inputs = lamina.Input((None, None, 2))
    x = layers.Conv2D(2, 1)(inputs)
    model = lamina.Model(inputs, layers.Conv2D(2, 3, name="wide")(x))
    with pytest.raises(ValueError, match=r"'wide'.*\(1, 2, 2, 2\)"):
        model(torch.rand(1, 2, 2, 2))


def test_sequential_plans_again_after_add_and_pop():
    model = cnn_model()
    x = torch.rand(2, 6, 6, 3)
    model(x)
    assert model._channels_first_plan is not None
    model.pop()
    assert model._channels_first_plan is None
    assert model(x).shape == (2, 36)
    model.add(layers.Dense(2))
    assert model(x).shape == (2, 2)
    assert len(model._channels_first_plan) == len(model.layers)


def test_torch_func_transforms_see_through_the_hand_off():
    model = residual_model()
    x = torch.randn(3, 6, 6, 3, generator=torch.Generator().manual_seed(2))
    model(x)

    def loss(inputs):
        return model(inputs).square().sum()

    eager = x.clone().requires_grad_()
    loss(eager).backward()
    torch.testing.assert_close(torch.func.grad(loss)(x), eager.grad)
    per_sample = torch.vmap(lambda sample: model(sample[None])[0])(x)
    torch.testing.assert_close(per_sample, model(x))


def test_a_planned_step_reads_no_weight_through_module_getattr(monkeypatch, plan_followed):
    # torch's Module.__getattr__ (the path of a registered weight read as an attribute) costs
    # about 1 us a lookup, host time on every step: conv, BatchNormalization and Dense read
    # their own dicts.
    model = residual_model()
    x = torch.rand(2, 6, 6, 3)
    step(model, x)
    looked_up = []
    getattr_of_module = torch.nn.Module.__getattr__

    def counting(module, name):
        looked_up.append(name)
        return getattr_of_module(module, name)

    monkeypatch.setattr(torch.nn.Module, "__getattr__", counting)
    with torch.no_grad():
        model(x, training=True)
        model(x, training=False)
    assert looked_up == []


def test_a_call_set_on_the_layer_itself_runs():
    inputs = lamina.Input((4, 4, 2))
    relu = layers.Activation("relu")
    x = relu(layers.Conv2D(2, 1, kernel_initializer="ones")(inputs))
    model = lamina.Model(inputs, layers.Conv2D(2, 1, kernel_initializer="ones")(x))
    assert model(torch.ones(1, 4, 4, 2)).min() > 0
    # An instance's own call (as tests and debugging patch one) is the one that runs.
    relu.call = lambda tensor: torch.zeros_like(tensor)
    assert torch.equal(model(torch.ones(1, 4, 4, 2)), torch.zeros(1, 4, 4, 2))
