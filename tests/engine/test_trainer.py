"""compile / fit / evaluate / predict: what they accept and return, as Keras does."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, models
from tests.parity import reference


def moons(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))  # float64, as NumPy makes it
    y = (x[:, 0] * x[:, 1] > 0).astype("int64")
    return x, y


def mlp(out=1, activation="sigmoid"):
    return models.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(2,)),
            layers.Dense(out, activation=activation),
        ]
    )


def test_fit_returns_history_of_python_lists_with_keras_names():
    x, y = moons()
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0)
    # Keras sorts the logs' keys: `accuracy` before `loss`, the `val_` keys after them.
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(isinstance(v, list) and len(v) == 3 for v in history.history.values())
    assert all(isinstance(v, float) for v in history.history["loss"])
    assert history.epoch == [0, 1, 2]
    combined = history.history["loss"] + history.history["val_loss"]  # the seeds add lists
    assert len(combined) == 6


def test_training_learns_and_evaluate_returns_list_or_scalar():
    x, y = moons(400)
    model = mlp()
    model.compile(
        optimizer=lamina.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9 and loss < 0.4
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == pytest.approx(accuracy)
    regression = mlp(activation=None)
    regression.compile(optimizer="adam", loss="mse")
    assert isinstance(regression.evaluate(x, y.astype("float32"), verbose=0), float)


def test_predict_returns_numpy_in_batches_without_autograd():
    x, _ = moons(70)
    model = mlp(out=3, activation="softmax")
    predictions = model.predict(x, batch_size=16, verbose=0)
    assert isinstance(predictions, np.ndarray) and predictions.shape == (70, 3)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "labels",
    [
        lambda y: y,  # int (N,)
        lambda y: y.reshape(-1, 1),  # int (N, 1), as CIFAR's
        lambda y: y.astype("float32"),  # float class ids 0.0 / 1.0, as the seeds' cats and dogs
        lambda y: torch.tensor(y),
    ],
    ids=["int-N", "int-N1", "float-N", "torch"],
)
def test_sparse_categorical_accepts_keras_label_formats(labels):
    x, y = moons()
    model = mlp(out=2, activation="softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, labels(y), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert type(model.metrics[1].metrics[0]).__name__ == "SparseCategoricalAccuracy"


def test_binary_crossentropy_labels_n_against_outputs_n1_do_not_broadcast():
    x, y = moons()
    model = mlp()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    loss_n = model.evaluate(x, y, verbose=0)[0]
    loss_n1 = model.evaluate(x, y.reshape(-1, 1), verbose=0)[0]
    assert loss_n == pytest.approx(loss_n1, rel=1e-6)
    assert type(model.metrics[1].metrics[0]).__name__ == "BinaryAccuracy"


def test_categorical_accuracy_with_one_hot_labels():
    x, y = moons()
    model = mlp(out=2, activation="softmax")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, lamina.utils.to_categorical(y, 2), epochs=1, verbose=0)
    assert type(model.metrics[1].metrics[0]).__name__ == "CategoricalAccuracy"


def test_same_seed_gives_the_same_history_bit_for_bit():
    def run():
        lamina.utils.set_random_seed(42)
        lamina.backend.clear_session()
        x, y = moons()
        model = models.Sequential(
            [
                layers.Dense(16, activation="relu", input_shape=(2,)),
                layers.Dropout(0.3),
                layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0).history

    assert run() == run()


def test_initial_epoch_continues_the_count():
    x, y = moons()
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    first = model.fit(x, y, epochs=2, verbose=0)
    second = model.fit(x, y, epochs=4, initial_epoch=first.epoch[-1] + 1, verbose=0)
    assert second.epoch == [2, 3]


def test_validation_data_tuple_and_torch_tensors():
    x, y = moons()
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        torch.tensor(x), torch.tensor(y), epochs=1, verbose=0, validation_data=(x[:50], y[:50])
    )
    assert "val_accuracy" in history.history


def test_on_batch_methods():
    x, y = moons(64)
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.train_on_batch(x, y)
    assert 0 <= accuracy <= 1 and loss > 0
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}
    assert model.predict_on_batch(x).shape == (64, 1)


def test_progress_bar_output(capsys):
    x, y = moons(64)
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "2/2 [==============================]" in out and "loss:" in out and "accuracy:" in out
    model.fit(x, y, epochs=1, batch_size=32, verbose=2)
    assert "2/2 - " in capsys.readouterr().out
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_iterable_and_generator_inputs():
    x, y = moons(96)

    def batches():
        for start in range(0, 96, 32):
            yield x[start : start + 32], y[start : start + 32]

    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(batches(), epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y)),
        batch_size=32,
    )
    model.fit(loader, epochs=2, verbose=0, steps_per_epoch=3)


def test_regularization_losses_join_the_training_loss():
    x, y = moons()
    model = models.Sequential(
        [
            layers.Dense(8, input_shape=(2,), kernel_regularizer=lamina.regularizers.l2(0.5)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    penalty = 0.5 * float(model.layers[0].kernel.detach().square().sum())
    plain = float(
        lamina.losses.binary_crossentropy(
            torch.tensor(y).float(), torch.tensor(model.predict(x, verbose=0))
        ).mean()
    )
    assert model.test_on_batch(x, y) == pytest.approx(plain + penalty, rel=1e-4)


def test_functional_model_trains():
    inputs = lamina.Input(shape=(2,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    outputs = layers.Dense(1, activation="sigmoid")(hidden)
    model = models.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x, y = moons()
    model.fit(x, y, epochs=2, verbose=0)
    assert model.predict(x, verbose=0).shape == (200, 1)


def test_a_one_shot_generator_loses_no_batch_to_the_build():
    x, y = moons(96)
    seen = []

    def batches():
        for start in range(0, 96, 32):
            seen.append(start)
            yield x[start : start + 32], y[start : start + 32]

    model = models.Sequential([layers.Dense(1, activation="sigmoid")])  # built from the first batch
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    counter = []
    model.fit(
        batches(),
        epochs=1,
        verbose=0,
        callbacks=[
            lamina.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: counter.append(b))
        ],
    )
    assert seen == [0, 32, 64] and counter == [0, 1, 2]


@pytest.mark.slow
def test_jit_compile_trains_like_eager():
    x, y = moons(128)

    def run(jit):
        lamina.utils.set_random_seed(3)
        lamina.backend.clear_session()
        model = mlp()
        model.compile(
            optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"], jit_compile=jit
        )
        history = model.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0).history
        return history, model.predict(x, verbose=0)

    (eager, eager_out), (compiled, compiled_out) = run(False), run(True)
    np.testing.assert_allclose(compiled["loss"], eager["loss"], rtol=1e-5)
    np.testing.assert_allclose(compiled_out, eager_out, rtol=1e-5, atol=1e-6)


class _MeanPenalty(layers.Layer):
    """No weights; adds the mean of its input as a loss (an activity regularizer)."""

    def call(self, inputs):
        self.add_loss(0.01 * lamina.ops.mean(inputs))
        return inputs


@pytest.mark.parametrize("loss", ["mse", None])
def test_fit_of_a_model_without_trainable_weights_warns_and_reports_the_loss(loss):
    # Keras warns and runs the epoch; the loss (compiled and/or added) is still logged.
    inputs = lamina.Input((3,))
    model = models.Model(inputs, _MeanPenalty()(inputs))
    model.compile(optimizer="adam", loss=loss)
    x = np.full((4, 3), 0.5, "float32")
    y = np.zeros((4, 3), "float32")
    with pytest.warns(UserWarning, match="has no trainable weights"):
        history = model.fit(x, y, batch_size=4, verbose=0)
    expected = 0.005 + (0.25 if loss else 0.0)
    assert history.history["loss"] == pytest.approx([expected])
    assert model.optimizer.iterations == 0


def test_fit_whose_loss_is_cut_from_the_trainable_weights_names_the_model():
    class Detached(models.Model):
        def __init__(self):
            super().__init__(name="cut")
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x).detach()

    model = Detached()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"Model 'cut'.*trainable weights.*Hint"):
        model.fit(np.ones((2, 3), "float32"), np.ones((2, 1), "float32"), verbose=0)


def _loss_override_run(m):
    """A model whose compute_loss override predates Keras 3.3's `training` argument (keras-io's
    distiller signature), fitted and evaluated from fixed weights."""

    class Halved(m.Model):
        def __init__(self):
            super().__init__()
            self.dense = m.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
            return 0.5 * m.ops.mean(m.ops.square(y - y_pred))

    rng = np.random.default_rng(3)
    x = rng.standard_normal((24, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    model = Halved()
    model(x[:1])
    model.set_weights([np.full((3, 1), 0.1, dtype="float32"), np.zeros(1, dtype="float32")])
    model.compile(optimizer=m.optimizers.SGD(0.1))
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return history.history["loss"], model.evaluate(x, y, batch_size=8, verbose=0)


def test_a_compute_loss_override_without_training_evaluates_as_in_keras():
    from tests.parity import reference

    ours = _loss_override_run(lamina)
    theirs = reference.keras_run(_loss_override_run)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)


def test_compile_keeps_the_loss_it_was_given_as_model_loss():
    # Keras's custom train_step pattern calls self.loss(y, y_pred) with the compiled loss object.
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    assert model.loss is None
    mse = lamina.losses.MeanSquaredError()
    model.compile(optimizer="sgd", loss=mse)
    assert model.loss is mse
    model.compile(optimizer="sgd", loss=torch.nn.L1Loss())
    assert isinstance(model.loss, torch.nn.L1Loss)
    assert "loss" not in dict(model.named_modules())
    model.compile(optimizer="sgd", loss="mse")
    assert model.loss == "mse"


def test_custom_test_and_predict_steps_leave_training_to_the_call_signature():
    # Keras's own steps pass training=False; a user's step that passes nothing gets the
    # default of call()'s signature (a flow model's call(x, training=True)), as in Keras.
    seen = []

    class Flow(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x, training=True):
            seen.append(training)
            return self.dense(x)

        def test_step(self, data):
            self(data)
            return {}

    model = Flow()
    model.compile(optimizer="sgd")
    x = np.zeros((4, 2), "float32")
    model.evaluate(x, batch_size=4, verbose=0)
    assert seen[-1] is True
    model.test_on_batch(x)
    assert seen[-1] is True
    model.predict(x, batch_size=4, verbose=0)  # the default predict_step: training=False
    assert seen[-1] is False


def test_custom_train_step_data_is_not_fed_to_call_when_nothing_is_compiled_from_it():
    # compile(optimizer) alone: Keras builds no loss or metrics from the outputs, so it never
    # calls the model on the batch, whose x (pairs of views here) need not be call()'s input.
    seen = []

    class Twins(models.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            ((view_a, view_b),) = data
            seen.append((tuple(view_a.shape), tuple(view_b.shape)))
            return {}

    model = Twins()
    model(np.zeros((1, 3), "float32"))
    model.compile(optimizer="sgd")
    views = np.ones((4, 3), "float32")
    model.fit((views, views), batch_size=2, epochs=1, verbose=0)
    assert seen == [((2, 3), (2, 3))] * 2


class _StepWithoutTrainingFlag(lamina.Model):
    """A custom train_step that calls its sub-model without `training=`."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def call(self, x):
        return self.net(x)

    def train_step(self, data):
        x, _ = data
        return {"mean": lamina.ops.mean(self.net(x))}


