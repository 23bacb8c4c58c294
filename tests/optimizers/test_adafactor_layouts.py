"""Adafactor factors the last two axes of a weight's Keras shape: a Conv2D kernel, whose memory
torch's convolution reads as (out, in, kh, kw), gets Keras's statistics of (kh, kw, in, out), so its
steps equal Keras's on the same weights and gradients; its slots are saved in Keras's order and
shapes."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, optimizers
from lamina.engine import weight_paths
from lamina.saving import optimizer_state
from tests.parity.reference import keras_load_and_step, keras_optimizer_trajectory

STEPS = 5


def _conv_problem():
    rng = np.random.default_rng(3)
    kernel = rng.standard_normal((3, 2, 4, 5)).astype("float32")  # Keras's (kh, kw, in, out)
    bias = rng.standard_normal((5,)).astype("float32")
    grads = [
        [
            rng.standard_normal(kernel.shape).astype("float32"),
            rng.standard_normal(5).astype("float32"),
        ]
        for _ in range(STEPS)
    ]
    return [kernel, bias], grads


def _lamina_trajectory(options, initial, grads):
    layer = layers.Conv2D(5, (3, 2))
    layer.build((None, 6, 6, 4))
    layer.set_weights(initial)
    weight_paths.assign(layer)  # what the trainer does before building the optimizer
    weights = [layer.kernel, layer.bias]
    optimizer = optimizers.Adafactor(**options)
    optimizer.build(weights)
    history = []
    for step_grads in grads:
        for weight, grad in zip(weights, step_grads, strict=True):
            weight.grad = torch.from_numpy(grad)
        optimizer.step()
        history.append(layer.get_weights())
    return history


@pytest.mark.parametrize(
    "options", [{}, {"relative_step": False, "learning_rate": 0.05, "clip_threshold": 0.5}]
)
def test_conv_kernel_steps_equal_keras(options):
    initial, grads = _conv_problem()
    ours = _lamina_trajectory(options, initial, grads)
    theirs = keras_optimizer_trajectory(
        lambda keras: keras.optimizers.Adafactor(**options), initial, grads
    )
    for step, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        for a, b in zip(mine, reference, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


def test_the_statistics_are_kept_in_keras_layout():
    initial, grads = _conv_problem()
    layer = layers.Conv2D(5, (3, 2))
    layer.build((None, 6, 6, 4))
    weight_paths.assign(layer)
    optimizer = optimizers.Adafactor()
    optimizer.build([layer.kernel])
    layer.kernel.grad = torch.ones_like(layer.kernel)
    optimizer.step()
    state = optimizer.torch_optimizer.state[layer.kernel]
    assert tuple(state["r"].shape) == (3, 2, 4)  # Keras's (kh, kw, in): `out` averaged away
    assert tuple(state["c"].shape) == (3, 2, 5)  # (kh, kw, out): `in` averaged away
    assert tuple(state["v"].shape) == (3, 2, 4, 5)


def test_a_conv_model_saved_with_adafactor_loads_in_keras_and_steps_alike(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 6, 6, 2)).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Input((6, 6, 2)),
            layers.Conv2D(3, 3, name="conv"),
            layers.Flatten(),
            layers.Dense(1, name="out"),
        ]
    )
    model.compile(optimizer=optimizers.Adafactor(learning_rate=0.05), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "adafactor.keras"
    model.save(path)
    saved = [np.array(v) for v in optimizer_state.to_keras(model.optimizer)]  # copies
    # Keras: iteration, learning_rate, then each weight's r, c (0-d for a bias) and v.
    kernel, bias = [(3, 3, 2), (3, 3, 3), (3, 3, 2, 3)], [(), (), (3,)]
    dense = [(48,), (1,), (48, 1), (), (), (1,)]
    assert [v.shape for v in saved] == [(), (), *kernel, *bias, *dense]
    loaded, stepped = keras_load_and_step(path, x[:8], y[:8])
    for ours, theirs in zip(saved, loaded, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    model.train_on_batch(x[:8], y[:8])
    for ours, theirs in zip(model.get_weights(), stepped, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    reloaded = lamina.saving.load_model(path)
    for ours, theirs in zip(optimizer_state.to_keras(reloaded.optimizer), saved, strict=True):
        np.testing.assert_array_equal(ours, theirs)
