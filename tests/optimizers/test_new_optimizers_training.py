"""Muon, ScheduleFreeAdamW and MultiOptimizer in `compile`/`fit`: the loss falls, the weights get
Keras's paths (which Muon's exclusions and OptimizerMap's patterns match), and a saved model
comes back with the same optimizer and state, so one more step is the same step."""

import numpy as np
import pytest
import torch

import lamina
from lamina.engine import weight_paths
from lamina.saving import optimizer_state
from tests.parity.reference import (
    keras_load_and_step,
    keras_regressor_saved,
    keras_weight_paths,
)


def _model():
    lamina.utils.set_random_seed(0)
    return lamina.Sequential(
        [
            lamina.Input((8,)),
            lamina.layers.Dense(16, activation="tanh", name="hidden"),
            lamina.layers.Dense(1, name="output_dense"),
        ],
        name="regressor",
    )


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype("float32")
    y = (x @ rng.standard_normal((8, 1)) + 0.1).astype("float32")
    return x, y


def _rounded(config):
    if isinstance(config, dict):
        return {k: _rounded(v) for k, v in config.items()}
    return float(np.float32(config)) if isinstance(config, float) else config


GENERIC_MAKERS = {
    "Muon": lambda lib: lib.optimizers.Muon(learning_rate=0.02, exclude_layers=["output_dense"]),
    "ScheduleFreeAdamW": lambda lib: lib.optimizers.ScheduleFreeAdamW(learning_rate=0.02),
    "MultiOptimizer": lambda lib: lib.optimizers.MultiOptimizer(
        lib.optimizers.OptimizerMap(
            lib.optimizers.Adam(0.02), {".*/hidden/.*": lib.optimizers.SGD(0.05, momentum=0.9)}
        )
    ),
}
MAKERS = {name: (lambda make=make: make(lamina)) for name, make in GENERIC_MAKERS.items()}


def test_weights_get_keras_paths_and_muon_excludes_the_output_layer():
    model = _model()
    model.compile(optimizer=MAKERS["Muon"](), loss="mse")
    hidden, output = model.layers
    assert hidden.kernel.path == "regressor/hidden/kernel"
    assert output.bias.path == "regressor/output_dense/bias"
    muon = model.optimizer
    assert not muon.uses_adamw(hidden.kernel)
    assert muon.uses_adamw(output.kernel) and muon.uses_adamw(hidden.bias)


def test_multi_optimizer_assigns_by_path():
    model = _model()
    model.compile(optimizer=MAKERS["MultiOptimizer"](), loss="mse")
    sgd, adam = model.optimizer.optimizers  # Keras's order: the map's values, then the default
    hidden, output = model.layers
    assert [id(p) for p in sgd.parameters] == [id(hidden.kernel), id(hidden.bias)]
    assert [id(p) for p in adam.parameters] == [id(output.kernel), id(output.bias)]


def _path_models(library):
    layers = library.layers
    stacked = library.Sequential(
        [
            library.Input((5, 3)),
            layers.Dense(4),
            layers.Bidirectional(layers.LSTM(2)),
            layers.Dense(1, name="out"),
        ]
    )
    inputs = library.Input((6,))
    functional = library.Model(inputs, layers.Dense(1)(layers.Dense(3, name="enc")(inputs)))
    embedded = library.Sequential(
        [library.Input((4,), dtype="int32"), layers.Embedding(10, 3), layers.LayerNormalization()]
    )
    return [stacked, functional, embedded]


def test_weight_paths_are_keras_paths():
    # Sequential models prefix their name, functional ones do not; wrappers and cells nest.
    expected = keras_weight_paths(_path_models)
    lamina.backend.clear_session()
    models = _path_models(lamina)
    for model in models:
        weight_paths.assign(model)
    assert [[w.path for w in m.trainable_weights] for m in models] == expected
    assert expected[0][2] == "sequential/bidirectional/forward_lstm/lstm_cell/kernel"


def _nested_models(library):
    layers = library.layers

    class Block(layers.Layer):
        def build(self, input_shape):  # sub-layers made here are built in call()
            self.dense = layers.Dense(2)
            self.head = library.Sequential([layers.Dense(3)])

        def call(self, x):
            return self.head(self.dense(x))

    class Net(library.Model):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.first = layers.Dense(4)

        def call(self, x):
            return self.block(self.first(x))

    net = Net()
    net(np.zeros((1, 5), "float32"))
    net.compile(optimizer="sgd", loss="mse")
    net.fit(np.zeros((2, 5), "float32"), np.zeros((2, 3), "float32"), verbose=0)
    return [net]


