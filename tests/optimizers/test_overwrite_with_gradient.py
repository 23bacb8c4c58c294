"""Keras's `overwrite_with_gradient`: an optimizer writes such a weight's gradient over it (float8's
next scales and amax histories) instead of taking a step, in every path `fit` uses, and gives it
no slot, no clipping, no weight decay, no loss-scale division."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, optimizers


def _pair():
    """An ordinary weight and one flagged `overwrite_with_gradient`."""
    layer = layers.Layer()
    ordinary = layer.add_weight(shape=(3,), initializer="ones", name="ordinary")
    flagged = layer.add_weight(
        shape=(3,), initializer="ones", name="flagged", overwrite_with_gradient=True
    )
    return ordinary, flagged


@pytest.mark.parametrize(
    "make",
    [
        lambda: optimizers.SGD(0.1, momentum=0.9, clipnorm=1e-3),
        lambda: optimizers.Adam(0.1, weight_decay=0.5, global_clipnorm=1e-3),
        lambda: optimizers.RMSprop(0.1, clipvalue=1e-3),
    ],
    ids=["sgd-momentum-clipnorm", "adam-decay-global-clipnorm", "rmsprop-clipvalue"],
)
def test_the_gradient_replaces_the_weight_outside_the_rule(make):
    ordinary, flagged = _pair()
    optimizer = make()
    new_value = torch.tensor([4.0, -2.0, 0.5])
    optimizer.apply_gradients([(torch.ones(3), ordinary), (new_value, flagged)])
    assert torch.equal(flagged.detach(), new_value)  # neither clipped nor decayed
    assert not torch.equal(ordinary.detach(), torch.ones(3))
    assert optimizer.parameters == [ordinary] and optimizer.overwritten == [flagged]
    assert flagged not in optimizer.torch_optimizer.state  # no slots
    optimizer.zero_grad()
    assert flagged.grad is None


def test_gradient_accumulation_keeps_the_maximum_until_the_update():
    ordinary, flagged = _pair()
    optimizer = optimizers.SGD(0.1, gradient_accumulation_steps=3)
    calls = [[1.0, 5.0, 0.0], [2.0, 1.0, -1.0], [0.5, 0.5, -3.0], [7.0, 7.0, 7.0]]
    seen = []
    for values in calls:
        optimizer.apply_gradients([(torch.ones(3), ordinary), (torch.tensor(values), flagged)])
        seen.append(flagged.detach().tolist())
    # Keras: unchanged inside the window; at its last call, the maximum of the window's values
    # (and of the zeros the window starts from); the next window starts again from zeros.
    assert seen == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [2.0, 5.0, 0.0], [2.0, 5.0, 0.0]]


def test_an_accumulation_window_survives_the_state_dict():
    ordinary, flagged = _pair()
    optimizer = optimizers.SGD(0.1, gradient_accumulation_steps=2)
    optimizer.apply([torch.ones(3), torch.tensor([4.0, 0.0, 1.0])], [ordinary, flagged])
    resumed = optimizers.SGD(0.1, gradient_accumulation_steps=2)
    resumed.build([ordinary, flagged])
    resumed.load_state_dict(optimizer.state_dict())
    resumed.apply([torch.ones(3), torch.tensor([1.0, 2.0, 0.5])])  # the variables it was built on
    assert flagged.detach().tolist() == [4.0, 2.0, 1.0]


@pytest.mark.parametrize("finite", [True, False])
def test_loss_scaling_neither_unscales_nor_applies_a_skipped_step(finite):
    ordinary, flagged = _pair()
    optimizer = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=8.0)
    gradient = torch.full((3,), 8.0 if finite else float("inf"))
    optimizer.apply_gradients([(gradient, ordinary), (torch.tensor([3.0, 2.0, 1.0]), flagged)])
    expected = [3.0, 2.0, 1.0] if finite else [1.0, 1.0, 1.0]
    assert flagged.detach().tolist() == expected
    np.testing.assert_allclose(ordinary.detach().numpy(), 0.9 if finite else 1.0, rtol=1e-6)


def test_a_variables_flag_is_its_tensors():
    variable = lamina.Variable(np.ones(2, "float32"))
    assert variable.overwrite_with_gradient is False
    variable.overwrite_with_gradient = True
    assert variable.value.overwrite_with_gradient is True
    with pytest.raises(TypeError, match="must be a boolean"):
        variable.overwrite_with_gradient = 1


class GradientEcho(layers.Layer):
    """Scales its inputs by a weight each step overwrites with its gradient."""

    def build(self, input_shape):
        self.echo = self.add_weight(
            shape=(input_shape[-1],), initializer="ones", overwrite_with_gradient=True
        )

    def call(self, inputs):
        return inputs * self.echo


def test_fit_overwrites_and_keeps_its_optimizer():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype("float32")
    y = rng.standard_normal((32, 1)).astype("float32")
    model = lamina.Sequential([lamina.Input((3,)), GradientEcho(), layers.Dense(1)])
    model.compile(optimizer=optimizers.Adam(0.01, weight_decay=0.1), loss="mse")
    model.fit(x, y, batch_size=32, verbose=0)
    torch_optimizer = model.optimizer.torch_optimizer
    echo, dense = model.layers[0].echo, model.layers[1]
    # The value the next step must write: the loss's gradient with respect to the echo.
    start = echo.detach().clone().requires_grad_()
    loss = ((dense(torch.tensor(x) * start) - torch.tensor(y)) ** 2).mean()
    (expected,) = torch.autograd.grad(loss, start)
    model.fit(x, y, batch_size=32, verbose=0)
    assert model.optimizer.torch_optimizer is torch_optimizer  # not rebuilt for the split
    torch.testing.assert_close(echo.detach(), expected, rtol=1e-6, atol=1e-7)
    assert echo not in torch_optimizer.state and len(torch_optimizer.state) == 2
