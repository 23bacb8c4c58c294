"""LossScaleOptimizer: Keras's dynamic loss scaling, on torch's GradScaler kernels."""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, mixed_precision, optimizers
from tests.parity import reference

INF = float("inf")


def _weight_and_optimizer(initial_scale=8.0, growth_steps=3, learning_rate=0.5):
    weight = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    optimizer = mixed_precision.LossScaleOptimizer(
        optimizers.SGD(learning_rate),
        initial_scale=initial_scale,
        dynamic_growth_steps=growth_steps,
    )
    optimizer.build([weight])
    return weight, optimizer


def test_a_non_finite_gradient_skips_the_step_and_halves_the_scale():
    weight, optimizer = _weight_and_optimizer()
    optimizer.apply_gradients([(torch.tensor([INF, 1.0]), weight)])
    assert float(optimizer.dynamic_scale) == 4.0
    assert optimizer.iterations == 0
    assert weight.tolist() == [1.0, 2.0]
    optimizer.apply_gradients([(torch.tensor([float("nan"), 1.0]), weight)])
    assert float(optimizer.dynamic_scale) == 2.0
    # A finite gradient of the scaled loss is divided by the scale before SGD's step:
    # w - 0.5 * g / 2.
    optimizer.apply_gradients([(torch.tensor([4.0, -2.0]), weight)])
    assert weight.tolist() == [0.0, 2.5]
    assert optimizer.iterations == 1


def test_the_scale_doubles_after_growth_steps_finite_steps():
    weight, optimizer = _weight_and_optimizer(initial_scale=8.0, growth_steps=3)
    scales = []
    for _ in range(7):
        optimizer.apply_gradients([(torch.tensor([1.0, 1.0]), weight)])
        scales.append(float(optimizer.dynamic_scale))
    assert scales == [8.0, 8.0, 16.0, 16.0, 16.0, 32.0, 32.0]
    assert int(optimizer.step_counter) == 1


def test_scale_and_weights_follow_keras_over_a_gradient_sequence():
    grads = [[1.0, 2.0], [INF, 0.0], [2.0, 2.0], [0.5, -1.0], [1.0, 1.0], [8.0, 4.0]]
    grads += [[float("nan"), 1.0], [3.0, 3.0], [1.0, 0.0]]
    expected = reference.keras_loss_scale_run(grads, initial_scale=4.0, growth_steps=2)
    weight, optimizer = _weight_and_optimizer(initial_scale=4.0, growth_steps=2)
    for grad, keras_state in zip(grads, expected, strict=True):
        optimizer.apply_gradients([(torch.tensor(grad), weight)])
        assert float(optimizer.dynamic_scale) == keras_state["scale"]
        assert int(optimizer.step_counter) == keras_state["counter"]
        assert optimizer.iterations == keras_state["iterations"]
        np.testing.assert_allclose(weight.tolist(), keras_state["weight"], rtol=1e-6)


def _variables_and_overwritten(module):
    """Keras's own test cases: an optimizer built on `keras.Variable`s and NumPy gradients, and
    a step whose only variable is overwritten with its gradient."""
    opts = module.optimizers
    scaled = opts.LossScaleOptimizer(opts.SGD(learning_rate=0.5), initial_scale=4.0)
    weight = module.Variable(np.array([1.0, 2.0], "float32"))
    scaled.apply([np.array([4.0, 4.0], "float32")], [weight])
    overwritten = module.Variable(np.array([1.0, 2.0, 3.0, 4.0], "float32"))
    overwritten.overwrite_with_gradient = True
    only_overwrites = opts.LossScaleOptimizer(opts.SGD(learning_rate=0.5))
    only_overwrites.apply([np.array([1.0, 6.0, 7.0, 2.0], "float32")], [overwritten])
    return [module.ops.convert_to_numpy(v).tolist() for v in (weight, overwritten)]


def test_variables_and_an_overwrite_only_step_as_keras():
    # lamina failed on Variables ("no attribute requires_grad") and skipped a step whose
    # variables were all overwritten with their gradients.
    ours = _variables_and_overwritten(lamina)
    assert ours == reference.keras_run(_variables_and_overwritten)
    assert ours == [[0.5, 1.5], [1.0, 6.0, 7.0, 2.0]]


def test_scale_loss_multiplies_by_the_current_scale():
    weight, optimizer = _weight_and_optimizer(initial_scale=8.0)
    unbuilt = mixed_precision.LossScaleOptimizer(optimizers.SGD(), initial_scale=16.0)
    assert float(unbuilt.scale_loss(torch.tensor(0.5))) == 8.0
    assert float(optimizer.scale_loss(torch.tensor(0.5))) == 4.0


