"""Mistakes in what fit / evaluate / predict receive fail at the call, naming the argument, what
was expected and what came; valid inputs Keras accepts (float16, pandas) are accepted."""

import warnings

import numpy as np
import pytest

import lamina
from lamina import layers, models
from lamina.engine import fit_arguments


def data(n=83, features=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, features)).astype("float32")
    y = (x[:, :1] > 0.5).astype("float32")
    return x, y


def binary_model(dropout=None):
    stack = [layers.Input((3,)), layers.Dense(4, activation="relu")]
    if dropout is not None:
        stack.append(layers.Dropout(dropout))
    model = models.Sequential([*stack, layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def untouched(model):
    return [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"batch_size": 0},
            r"batch_size expects a positive integer or None; received batch_size=0\.",
        ),
        (
            {"batch_size": 3.5},
            r"batch_size expects a positive integer or None; received batch_size=3\.5\.",
        ),
        (
            {"epochs": -1},
            r"epochs expects a non-negative integer \(the index of the last epoch\); "
            r"received epochs=-1\.",
        ),
        ({"epochs": "10"}, r"received epochs='10'\. Hint: pass epochs=10, not a string"),
        (
            {"epochs": 2, "initial_epoch": 5},
            r"initial_epoch expects at most epochs=2 .*received initial_epoch=5\. "
            r"Hint: to train 2 more epochs from epoch 5, pass epochs=7\.",
        ),
        ({"steps_per_epoch": 0}, r"steps_per_epoch expects a positive integer or None"),
        ({"validation_freq": 0}, r"validation_freq expects a positive integer or None"),
        ({"class_weight": [1.0, 2.0]}, r"class_weight expects a dict \{class id: weight\}"),
        ({"class_weight": {"a": 1.0}}, r"class_weight expects non-negative integer class ids"),
        ({"class_weight": {0: float("nan")}}, r"class_weight expects finite numbers as weights"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_fit_argument_mistakes_fail_before_training(kwargs, message):
    model = binary_model()
    before = untouched(model)
    x, y = data()
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0, **kwargs)
    for got, expected in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("method", ["evaluate", "predict"])
def test_evaluate_and_predict_check_batch_size_and_steps(method):
    model = binary_model()
    x, y = data()
    args = (x, y) if method == "evaluate" else (x,)
    with pytest.raises(ValueError, match=r"batch_size expects a positive integer or None"):
        getattr(model, method)(*args, batch_size=-2, verbose=0)
    with pytest.raises(ValueError, match=r"steps expects a positive integer or None"):
        # A positive fraction is rounded up as tf.keras 2 ran it; a negative one is a mistake.
        getattr(model, method)(*args, steps=-1.5, verbose=0)


def test_empty_arrays_are_refused():
    x, y = data()
    with pytest.raises(ValueError, match=r"x expects at least one sample; received arrays with 0"):
        binary_model().fit(x[:0], y[:0], verbose=0)


def test_nan_in_labels_is_refused():
    x, y = data()
    y[3] = np.nan
    with pytest.raises(
        ValueError,
        match=r"y expects finite numbers; received 1 NaN or inf value\(s\) in an array of shape "
        r"\(83, 1\)\. Hint: .*y = np\.nan_to_num\(y\)",
    ):
        binary_model().fit(x, y, verbose=0)


def test_binary_crossentropy_refuses_a_label_outside_zero_one():
    x, y = data()
    y[0] = 2
    with pytest.raises(
        ValueError,
        match=r"y \(labels for binary_crossentropy\) expects targets in \[0, 1\].*"
        r"received labels from 0 to 2\. Hint: for more than two classes",
    ):
        binary_model().fit(x, y, verbose=0)


def test_soft_binary_targets_are_accepted():
    x, y = data()
    binary_model().fit(x, y * 0.8 + 0.1, verbose=0)


def test_input_with_minus_one_is_refused():
    with pytest.raises(
        ValueError,
        match=r"Input\(\) expects `shape` sizes that are positive integers or None; "
        r"received shape=\(-1,\)\. Hint: use None",
    ):
        layers.Input(shape=(-1,))


def test_dropout_of_one_is_refused_at_construction():
    with pytest.raises(ValueError, match=r"`rate` in \[0, 1\).*rate=1\.0 would drop every unit"):
        binary_model(dropout=1.0)


def test_compile_without_loss_fails_at_the_first_step_with_a_hint():
    model = binary_model()
    model.compile(optimizer="adam")
    before = untouched(model)
    x, y = data()
    with pytest.raises(
        ValueError,
        match=r"Model '.*' expects a loss to compute; received compile\(\) without loss=.*"
        r"Hint: pass loss= to compile\(\)",
    ):
        model.fit(x, y, verbose=0)
    for got, expected in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, expected)


