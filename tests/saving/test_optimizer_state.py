"""Optimizer state moves between lamina and Keras in `.keras` files: a model saved mid-training by
one continues in the other exactly as it would have at home, for every optimizer (each slot in
Keras's order, under Keras's meaning)."""

import numpy as np
import pytest

import lamina

OPTIMIZERS = {
    "sgd-momentum": ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    "adam-amsgrad": ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    "adamw": ("AdamW", {"learning_rate": 0.01}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}),
    "rmsprop-momentum-centered": (
        "RMSprop",
        {"learning_rate": 0.01, "momentum": 0.5, "centered": True},
    ),
    "adagrad": ("Adagrad", {"learning_rate": 0.1}),
    "adadelta": ("Adadelta", {"learning_rate": 1.0}),
    "nadam": ("Nadam", {"learning_rate": 0.01}),
    "adamax": ("Adamax", {"learning_rate": 0.01}),
    "rmsprop-ema-accumulate": (
        "RMSprop",
        {"learning_rate": 0.01, "use_ema": True, "gradient_accumulation_steps": 2},
    ),
}


def _model(framework):
    return framework.Sequential(
        [
            framework.Input((5,)),
            framework.layers.Dense(6, activation="tanh"),
            framework.layers.Dense(2, activation="softmax"),
        ]
    )


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 5)).astype("float32")
    return x, np.eye(2, dtype="float32")[(x.sum(axis=1) > 0).astype(int)]


def _compiled(framework, optimizer):
    name, options = OPTIMIZERS[optimizer]
    model = _model(framework)
    model.compile(
        optimizer=getattr(framework.optimizers, name)(**options), loss="categorical_crossentropy"
    )
    return model


FIT = {"batch_size": 8, "epochs": 1, "verbose": 0, "shuffle": False}


@pytest.mark.parity
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("saved_by", ["lamina", "keras"])
def test_saved_optimizer_state_continues_in_the_other_framework(tmp_path, optimizer, saved_by):
    import keras

    x, y = _data()
    frameworks = {"lamina": lamina, "keras": keras}
    saver = _compiled(frameworks[saved_by], optimizer)
    if saved_by == "lamina":
        reference = _compiled(keras, optimizer)
        saver.set_weights(reference.get_weights())
    saver.fit(x, y, **FIT)  # 4 updates (2 with accumulation): every slot is non-trivial
    path = str(tmp_path / "model.keras")
    saver.save(path)
    loader = {"lamina": lamina.models, "keras": keras.models}
    loaded = loader["keras" if saved_by == "lamina" else "lamina"].load_model(path)
    assert int(np.asarray(keras.ops.convert_to_numpy(loaded.optimizer.iterations))) == int(
        np.asarray(keras.ops.convert_to_numpy(saver.optimizer.iterations))
    )
    saver.fit(x, y, **FIT)
    loaded.fit(x, y, **FIT)
    for a, b in zip(saver.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6
        )


def test_loaded_optimizer_keeps_the_learning_rate_it_was_compiled_with(tmp_path):
    # The file holds the rate in float32; loading keeps 0.001, not its float32 neighbour.
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.Adam(0.001), loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    model.optimizer.learning_rate = 0.25
    model.save(tmp_path / "changed.keras")
    assert lamina.models.load_model(tmp_path / "changed.keras").optimizer.learning_rate == 0.25
