"""MultiOptimizer and OptimizerMap: the same updates as Keras's over 5 steps (sub-optimizers
chosen by path patterns or by a function), Keras's lookup rules and errors, and config round
trips; `lamina.optimizers.legacy` raises as Keras 3's does."""

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers
from tests.parity.reference import keras, keras_optimizer_trajectory, keras_run

NAMES = ["encoder/dense/kernel", "encoder/dense/bias", "decoder/dense/kernel", "head/bias"]
SHAPES = [(4, 3), (3,), (3, 5), (5,)]


def _problem(steps=5, seed=0):
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape).astype("float32") for shape in SHAPES]
    grads = [[rng.standard_normal(s).astype("float32") for s in SHAPES] for _ in range(steps)]
    return initial, grads


def _by_map(module):
    opts = module.optimizers
    return opts.MultiOptimizer(
        opts.OptimizerMap(
            opts.SGD(0.1, momentum=0.5),
            {
                "encoder/.*": opts.Adam(0.05, clipnorm=0.5),
                "decoder/dense/kernel": opts.Muon(0.05),
            },
        )
    )


def _by_function(module):
    opts = module.optimizers
    chosen = {"adam": opts.Adam(0.05, weight_decay=0.1), "lion": opts.Lion(0.01)}

    def selector(variable):
        return chosen["adam"] if "kernel" in variable.path else chosen["lion"]

    return opts.MultiOptimizer(selector, loss_scale_factor=4.0)


@pytest.mark.parametrize("make", [_by_map, _by_function], ids=["map", "function"])
def test_update_matches_keras(make):
    initial, grads = _problem()
    if make is _by_function:  # the loss was scaled by 4: so are the gradients
        grads = [[g * 4.0 for g in step] for step in grads]
    expected = keras_optimizer_trajectory(make, initial, grads, names=NAMES)
    weights = [torch.tensor(w, requires_grad=True) for w in initial]
    for weight, path in zip(weights, NAMES, strict=True):
        weight.path = path
    ours = make(__import__("lamina"))
    ours.build(weights)
    for step, step_grads in enumerate(grads):
        for weight, g in zip(weights, step_grads, strict=True):
            weight.grad = torch.tensor(g)
        ours.step()
        for mine, theirs in zip(weights, expected[step], strict=True):
            np.testing.assert_allclose(mine.detach().numpy(), theirs, atol=1e-5, rtol=1e-5)
    assert ours.iterations == len(grads)
    assert [o.iterations for o in ours.optimizers] == [len(grads)] * len(ours.optimizers)


def test_map_lookup_follows_keras():
    adam, sgd, rmsprop = optimizers.Adam(), optimizers.SGD(), optimizers.RMSprop()
    mapping = optimizers.OptimizerMap(default_optimizer=rmsprop)
    mapping["encoder/layer_0/dense"] = adam
    mapping["encoder/.*"] = sgd
    mapping["decoder"] = adam
    assert mapping["decoder"] is adam
    assert mapping["encoder/layer_0/dense"] is adam  # exact match first
    assert mapping["encoder/layer_0/attention/query"] is sgd
    assert mapping["decoder/layer_0/dense"] is rmsprop  # fullmatch: "decoder" is that path only
    assert len(mapping) == 3 and list(mapping) == ["encoder/layer_0/dense", "encoder/.*", "decoder"]
    mapping["enc.*"] = adam
    with pytest.raises(ValueError, match="Multiple optimizers assigned to variable encoder/x"):
        mapping["encoder/x"]
    del mapping["enc.*"]
    with pytest.raises(ValueError, match="'decoder' already exists in the OptimizerMap"):
        mapping["decoder"] = sgd


def test_members_are_checked():
    sgd = optimizers.SGD()
    with pytest.raises(TypeError, match="default_optimizer to be a lamina.optimizers.Optimizer"):
        optimizers.OptimizerMap("sgd")
    with pytest.raises(ValueError, match="a LossScaleOptimizer cannot be used inside"):
        optimizers.OptimizerMap(sgd, {"a": optimizers.LossScaleOptimizer(optimizers.Adam())})
    inner = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.Adam()))
    with pytest.raises(ValueError, match="a MultiOptimizer cannot be used inside a MultiOptimizer"):
        optimizers.OptimizerMap(sgd, {"a": inner})
    multi = optimizers.MultiOptimizer(lambda variable: "sgd")
    with pytest.raises(ValueError, match=r"for variable 'w/kernel'\) expects a lamina"):
        weight = torch.zeros(2, 2, requires_grad=True)
        weight.path = "w/kernel"
        multi.build([weight])