class AddsItsOwnLoss(models.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)

    def call(self, inputs):
        outputs = self.dense(inputs)
        self.add_loss(lamina.ops.mean(outputs**2))
        return outputs


def test_a_model_whose_call_adds_the_loss_trains_without_compiled_loss():
    model = AddsItsOwnLoss()
    model.compile(optimizer=lamina.optimizers.SGD(0.1))
    x, _ = data()
    history = model.fit(x, epochs=3, batch_size=83, verbose=0).history["loss"]
    assert history[2] < history[0]


def test_add_loss_joins_a_compiled_loss():
    x, y = data()
    model = AddsItsOwnLoss()
    model.compile(optimizer="sgd", loss="mse")
    logs = model.evaluate(x, y, batch_size=83, verbose=0, return_dict=True)
    y_pred = model.predict(x, verbose=0)
    expected = np.mean((y_pred - y) ** 2) + np.mean(y_pred**2)
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-5)


def test_a_missing_class_weighs_one_as_in_keras():
    labels = np.array([0, 1, 2, 2, 5])
    weights = fit_arguments.class_weights_to_sample_weights(
        fit_arguments.class_weight_table({0: 0.5, 2: 3.0}),
        lamina.ops.convert_to_tensor(labels),
    )
    np.testing.assert_array_equal(weights.cpu().numpy(), [0.5, 1.0, 3.0, 3.0, 1.0])
    one_hot = np.eye(3, dtype="float32")[[2, 0]]
    weights = fit_arguments.class_weights_to_sample_weights(
        {2: 4.0}, lamina.ops.convert_to_tensor(one_hot)
    )
    np.testing.assert_array_equal(weights.cpu().numpy(), [4.0, 1.0])


