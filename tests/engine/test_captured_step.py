"""The captured train step of compile(jit_compile=True): the same numbers as the eager step,
one compile per model, and an eager fallback that says why.

Compiling takes seconds on a CPU, so every compiling test uses a tiny model and compiles once;
the fallback tests never compile (the option is refused before torch.compile is called, and the
torch.compile'd forward the fallback would use is replaced by the plain model)."""

import numpy as np
import pytest
import torch
from torch._dynamo.utils import counters

import lamina
from lamina import layers, optimizers
from lamina.engine import captured_step
from lamina.saving import optimizer_state

SKIPPED = r"compiled with jit_compile=True, but its train step is not captured in one graph: "


def two_output_mlp():
    """Dense with an L2 penalty, BatchNormalization, Dropout(0) and two weighted outputs."""
    inputs = layers.Input((2,))
    hidden = layers.Dense(16, activation="relu", kernel_regularizer="l2")(inputs)
    hidden = layers.BatchNormalization(momentum=0.8)(hidden)
    hidden = layers.Dropout(0.0)(hidden)
    hidden = layers.Dense(8, activation="tanh")(hidden)
    outputs = {
        "label": layers.Dense(1, activation="sigmoid", name="label")(hidden),
        "score": layers.Dense(1, name="score")(hidden),
    }
    return lamina.Model(inputs, outputs)


class SquarePenalty(layers.Layer):
    """Adds half the mean square of its inputs as a loss (`add_loss` in `call`)."""

    def call(self, inputs):
        self.add_loss(0.5 * (inputs**2).mean())
        return inputs


class GradientEcho(layers.Layer):
    """Scales its inputs by a weight each step overwrites with its gradient (Keras's
    `overwrite_with_gradient`, float8's mechanism, here with a gradient the graph traces)."""

    def build(self, input_shape):
        self.echo = self.add_weight(
            shape=(input_shape[-1],), initializer="ones", overwrite_with_gradient=True
        )

    def call(self, inputs):
        return inputs * self.echo


def penalized_mlp():
    """Losses added during the forward: an activity regularizer and a layer's add_loss; and a
    weight its gradient overwrites (outside the optimizer's slots and update)."""
    inputs = layers.Input((2,))
    hidden = layers.Dense(8, activation="tanh", activity_regularizer="l2")(inputs)
    hidden = GradientEcho()(SquarePenalty()(hidden))
    outputs = {
        "label": layers.Dense(1, activation="sigmoid", name="label")(hidden),
        "score": layers.Dense(1, activity_regularizer=lamina.regularizers.L1(0.1), name="score")(
            hidden
        ),
    }
    return lamina.Model(inputs, outputs)


def small_cnn():
    # No bias before BatchNormalization: its gradient is rounding noise, which Adam scales up to
    # full steps of either sign, so no two implementations would agree on it.
    return lamina.Sequential(
        [
            layers.Conv2D(4, 3, padding="same", use_bias=False, input_shape=(6, 6, 3)),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),
            # Reshape's shape check once handed math.prod a generator, which Dynamo cannot
            # trace: every model with a Reshape trained eagerly under jit_compile=True.
            layers.Reshape((9, 4)),
            layers.Permute((2, 1)),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def mlp_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((72, 2)).astype("float32")  # batch 16: 4 full batches and one of 8
    labels = (x[:, :1] * x[:, 1:] > 0).astype("float32")
    weights = rng.uniform(0.5, 2.0, 72).astype("float32")
    return x, {"label": labels, "score": x.sum(1, keepdims=True)}, weights


def cnn_data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 6, 6, 3)).astype("float32")
    return x, rng.integers(0, 3, 40), rng.uniform(0.5, 2.0, 40).astype("float32")


def recurrent_model():
    inputs = lamina.Input((5, 3))
    hidden = layers.LSTM(8, return_sequences=True)(inputs)
    hidden = layers.GRU(6)(hidden)
    return lamina.Model(inputs, layers.Dense(1, activation="sigmoid")(hidden))