@pytest.mark.parametrize("run", ["fit", "train_on_batch"])
def test_custom_train_step_call_without_training_runs_in_inference_mode(run):
    # Keras (2 and 3) resolves a missing `training` from an enclosing call, else the call
    # signature's default: fit() switching torch's train() mode on must not turn on dropout or
    # batch statistics for a sub-model a custom train_step calls bare.
    batchnorm = layers.BatchNormalization()
    net = models.Sequential([lamina.Input((4,)), layers.Dropout(0.5), batchnorm])
    model = _StepWithoutTrainingFlag(net)
    model.compile(optimizer="sgd")
    x, y = np.full((8, 4), 3.0, "float32"), np.zeros((8, 1), "float32")
    if run == "fit":
        logs = model.fit(x, y, batch_size=8, epochs=1, verbose=0).history
        mean = logs["mean"][0]
    else:
        mean = model.train_on_batch(x, y, return_dict=True)["mean"]
    assert mean == pytest.approx(3.0 / np.sqrt(1.0 + 1e-3), rel=1e-6)
    assert np.all(batchnorm.get_weights()[2] == 0.0)  # moving_mean untouched


def test_torch_train_mode_still_counts_outside_fit():
    drop = layers.Dropout(0.5)
    drop.train()
    assert not torch.equal(drop(torch.ones(1, 64)), torch.ones(1, 64))