def test_class_weight_missing_a_class_trains():
    rng = np.random.default_rng(0)
    x = rng.random((30, 3)).astype("float32")
    y = rng.integers(0, 3, 30)
    model = models.Sequential([layers.Input((3,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, class_weight={0: 1.0, 1: 2.0}, verbose=0)


def test_one_callback_not_in_a_list_is_taken_as_keras_does():
    x, y = data()
    seen = []
    callback = lamina.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    binary_model().fit(x, y, epochs=2, callbacks=callback, verbose=0)
    assert seen == [0, 1]


@pytest.mark.parametrize(
    ("callbacks", "message"),
    [
        ("early", r"callbacks expects a list of Callback instances; received str"),
        (
            [lamina.callbacks.EarlyStopping],
            r"received an entry of type type\. Hint: pass an instance",
        ),
        ([print], r"received an entry of type builtin_function_or_method\. Hint: subclass"),
    ],
)
def test_callbacks_that_are_not_callbacks_are_refused(callbacks, message):
    x, y = data()
    with pytest.raises(TypeError, match=message):
        binary_model().fit(x, y, callbacks=callbacks, verbose=0)


def test_a_generator_that_runs_out_warns_and_stops_instead_of_recording_zero_loss():
    x, y = data(n=30)

    def batches():
        for start in range(0, 30, 10):
            yield x[start : start + 10], y[start : start + 10]

    with pytest.warns(UserWarning, match=r"Your input ran out of data; interrupting training"):
        history = binary_model().fit(batches(), steps_per_epoch=5, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1
    assert history.history["loss"][0] > 0.0


def test_validation_data_without_a_batch_warns_and_logs_no_val_metrics():
    class NoBatches(lamina.utils.PyDataset):
        def __len__(self):
            return 0

        def __getitem__(self, index):
            raise IndexError(index)

    x, y = data(n=20)
    with pytest.warns(UserWarning, match=r"Your input ran out of data"):
        history = binary_model().fit(x, y, validation_data=NoBatches(), epochs=2, verbose=0)
    assert sorted(history.history) == ["loss"]  # as Keras: no val_loss of 0.0


def test_a_consumed_generator_without_steps_stops_after_its_epoch():
    x, y = data(n=30)
    batches = ((x[s : s + 10], y[s : s + 10]) for s in range(0, 30, 10))
    with pytest.warns(UserWarning, match=r"ran out of data"):
        history = binary_model().fit(batches, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1


def test_a_wrong_feature_count_names_the_whole_array():
    x, y = data(features=4)
    with pytest.raises(
        ValueError,
        match=r"Input '.*' of model '.*' expects shape \(None, 3\); received an array of shape "
        r"\(83, 4\) \(x\)\.",
    ):
        binary_model().fit(x, y, verbose=0)


def test_an_array_one_unit_axis_short_of_the_input_is_adapted_as_keras_does():
    rng = np.random.default_rng(0)
    images = rng.random((16, 6, 6)).astype("float32")
    model = models.Sequential(
        [layers.Input((6, 6, 1)), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.fit(images, np.zeros((16, 1), "float32"), verbose=0)
    np.testing.assert_allclose(
        model.predict(images, verbose=0), model.predict(images[..., None], verbose=0)
    )


@pytest.mark.parametrize("wrap", [list, tuple])
def test_a_one_array_list_feeds_a_one_input_model_as_in_keras(wrap):
    x, y = data()
    model = binary_model()
    history = model.fit(wrap([x]), y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.evaluate(wrap([x]), y, verbose=0) == model.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(model.predict(wrap([x]), verbose=0), model.predict(x, verbose=0))


def test_float16_arrays_train_as_float32():
    x, y = data()
    model = binary_model()
    history = model.fit(x.astype("float16"), y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(x.astype("float16"), verbose=0).dtype == np.float32


def test_a_pandas_dataframe_and_series_are_arrays():
    pandas = pytest.importorskip("pandas")
    x, y = data()
    model = binary_model()
    model.fit(pandas.DataFrame(x), pandas.Series(y[:, 0]), epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(
            model.predict(pandas.DataFrame(x), verbose=0), model.predict(x, verbose=0)
        )


def test_config_caps_epochs_and_steps_as_keras_does():
    x, y = data(n=80)
    seen = {"epochs": 0, "batches": 0}
    counter = lamina.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.update(epochs=seen["epochs"] + 1),
        on_train_batch_begin=lambda batch, logs: seen.update(batches=seen["batches"] + 1),
    )
    lamina.config.set_max_epochs(2)
    lamina.config.set_max_steps_per_epoch(3)
    try:
        with pytest.warns(UserWarning, match=r"Limiting epochs to 2"):
            binary_model().fit(x, y, batch_size=8, epochs=4, callbacks=[counter], verbose=0)
    finally:
        lamina.config.set_max_epochs(None)
        lamina.config.set_max_steps_per_epoch(None)
    assert seen == {"epochs": 2, "batches": 6}


def test_strings_into_a_numeric_input_name_the_input_and_the_way_to_read_text():
    model = binary_model()
    text = np.array([["a b"], ["c d"]])
    expected = (
        r"Input 'input_layer' of model 'sequential' expects float32 values; received an array "
        r"of strings of shape \(2, 1\) \(x\)\. Hint: a model reads text through "
        r"Input\(shape=\(1,\), dtype='string'\)"
    )
    with pytest.raises(ValueError, match=expected):
        model.predict(text, verbose=0)
    with pytest.raises(ValueError, match=expected):
        model.fit(text, np.zeros((2, 1)), verbose=0)


def test_boolean_one_hot_labels_train_with_accuracy_and_class_weight():
    # One-hot labels built as np.zeros(..., dtype=bool), then set to True: fit reads them as Keras
    # does, for the loss, the accuracy metric and class_weight alike.
    rng = np.random.default_rng(0)
    x = rng.random((12, 3)).astype("float32")
    y = np.eye(4, dtype=bool)[rng.integers(0, 4, 12)]
    model = models.Sequential([layers.Input((3,)), layers.Dense(4, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    logs = model.fit(x, y, class_weight={0: 1.0, 3: 2.0}, verbose=0).history
    assert np.isfinite(logs["loss"][0]) and 0.0 <= logs["accuracy"][0] <= 1.0
    weights = fit_arguments.class_weights_to_sample_weights(
        {0: 1.0, 3: 2.0}, lamina.ops.convert_to_tensor(y)
    )
    np.testing.assert_array_equal(
        weights.cpu().numpy(), np.where(y[:, 3], 2.0, 1.0).astype("float32")
    )