def stacked_lstm_model():
    # A Dense before and an LSTM after: both LSTMs' inputs need a gradient; the last returns only
    # its last output (the captured LSTM's own backward, layers/recurrent/lstm_sequence.py).
    inputs = lamina.Input((5, 3))
    hidden = layers.Dense(4)(inputs)
    hidden = layers.LSTM(8, return_sequences=True)(hidden)
    hidden = layers.LSTM(6)(hidden)
    return lamina.Model(inputs, layers.Dense(1, activation="sigmoid")(hidden))


def sequence_data():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 5, 3)).astype("float32")
    return (
        x,
        (x.sum(axis=(1, 2)) > 0).astype("float32"),
        rng.uniform(0.5, 2.0, 40).astype("float32"),
    )


MLP_COMPILE = {
    "loss": {"label": "binary_crossentropy", "score": "mse"},
    "loss_weights": {"label": 1.0, "score": 0.5},
    "metrics": {"label": ["accuracy"]},
}
CNN_COMPILE = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}

CASES = {
    # ReduceLROnPlateau halves the rate each epoch: SGD's momentum buffer is rescaled
    "sgd-nesterov-plateau": (
        two_output_mlp,
        mlp_data,
        MLP_COMPILE,
        16,
        3,
        lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
        lambda: [lamina.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=9)],
    ),
    # a pause in the rate: SGD's momentum still moves the weights (the eager step's rule), then
    # resumes at the next rate
    "sgd-momentum-zero-rate-pause": (
        two_output_mlp,
        mlp_data,
        MLP_COMPILE,
        16,
        2,
        lambda: optimizers.SGD(
            optimizers.schedules.PiecewiseConstantDecay([3, 6], [0.05, 0.0, 0.02]), momentum=0.9
        ),
        list,
    ),
    # a schedule changes the rate at every step, without a recompile
    "adam-schedule": (
        two_output_mlp,
        mlp_data,
        MLP_COMPILE,
        16,
        2,
        lambda: optimizers.Adam(optimizers.schedules.ExponentialDecay(0.02, 2, 0.7)),
        list,
    ),
    "rmsprop-centered-momentum-clipnorm": (
        two_output_mlp,
        mlp_data,
        MLP_COMPILE,
        16,
        2,
        lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True, clipnorm=0.1),
        list,
    ),
    # the weights hold Schedule-Free's interpolation; warmup reads the per-weight step count
    "schedule-free-warmup-decay": (
        two_output_mlp,
        mlp_data,
        MLP_COMPILE,
        16,
        2,
        lambda: optimizers.ScheduleFreeAdamW(0.02, warmup_steps=3, weight_decay=0.05),
        list,
    ),
    # Newton-Schulz for the kernels, AdamW for the biases, each with its own weight decay
    "muon": (
        two_output_mlp,
        mlp_data,
        MLP_COMPILE,
        16,
        2,
        lambda: optimizers.Muon(0.02, weight_decay=0.1, adam_weight_decay=0.01),
        list,
    ),
    # add_loss during the forward: the graph reads the losses and leaves none behind
    "activity-regularizer-add-loss": (
        penalized_mlp,
        mlp_data,
        MLP_COMPILE,
        16,
        2,
        lambda: optimizers.Adam(0.01),
        list,
    ),
    # the fused oneDNN kernels cannot be traced: the captured step runs the cells' step loop
    "lstm-gru-adam": (
        recurrent_model,
        sequence_data,
        {"loss": "binary_crossentropy", "metrics": ["accuracy"]},
        16,
        2,
        lambda: optimizers.Adam(0.01),
        list,
    ),
    "dense-lstm-lstm-adam": (
        stacked_lstm_model,
        sequence_data,
        {"loss": "binary_crossentropy", "metrics": ["accuracy"]},
        16,
        2,
        lambda: optimizers.Adam(0.01),
        list,
    ),
    "cnn-batchnorm-adamw": (
        small_cnn,
        cnn_data,
        CNN_COMPILE,
        8,
        1,
        lambda: optimizers.AdamW(0.01),
        list,
    ),
}