def test_learning_rate_lives_on_the_sub_optimizers():
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD(0.5)))
    with pytest.raises(AttributeError, match="Learning rate cannot be accessed on a MultiOptim"):
        multi.learning_rate  # noqa: B018
    with pytest.raises(AttributeError, match="Learning rate cannot be set on a MultiOptimizer"):
        multi.learning_rate = 0.1
    assert multi.optimizers[0].learning_rate == 0.5
    multi.loss_scale_factor = 8.0
    assert multi.optimizers[0].loss_scale_factor == 8.0


def test_config_round_trips_and_reads_keras_config():
    multi = optimizers.MultiOptimizer(
        optimizers.OptimizerMap(optimizers.SGD(0.1, momentum=0.5), {"enc.*": optimizers.Adam(0.2)})
    )
    config = multi.get_config()
    assert set(config) == set(_by_map(keras).get_config())
    rebuilt = optimizers.deserialize(optimizers.serialize(multi))
    assert isinstance(rebuilt, optimizers.MultiOptimizer) and rebuilt.get_config() == config
    keras_config = _by_map(keras).get_config()  # Keras's nesting: module, registered_name, ...
    from_keras = optimizers.MultiOptimizer.from_config(keras_config)
    assert [type(o).__name__ for o in from_keras.optimizers] == ["Adam", "Muon", "SGD"]
    assert from_keras.optimizers[2].momentum == 0.5


def test_function_selector_needs_custom_objects():
    def selector(variable):
        return optimizers.SGD()

    config = optimizers.serialize(optimizers.MultiOptimizer(selector))
    with pytest.raises(ValueError, match=r"saved with the function 'selector'.*custom_objects"):
        optimizers.deserialize(config)
    rebuilt = optimizers.deserialize(config, custom_objects={"selector": selector})
    assert rebuilt._optimizer_map is selector


@pytest.mark.parametrize("name", ["Optimizer", "Adam", "SGD", "RMSprop", "Adagrad", "Ftrl"])
def test_legacy_optimizers_raise_like_keras(name):
    with pytest.raises(ImportError, match="is not supported in Keras 3"):
        getattr(keras.optimizers.legacy, name)(learning_rate=0.1)
    with pytest.raises(
        ImportError, match=rf"`lamina.optimizers.legacy.{name}` is not supported.*Hint: use"
    ):
        getattr(optimizers.legacy, name)(learning_rate=0.1)


def _rates_under_callbacks(module):
    """A fit whose MultiOptimizer's sub-optimizers are halved by LearningRateScheduler and cut
    by ReduceLROnPlateau: each keeps its own rate, logged as `learning_rate_<name>`."""
    opts, layers = module.optimizers, module.layers
    first = opts.SGD(learning_rate=0.1, name="first")
    rest = opts.SGD(learning_rate=0.01, name="rest")
    multi = opts.MultiOptimizer(opts.OptimizerMap(rest, {".*dense_1/.*": first}))
    model = module.Sequential(
        [
            module.Input((2,)),
            layers.Dense(2, kernel_initializer="ones", use_bias=False, name="dense_1"),
            layers.Dense(1, kernel_initializer="ones", use_bias=False, name="dense_2"),
        ]
    )
    model.compile(loss="mse", optimizer=multi)
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    history = model.fit(
        x,
        y,
        epochs=3,
        batch_size=8,
        verbose=0,
        callbacks=[
            module.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5),
            module.callbacks.ReduceLROnPlateau(monitor="loss", patience=1, min_delta=1e9),
        ],
    )
    logged = history.history.items()
    rates = {k: [round(v, 9) for v in values] for k, values in logged if "rate" in k}
    return rates, [round(float(np.asarray(o.learning_rate)), 9) for o in (first, rest)]


def test_rate_callbacks_set_each_sub_optimizer_as_keras():
    ours = _rates_under_callbacks(lamina)
    assert ours == keras_run(_rates_under_callbacks)
    assert set(ours[0]) == {"learning_rate_first", "learning_rate_rest"}