def test_config_matches_keras_and_round_trips():
    optimizer = mixed_precision.LossScaleOptimizer(
        optimizers.SGD(0.5), initial_scale=64.0, dynamic_growth_steps=10
    )
    config = optimizer.get_config()
    expected = reference.keras_loss_scale_config(0.5, initial_scale=64.0, growth_steps=10)
    assert set(config) == set(expected)
    for key in ("initial_scale", "dynamic_growth_steps"):
        assert config[key] == expected[key]
    # Keras numbers its optimizers' names per session (loss_scale_optimizer_1); lamina does not.
    assert expected["name"].startswith(config["name"]) and config["name"] == "loss_scale_optimizer"
    assert config["inner_optimizer"]["class_name"] == expected["inner_optimizer"]["class_name"]
    inner, keras_inner = config["inner_optimizer"]["config"], expected["inner_optimizer"]["config"]
    assert {**inner, "name": None} == {**keras_inner, "name": None}

    clone = optimizers.deserialize(optimizers.serialize(optimizer))
    assert isinstance(clone, mixed_precision.LossScaleOptimizer)
    assert isinstance(clone.inner_optimizer, optimizers.SGD)
    assert clone.get_config() == config
    assert clone.learning_rate == 0.5


def test_bad_arguments_are_rejected_as_keras_does():
    with pytest.raises(ValueError, match=r"dynamic=False is not supported"):
        mixed_precision.LossScaleOptimizer(optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match=r"does not take `clipnorm`. Hint: set `clipnorm` on the"):
        mixed_precision.LossScaleOptimizer(optimizers.SGD(), clipnorm=1.0)
    with pytest.raises(TypeError, match=r"inner_optimizer to be a lamina.optimizers.Optimizer"):
        mixed_precision.LossScaleOptimizer("sgd")
    # Defaults written by older Keras configs are accepted.
    mixed_precision.LossScaleOptimizer(optimizers.SGD(), use_ema=False, clipnorm=None)


def test_the_inner_loss_scale_factor_is_switched_off():
    inner = optimizers.SGD(loss_scale_factor=4.0)
    mixed_precision.LossScaleOptimizer(inner)
    assert inner.loss_scale_factor is None


@pytest.mark.parametrize(
    ("policy", "auto_scale_loss"),
    [
        ("mixed_float16", True),
        ("mixed_float16", False),
        ("mixed_bfloat16", True),
        ("float32", True),
    ],
)
def test_compile_wraps_the_optimizer_as_keras_does(policy, auto_scale_loss):
    mixed_precision.set_global_policy(policy)
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", auto_scale_loss=auto_scale_loss)
    expected = reference.keras_compiled_optimizer(policy, auto_scale_loss)
    assert type(model.optimizer).__name__ == expected


def test_compile_does_not_wrap_twice():
    mixed_precision.set_global_policy("mixed_float16")
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    optimizer = mixed_precision.LossScaleOptimizer(optimizers.Adam(), initial_scale=32.0)
    model.compile(optimizer=optimizer, loss="mse")
    assert model.optimizer is optimizer


def test_fit_under_float16_skips_overflowing_steps_until_the_scale_fits():
    # A scale of 2**40 overflows the float16 gradients of the activations (max 65504): the first
    # steps are skipped, each halving the scale, until the scaled gradients fit.
    mixed_precision.set_global_policy("mixed_float16")
    model = lamina.Sequential(
        [lamina.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(1, dtype="float32")]
    )
    optimizer = mixed_precision.LossScaleOptimizer(optimizers.SGD(0.05), initial_scale=2.0**40)
    model.compile(optimizer=optimizer, loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, batch_size=8, epochs=10, verbose=0, shuffle=False)
    scale = float(optimizer.dynamic_scale)
    skipped = 80 - optimizer.iterations
    assert scale == 2.0 ** (40 - skipped)  # one halving per skipped step, no growth (< 2000)
    assert 20 <= skipped <= 40  # float16's range ends at 2**16: scales far above it overflow
    assert all(math.isfinite(v) for v in history.history["loss"])
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(w.dtype == torch.float32 for w in model.weights)


def test_state_dict_keeps_the_scale():
    weight, optimizer = _weight_and_optimizer(initial_scale=8.0)
    optimizer.apply_gradients([(torch.tensor([INF, 1.0]), weight)])
    state = optimizer.state_dict()
    _, other = _weight_and_optimizer(initial_scale=8.0)
    other.load_state_dict(state)
    assert float(other.dynamic_scale) == 4.0