def train(case, jit_compile):
    build, data, compile_args, batch_size, epochs, make_optimizer, make_callbacks = CASES[case]
    lamina.utils.set_random_seed(0)
    lamina.backend.clear_session()
    model = build()
    model.compile(optimizer=make_optimizer(), jit_compile=jit_compile, **compile_args)
    x, y, weights = data()
    history = model.fit(
        x,
        y,
        sample_weight=weights,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=make_callbacks(),
    )
    # Loading a state replaces torch's state tensors: the captured step must update the new ones.
    model.optimizer.load_state_dict(model.optimizer.state_dict())
    model.fit(x, y, sample_weight=weights, batch_size=batch_size, shuffle=False, verbose=0)
    return model, history.history


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_captured_step_trains_like_the_eager_step(case):
    eager, eager_history = train(case, False)
    counters.clear()
    captured, captured_history = train(case, True)
    state = captured._compile_state.captured
    assert not state.disabled and state._compiled is not None
    # one graph for every step: the rate changes and the eager last batch cost no recompile
    assert counters["stats"]["unique_graphs"] == 1
    assert dict(counters["recompiles"]) == {}

    assert captured_history.keys() == eager_history.keys()
    for name, values in eager_history.items():
        np.testing.assert_allclose(captured_history[name], values, rtol=1e-5, atol=1e-6)
    # the weights, BatchNormalization's moving statistics included
    for got, expected in zip(captured.get_weights(), eager.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # the optimizer's real state: torch's slots, the step count, the learning rate, Keras's file
    assert captured.optimizer.iterations == eager.optimizer.iterations
    assert captured.optimizer.learning_rate == pytest.approx(eager.optimizer.learning_rate)
    got_slots, expected_slots = captured.optimizer.variables, eager.optimizer.variables
    assert len(got_slots) == len(expected_slots) > 0
    for got, expected in zip(got_slots, expected_slots, strict=True):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    saved = optimizer_state.to_keras(captured.optimizer)
    for got, expected in zip(saved, optimizer_state.to_keras(eager.optimizer), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_dropout_still_drops_in_the_captured_step():
    # Dropout(0.5) of ones into a Dense that sums them: each output is 0 (dropped) or 2 (kept,
    # scaled by 2), so the loss against 1 is exactly 1 with dropout and 0 without.
    model = lamina.Sequential(
        [
            layers.Dropout(0.5, input_shape=(1,)),
            layers.Dense(1, use_bias=False, kernel_initializer="ones"),
        ]
    )
    model.compile(optimizer=optimizers.SGD(0.0), loss="mse", jit_compile=True)
    history = model.fit(np.ones((64, 1)), np.ones((64, 1)), batch_size=32, verbose=0).history
    assert model._compile_state.captured._compiled is not None
    assert history["loss"] == [1.0]
    assert model.predict(np.ones((2, 1)), verbose=0).tolist() == [[1.0], [1.0]]


def _mlp(**dense_options):
    return lamina.Sequential(
        [
            layers.Dense(4, activation="relu", input_shape=(2,), **dense_options),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


class OneDense(lamina.Model):
    """A subclassed model of one sigmoid Dense: the base of the overriding models below."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1, activation="sigmoid")

    def call(self, inputs):
        return self.dense(inputs)


class CustomStep(OneDense):
    def train_step(self, data):
        return super().train_step(data)


class CustomLoss(OneDense):
    """A loss of its own, which the captured graph (the compiled loss) would drop."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return super().compute_loss(x, y, y_pred, sample_weight, training) + 1.0


OPTION = r"the optimizer option {} is not supported"
FALLBACKS = {
    "use_ema": (_mlp, lambda: optimizers.Adam(use_ema=True), OPTION.format("use_ema=True")),
    "gradient_accumulation": (
        _mlp,
        lambda: optimizers.SGD(0.1, gradient_accumulation_steps=2),
        OPTION.format("gradient_accumulation_steps=2"),
    ),
    "loss_scale_factor": (
        _mlp,
        lambda: optimizers.Adam(loss_scale_factor=8.0),
        OPTION.format("loss_scale_factor=8.0"),
    ),
    "nadam": (_mlp, optimizers.Nadam, r"the optimizer Nadam has no captured update"),
    "constraint": (
        lambda: _mlp(kernel_constraint="non_neg"),
        optimizers.Adam,
        r"weight constraints \(kernel_constraint, ...\) are not supported",
    ),
    "custom_train_step": (CustomStep, optimizers.Adam, r"the model overrides train_step"),
    "custom_compute_loss": (CustomLoss, optimizers.Adam, r"the model overrides compute_loss"),
    "seeded_dropout": (
        lambda: lamina.Sequential(
            [layers.Dense(4, input_shape=(2,)), layers.Dropout(0.5, seed=1), layers.Dense(1)]
        ),
        optimizers.Adam,
        r"layer 'dropout(_\d+)?' draws its noise from its own SeedGenerator \(seed=...\)",
    ),
}


@pytest.mark.parametrize("case", list(FALLBACKS))
def test_what_cannot_be_captured_warns_once_and_trains_eagerly(case):
    build, make_optimizer, reason = FALLBACKS[case]
    x = np.random.default_rng(0).standard_normal((64, 2)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = build()
    model.compile(optimizer=make_optimizer(), loss="binary_crossentropy", jit_compile=True)
    model._compile_state.forward = model  # not under test here: the compiled forward's own compile
    model(x[:1])
    before = [w.copy() for w in model.get_weights()]
    with pytest.warns(UserWarning, match=SKIPPED + reason) as caught:
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert sum(SKIPPED.split(":")[0] in str(w.message) for w in caught) == 1
    assert model._compile_state.captured._compiled is None
    assert model.optimizer.iterations > 0
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), before, strict=True))


def test_a_seeded_noise_layer_trains_eagerly_and_repeats_its_masks():
    # The fallback's forward is the plain model: a torch.compile'd one would break its graph on
    # the seeded draws at every step (and warn). Two fresh models with the same seeds train to
    # the same weights whatever the global generator does.
    x = np.random.default_rng(0).standard_normal((32, 2)).astype("float32")
    y = x[:, :1] * 2.0

    def train(global_seed):
        model = lamina.Sequential(
            [
                layers.Dense(8, input_shape=(2,), kernel_initializer=lamina.initializers.Ones()),
                layers.Dropout(0.5, seed=4),
                layers.Dense(1, kernel_initializer=lamina.initializers.Ones()),
            ]
        )
        model.compile(optimizer=optimizers.SGD(0.05), loss="mse", jit_compile=True)
        lamina.utils.set_random_seed(global_seed)
        with pytest.warns(UserWarning, match=SKIPPED + r"layer 'dropout(_\d+)?' draws its noise"):
            model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        assert model._compile_state.captured.eager_forward is model
        return model.get_weights()

    for a, b in zip(train(1), train(2), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_failing_compile_warns_and_trains_eagerly_with_the_same_numbers(monkeypatch):
    def refuse(fn, **options):
        def compiled(*args):
            raise RuntimeError("no graph today")

        return compiled

    monkeypatch.setattr(captured_step.torch, "compile", refuse)
    x = np.random.default_rng(0).standard_normal((48, 2)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    results = []
    for jit_compile in (False, True):
        lamina.utils.set_random_seed(0)
        model = _mlp()
        model.compile(optimizer="adam", loss="binary_crossentropy", jit_compile=jit_compile)
        if jit_compile:
            with pytest.warns(
                UserWarning,
                match=SKIPPED + r"torch.compile failed "
                r"\(RuntimeError: no graph today\)",
            ):
                model.fit(x, y, batch_size=16, verbose=0)
        else:
            model.fit(x, y, batch_size=16, verbose=0)
        results.append(model.get_weights())
    assert model._compile_state.captured.eager_forward is model
    for got, expected in zip(*results, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_a_compile_failure_is_described_by_its_reason():
    # Inductor's wrapper says "backend='inductor' raised:" on its first line, the reason after.
    wrapped = RuntimeError("backend='inductor' raised:\nNotImplementedError: no kernel for it\n")
    assert captured_step._describe(wrapped) == "NotImplementedError: no kernel for it"
    assert captured_step._describe(ValueError("bad\nmore")) == "ValueError: bad"


def test_batches_that_are_not_tensors_are_refused_by_name():
    assert captured_step._signature((torch.zeros(2), None, None)) == (
        (torch.Size([2]), torch.float32, torch.device("cpu")),
        None,
        None,
    )
    assert captured_step._signature(({"a": torch.zeros(1)}, ["text"], None)) == "str"


def test_weights_without_a_gradient_are_refused_by_name():
    # The eager step leaves them alone; zeros from torch.func would still decay them.
    inputs = layers.Input((2,))
    outputs = {
        "used": layers.Dense(1, name="used")(inputs),
        "unused": layers.Dense(1, name="unused")(inputs),
    }
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer=optimizers.AdamW(), loss={"used": "mse"}, jit_compile=True)
    model._compile_state.forward = model
    x = np.ones((32, 2), "float32")
    unused_before = model.get_layer("unused").get_weights()
    with pytest.warns(
        UserWarning,
        match=SKIPPED + r"2 trainable weight\(s\) get no gradient "
        r"\(\S*unused\.kernel, ...\)",
    ):
        model.fit(x, {"used": x[:, :1], "unused": x[:, :1]}, batch_size=8, verbose=0)
    for got, expected in zip(model.get_layer("unused").get_weights(), unused_before, strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.slow
def test_each_model_keeps_its_own_graph():
    # Dynamo caches graphs per code object: had the models' steps shared one, the second model
    # would hit this recompile limit and fall back with a warning (an error under pytest here).
    # Dynamo's own patch(): monkeypatch's undo of a config-module attribute deleted it, and every
    # later compile in the session failed.
    x = np.random.default_rng(0).standard_normal((32, 2)).astype("float32")
    with torch._dynamo.config.patch(recompile_limit=1):
        for _ in range(2):
            model = _mlp()
            model.compile(optimizer="adam", loss="binary_crossentropy", jit_compile=True)
            model.fit(x, x[:, :1] > 0, batch_size=16, verbose=0)
            assert model._compile_state.captured._compiled is not None
            assert not model._compile_state.captured.disabled


@pytest.mark.slow
def test_a_configuration_changed_between_epochs_is_traced_again():
    # The graph bakes a layer's activation in, and Dynamo's guards on such attributes are cut
    # (they cost more than the MLP's whole step): lamina compares the layers' configurations as
    # each epoch begins and recompiles, so the captured model follows the eager one.
    x = np.random.default_rng(0).standard_normal((64, 2)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")

    class SwapActivation(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.model.layers[0].activation = lamina.activations.get("tanh")

    counters.clear()
    (captured, _), (eager, _) = (
        _train_mlp(x, y, jit, epochs=2, callbacks=[SwapActivation()]) for jit in (True, False)
    )
    assert captured._compile_state.captured._compiled is not None
    assert counters["stats"]["unique_graphs"] == 2  # traced once per configuration
    _assert_same_weights(captured, eager)


def test_the_configuration_compared_is_plain_data_and_stable():
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    first = captured_step._configuration(model)
    assert first == captured_step._configuration(model)
    assert "0x" not in repr(first)  # no object addresses, which would differ call to call
    model.layers[0].strides = (2, 2)
    assert captured_step._configuration(model) != first


@pytest.mark.slow
def test_the_cuda_graph_options_compile_and_train_like_the_eager_step(monkeypatch):
    # The CUDA-graph branch (static addresses, a step mark per call) run on whatever device this
    # is: on a CPU inductor gets no triton.cudagraphs and compiles the graph without a CUDA graph,
    # which still runs the branch's own code; LAMINA_TEST_DEVICE=cuda runs it for real.
    monkeypatch.setattr(captured_step, "_wants_cuda_graphs", lambda device: True)
    x = np.random.default_rng(0).standard_normal((72, 2)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")

    (captured, captured_history), (eager, eager_history) = (
        _train_mlp(x, y, jit, epochs=3) for jit in (True, False)
    )
    assert captured._compile_state.captured._cuda_graphs
    assert captured._compile_state.captured._compiled is not None
    np.testing.assert_allclose(captured_history["loss"], eager_history["loss"], rtol=1e-5)
    _assert_same_weights(captured, eager)


def _train_mlp(x, y, jit, epochs, callbacks=()):
    """(model, history) of `_mlp()` trained from seed 5, captured (`jit`) or eager."""
    lamina.utils.set_random_seed(5)
    model = _mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", jit_compile=jit)
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=list(callbacks))
    return model, history.history


def _assert_same_weights(got_model, expected_model):
    pairs = zip(got_model.get_weights(), expected_model.get_weights(), strict=True)
    for got, expected in pairs:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------------------
# The metric updates: inside the graph for lamina's own metrics, outside it otherwise


def _metric_data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((56, 2)).astype("float32")
    return x, (x[:, :1] + 0.3 * x[:, 1:] > 0).astype("float32"), rng.uniform(0.5, 2, 56)


def _fit_with_metrics(jit, build=_mlp, **compile_args):
    """(model, history) of 3 epochs from seed 7, batches of 16 (the last one eager)."""
    x, y, weights = _metric_data()
    lamina.utils.set_random_seed(7)
    model = build()
    model.compile(optimizer="adam", loss="binary_crossentropy", jit_compile=jit, **compile_args)
    history = model.fit(
        x, y, sample_weight=weights, batch_size=16, epochs=3, shuffle=False, verbose=0
    )
    return model, history.history


def _assert_same_history(got, expected):
    assert got.keys() == expected.keys()
    for name, values in expected.items():
        np.testing.assert_allclose(got[name], values, rtol=1e-5, atol=1e-6, err_msg=name)


def _one_hot_metrics():
    """Every lamina metric that takes one-hot labels against softmax outputs."""
    m = lamina.metrics
    return [
        "accuracy",
        m.CategoricalAccuracy(),
        m.TopKCategoricalAccuracy(k=2),
        m.CategoricalCrossentropy(),
        m.KLDivergence(),
        m.F1Score(),
        m.FBetaScore(beta=2.0),
        m.OneHotIoU(num_classes=3, target_class_ids=[0, 2]),
        m.OneHotMeanIoU(num_classes=3),
        m.CategoricalHinge(),
        m.CosineSimilarity(),
        m.Precision(),
        m.Recall(),
        m.AUC(),
        m.AUC(multi_label=True, name="multi_label_auc"),
        m.PrecisionAtRecall(0.5),
        m.RecallAtPrecision(0.5),
        m.SensitivityAtSpecificity(0.5),
        m.SpecificityAtSensitivity(0.5),
        m.TruePositives(),
        m.FalsePositives(),
        m.TrueNegatives(),
        m.FalseNegatives(),
        m.PearsonCorrelation(),
        m.ConcordanceCorrelation(),
        m.R2Score(),
        m.MeanAbsoluteError(),
        m.MeanSquaredError(),
        m.MeanAbsolutePercentageError(),
        m.MeanSquaredLogarithmicError(),
        m.RootMeanSquaredError(),
        m.LogCoshError(),
        m.Poisson(),
        m.Hinge(),
        m.SquaredHinge(),
        m.BinaryAccuracy(),
        m.BinaryCrossentropy(),
        m.BinaryIoU(target_class_ids=[1]),
    ]


def _sparse_metrics():
    m = lamina.metrics
    return [
        m.SparseCategoricalAccuracy(),
        m.SparseTopKCategoricalAccuracy(k=2),
        m.SparseCategoricalCrossentropy(),
        m.MeanIoU(num_classes=3, sparse_y_pred=False),
        m.IoU(num_classes=3, target_class_ids=[1], sparse_y_pred=False),
    ]


def _fit_classifier(jit, labels):
    """History of a 3-class softmax model over 3 epochs, batches of 16 (the last one eager),
    with every metric of its label kind, and weighted ones fed sample weights."""
    lamina.backend.clear_session()  # unnamed metrics named alike in both runs (`auc`, not `auc_1`)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((56, 4)).astype("float32")
    classes = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    one_hot = labels == "one_hot"
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Input((4,)),
            layers.Dense(8, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam",
        loss="categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy",
        metrics=_one_hot_metrics() if one_hot else _sparse_metrics(),
        weighted_metrics=[lamina.metrics.AUC(name="weighted_auc") if one_hot else "accuracy"],
        jit_compile=jit,
    )
    y = np.eye(3, dtype="float32")[classes] if one_hot else classes
    weights = rng.uniform(0.5, 2.0, 56).astype("float32")
    fit = model.fit(x, y, sample_weight=weights, batch_size=16, epochs=3, shuffle=False, verbose=0)
    return model, fit.history


@pytest.mark.slow
@pytest.mark.parametrize("labels", ["one_hot", "sparse"])
def test_every_lamina_metric_is_updated_inside_the_graph_like_the_eager_step(labels):
    # Inside the graph a metric's Python-side values are those it had when traced (the guards
    # that would notice a change are cut): every built-in one must keep its state in tensors.
    captured, captured_history = _fit_classifier(True, labels)
    state = captured._compile_state.captured
    assert state._compiled is not None and state._metrics_inside
    _, eager_history = _fit_classifier(False, labels)
    _assert_same_history(captured_history, eager_history)


class CountingMean(lamina.metrics.Mean):
    """A user's metric with Python state, which a graph would bake in as it was when traced."""

    def __init__(self):
        super().__init__(name="prediction_mean")
        self.calls = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.calls += 1
        super().update_state(y_pred)


class CountingModel(OneDense):
    """compute_metrics of its own, counting its calls."""

    def __init__(self):
        super().__init__()
        self.metric_calls = 0

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        self.metric_calls += 1
        return super().compute_metrics(x, y, y_pred, sample_weight)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["user_metric", "user_compute_metrics"])
def test_a_users_metric_code_runs_outside_the_graph_at_every_step(case):
    if case == "user_metric":
        captured, history = _fit_with_metrics(True, metrics=[CountingMean()])
        calls = captured._compile_state.metrics.metrics[0].calls
    else:
        captured, history = _fit_with_metrics(True, build=CountingModel, metrics=["accuracy"])
        calls = captured.metric_calls
    state = captured._compile_state.captured
    assert state._compiled is not None and not state._metrics_inside
    assert calls == 3 * 4  # 3 epochs of 56 samples in batches of 16
    metrics = [CountingMean()] if case == "user_metric" else ["accuracy"]
    build = _mlp if case == "user_metric" else CountingModel
    _assert_same_history(history, _fit_with_metrics(False, build=build, metrics=metrics)[1])


@pytest.mark.slow
def test_metrics_that_fail_to_compile_inside_the_graph_move_out_of_it(monkeypatch):
    # A graph break in the loss tracker's update: the graph with the metrics inside cannot be
    # traced whole, and the step recompiles with them outside, silently, with the same numbers.
    update_weighted = lamina.metrics.Mean.update_weighted

    def breaking(self, value, weight):
        torch._dynamo.graph_break()
        update_weighted(self, value, weight)

    monkeypatch.setattr(lamina.metrics.Mean, "update_weighted", breaking)
    captured, captured_history = _fit_with_metrics(True, metrics=["accuracy"])
    state = captured._compile_state.captured
    assert not state.disabled and state._compiled is not None and not state._metrics_inside
    _assert_same_history(captured_history, _fit_with_metrics(False, metrics=["accuracy"])[1])