def test_a_batch_callback_calling_a_layer_bare_runs_it_in_inference_mode():
    drop = layers.Dropout(0.5)
    model = models.Sequential([lamina.Input((64,)), drop, layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen = []

    class Probe(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(bool((drop(torch.ones(1, 64)) == 1).all()))

    x, y = np.ones((4, 64), "float32"), np.zeros((4, 1), "float32")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[Probe()])
    assert seen == [True, True]


def _stopped_early(m, method):
    """A callback sets `stop_evaluating` / `stop_predicting` after 3 batches of an endless
    generator; returns how many batches ran."""
    flag = {"evaluate": "stop_evaluating", "predict": "stop_predicting"}[method]
    hook = {"evaluate": "on_test_batch_end", "predict": "on_predict_batch_end"}[method]

    class Stopper(m.callbacks.Callback):
        count = 0

    def batch_end(self, batch, logs=None):
        self.count += 1
        if self.count == 3:
            setattr(self.model, flag, True)

    setattr(Stopper, hook, batch_end)

    def endless():
        while True:
            x = np.ones((2, 2), "float32")
            yield (x,) if method == "predict" else (x, np.ones((2, 1), "float32"))

    model = m.Sequential([m.Input((2,)), m.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    stopper = Stopper()
    getattr(model, method)(endless(), callbacks=[stopper], verbose=0)
    return stopper.count


@pytest.mark.parametrize("method", ["evaluate", "predict"])
def test_a_callback_stops_evaluate_and_predict_as_keras(method):
    assert _stopped_early(lamina, method) == 3
    assert reference.keras_run(lambda m: _stopped_early(m, method)) == 3


@pytest.mark.parametrize("method", ["predict", "evaluate", "predict_on_batch", "test_on_batch"])
def test_inference_puts_a_sublayer_left_in_training_mode_in_eval_mode(method):
    """The root in eval mode does not mean every layer is: `layer.train()` on one sublayer."""
    model = models.Sequential(
        [layers.Input((4,)), layers.Dropout(0.9), layers.Dense(1, kernel_initializer="ones")]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.eval()
    model.layers[0].train()
    x, y = np.ones((8, 4), "float32"), np.zeros((8, 1), "float32")
    args = (x,) if method in ("predict", "predict_on_batch") else (x, y)
    kwargs = {"verbose": 0} if method in ("predict", "evaluate") else {}
    result = getattr(model, method)(*args, **kwargs)
    assert not any(module.training for module in model.modules())
    if method.startswith("predict"):
        np.testing.assert_array_equal(result, np.full((8, 1), 4.0, "float32"))  # no dropout