def test_layers_built_inside_a_call_take_every_enclosing_name():
    # Keras calls a layer inside its name scope: "net/block/sequential/dense_2/kernel", and
    # compile/fit leave the paths as they were made.
    expected = keras_weight_paths(_nested_models)
    lamina.backend.clear_session()
    assert [[w.path for w in m.trainable_weights] for m in _nested_models(lamina)] == expected
    assert expected[0][2] == "net/block/sequential/dense_2/kernel"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_fit_lowers_the_loss_and_a_saved_model_resumes(name, tmp_path):
    x, y = _data()
    model = _model()
    model.compile(optimizer=MAKERS[name](), loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    path = tmp_path / "model.keras"
    model.save(path)
    restored = lamina.saving.load_model(path)
    assert type(restored.optimizer) is type(model.optimizer)
    # The file keeps learning rates as float32, as Keras's does.
    assert _rounded(restored.optimizer.get_config()) == _rounded(model.optimizer.get_config())
    assert restored.optimizer.iterations == model.optimizer.iterations == 24
    for mine, theirs in zip(model.weights, restored.weights, strict=True):
        torch.testing.assert_close(mine, theirs)
    # The slots came back too: one more batch moves both models the same way.
    model.train_on_batch(x[:16], y[:16])
    restored.train_on_batch(x[:16], y[:16])
    for mine, theirs in zip(model.weights, restored.weights, strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-6, rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_keras_resumes_from_a_lamina_file(name, tmp_path):
    # Keras reads the optimizer's config and every slot in its own order; one more step agrees.
    # (Not ScheduleFreeAdamW's step: Keras's eager torch update reads its momentum after changing
    # it, see lamina/optimizers/schedule_free.py; its slots still load unchanged.)
    x, y = _data()
    model = _model()
    model.compile(optimizer=MAKERS[name](), loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded, stepped = keras_load_and_step(path, x[:16], y[:16])
    ours = optimizer_state.to_keras(model.optimizer)
    assert len(loaded) == len(ours)
    for mine, theirs in zip(ours, loaded, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-7)
    if name != "ScheduleFreeAdamW":
        model.train_on_batch(x[:16], y[:16])
        for mine, theirs in zip(model.get_weights(), stepped, strict=True):
            np.testing.assert_allclose(mine, theirs, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_lamina_resumes_from_a_keras_file(name, tmp_path):
    x, y = _data()
    path = tmp_path / "keras.keras"
    variables, stepped = keras_regressor_saved(path, GENERIC_MAKERS[name], x, y)
    model = lamina.saving.load_model(path)
    assert type(model.optimizer).__name__ == name
    ours = optimizer_state.to_keras(model.optimizer)
    assert len(ours) == len(variables)
    for mine, theirs in zip(ours, variables, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-7)
    if name != "ScheduleFreeAdamW":  # see test_keras_resumes_from_a_lamina_file
        model.train_on_batch(x[:16], y[:16])
        for mine, theirs in zip(model.get_weights(), stepped, strict=True):
            np.testing.assert_allclose(mine, theirs, atol=1e-6)


EARLIER = {
    "Lion": lambda lib: lib.optimizers.Lion(learning_rate=0.01, weight_decay=0.01),
    "Lamb": lambda lib: lib.optimizers.Lamb(learning_rate=0.02),
    "Ftrl": lambda lib: lib.optimizers.Ftrl(
        learning_rate=0.05, initial_accumulator_value=0.5, l1_regularization_strength=0.01
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EARLIER))
def test_lion_lamb_ftrl_files_resume_in_keras_and_lamina(name, tmp_path):
    # These saved no optimizer state before (model.save raised "No Keras variable layout").
    x, y = _data()
    model = _model()
    model.compile(optimizer=EARLIER[name](lamina), loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded, stepped = keras_load_and_step(path, x[:16], y[:16])
    ours = optimizer_state.to_keras(model.optimizer)
    assert len(loaded) == len(ours)
    for mine, theirs in zip(ours, loaded, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-7)
    restored = lamina.saving.load_model(path)
    for mine, theirs in zip(optimizer_state.to_keras(restored.optimizer), ours, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-7)
    model.train_on_batch(x[:16], y[:16])
    restored.train_on_batch(x[:16], y[:16])
    for mine, keras_weights, again in zip(
        model.get_weights(), stepped, restored.get_weights(), strict=True
    ):
        np.testing.assert_allclose(mine, keras_weights, atol=1e-6)
        np.testing.assert_allclose(again, mine, atol=1e-6)
