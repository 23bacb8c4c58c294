"""compile()'s loss and metrics (engine/compile_utils.py): `metrics` unweighted and
`weighted_metrics` weighted by sample_weight / class_weight, named as Keras names them, and the
loss checks keyed by the loss's class."""

import numpy as np
import pytest
import torch

import lamina
from lamina.engine import loss_checks
from tests.parity import reference


def binary(L, M):
    return M.Sequential([L.Input((4,)), L.Dense(1, activation="sigmoid")])


def two_outputs(L, M):
    inputs = L.Input((4,))
    hidden = L.Dense(8, activation="relu", name="hidden")(inputs)
    a = L.Dense(1, activation="sigmoid", name="a")(hidden)
    b = L.Dense(1, name="b")(hidden)
    return M.Model(inputs, [a, b])


def data(n=40):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (rng.random(n) > 0.5).astype("float32")
    sample_weight = rng.random(n).astype("float32")
    return x, y, sample_weight


def ours_and_weights(build):
    model = build(lamina.layers, lamina)
    return model, model.get_weights()


BINARY_CASES = {
    "metrics-unweighted": dict(metrics=["accuracy"]),
    "weighted-only": dict(weighted_metrics=["accuracy"]),
    "both-same-name": dict(metrics=["accuracy", "mae"], weighted_metrics=["accuracy", "mse"]),
}


@pytest.mark.parity
@pytest.mark.parametrize("case", list(BINARY_CASES))
def test_sample_weight_reaches_only_the_weighted_metrics_as_in_keras(case):
    x, y, sample_weight = data()
    model, weights = ours_and_weights(binary)
    kwargs = dict(optimizer="sgd", loss="binary_crossentropy", **BINARY_CASES[case])
    expected = reference.keras_evaluate(binary, weights, x, y, sample_weight, **kwargs)
    model.compile(**kwargs)
    got = model.evaluate(x, y, sample_weight=sample_weight, verbose=0, return_dict=True)
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-5), name


def test_unweighted_accuracy_ignores_sample_weight_by_hand():
    model = binary(lamina.layers, lamina)
    model.compile(loss="binary_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    x, y, _ = data(8)
    predicted = (model.predict(x, verbose=0)[:, 0] > 0.5).astype("float32")
    sample_weight = np.arange(1, 9, dtype="float32")
    hits = (predicted == y).astype("float32")
    logs = model.evaluate(x, y, sample_weight=sample_weight, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(hits.mean())
    assert logs["weighted_accuracy"] == pytest.approx((hits * sample_weight).sum() / 36.0)


@pytest.mark.parity
def test_class_weight_reaches_only_the_weighted_metrics_as_in_keras():
    x, y, _ = data()
    model, weights = ours_and_weights(binary)
    kwargs = dict(
        optimizer=None,
        loss="binary_crossentropy",
        metrics=["accuracy"],
        weighted_metrics=["accuracy"],
    )
    class_weight = {0: 0.25, 1: 3.0}
    kwargs["optimizer"] = reference.keras.optimizers.SGD(learning_rate=0.0)
    expected = reference.keras_evaluate(binary, weights, x, y, class_weight=class_weight, **kwargs)
    kwargs["optimizer"] = lamina.optimizers.SGD(learning_rate=0.0)
    model.compile(**kwargs)
    history = model.fit(
        x, y, class_weight=class_weight, batch_size=len(x), epochs=1, verbose=0, shuffle=False
    )
    got = {k: v[0] for k, v in history.history.items()}
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-5), name


@pytest.mark.parity
def test_multi_output_weighted_metrics_are_named_and_weighted_as_in_keras():
    x, y, sample_weight = data()
    model, weights = ours_and_weights(two_outputs)
    kwargs = dict(
        optimizer="sgd",
        loss=["binary_crossentropy", "mse"],
        metrics=[["accuracy"], ["mae"]],
        weighted_metrics=[["accuracy"], ["mae", "mse"]],
    )
    expected = reference.keras_evaluate(two_outputs, weights, x, [y, y], sample_weight, **kwargs)
    model.compile(**kwargs)
    got = model.evaluate(x, [y, y], sample_weight=sample_weight, verbose=0, return_dict=True)
    assert set(got) == set(expected)  # a_weighted_accuracy, b_weighted_mae, b_mse, ...
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-5), name


@pytest.mark.parity
def test_metrics_named_by_class_strings_take_the_output_prefix_as_in_keras():
    x, y, _ = data()
    y = y[:, None]
    model, weights = ours_and_weights(two_outputs)
    kwargs = dict(
        optimizer="sgd",
        loss="mse",
        metrics=[["mean_squared_error", "binary_crossentropy"], "MeanAbsoluteError"],
    )
    expected = reference.keras_evaluate(two_outputs, weights, x, [y, y], **kwargs)
    model.compile(**kwargs)
    got = model.evaluate(x, [y, y], verbose=0, return_dict=True)
    assert set(got) == set(expected)  # a_binary_crossentropy, b_MeanAbsoluteError, ...
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-5), name


def test_weighted_metrics_typo_fails_at_compile():
    model = binary(lamina.layers, lamina)
    with pytest.raises(ValueError, match="accuracyy"):
        model.compile(loss="mse", weighted_metrics=["accuracyy"])


def test_loss_checks_are_keyed_by_the_loss_class_not_the_function_name():
    class Smoothed(lamina.losses.SparseCategoricalCrossentropy):
        pass

    def mean_squared_error(y_true, y_pred):  # a user's own loss that shares Keras's name
        return ((y_true - y_pred) ** 2).mean()

    assert loss_checks.family_of(Smoothed()) is lamina.losses.SparseCategoricalCrossentropy
    assert loss_checks.family_of(lamina.losses.get("mse")) is lamina.losses.MeanSquaredError
    assert loss_checks.family_of(mean_squared_error) is None

    model = lamina.Sequential([lamina.layers.Input((4, 3)), lamina.layers.Dense(5)])
    x = np.zeros((8, 4, 3), "float32")
    model.compile(loss=Smoothed())
    with pytest.raises(ValueError, match="Add Flatten"):
        model.fit(x, np.zeros(8, "int64"), verbose=0)


def _three_heads(m):
    """Outputs {"a", "b", "c"} reading 3, 6 and 9 on an input of ones."""
    inputs = m.Input((3,), name="x")
    heads = {key: m.layers.Dense(1, name=key)(inputs) for key in "abc"}
    model = m.Model(inputs, heads)
    model.set_weights(
        [
            np.full((3, 1), k, "float32") if i % 2 == 0 else np.zeros(1, "float32")
            for i, k in enumerate([1, 1, 2, 2, 3, 3])
        ]
    )
    return model


def _evaluate_partial_losses(m, loss, labels, metrics=None):
    model = _three_heads(m)
    model.compile(optimizer=m.optimizers.SGD(0.0), loss=loss, metrics=metrics)
    y = {key: np.zeros((4, 1), "float32") for key in labels}
    return model.evaluate(np.ones((4, 3), "float32"), y, verbose=0, return_dict=True)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("loss", "labels", "metrics"),
    [
        ({"a": "mse", "c": "mae"}, "ac", None),
        ({"a": "mse", "c": "mae"}, "abc", {"b": ["mae"]}),
    ],
    ids=["labels-for-the-scored-outputs", "and-for-an-output-with-metrics"],
)
def test_labels_only_for_outputs_with_a_loss_or_metrics_as_keras(loss, labels, metrics):
    # Keras takes labels for the outputs it scores; it logs a loss per output that has one.
    ours = _evaluate_partial_losses(lamina, loss, labels, metrics)
    assert ours == reference.keras_run(
        lambda keras: _evaluate_partial_losses(keras, loss, labels, metrics)
    )


def test_missing_labels_of_a_scored_output_are_named_never_taken_from_another():
    # Before: the labels of "a" were paired with output "c" (both (4, 1)) and trained it.
    with pytest.raises(ValueError, match=r"Output 'c' of model .* loss needs.*keyed \['a'\]"):
        _evaluate_partial_losses(lamina, {"a": "mse", "c": "mse"}, "a")
    with pytest.raises(ValueError, match=r"Output 'b' .*metrics \['b_mae'\]"):
        _evaluate_partial_losses(lamina, {"a": "mse", "c": "mse"}, "ac", {"b": ["mae"]})


def three_outputs(m):
    inputs = m.Input((4,))
    hidden = m.layers.Dense(8, activation="relu", name="hidden")(inputs)
    heads = [m.layers.Dense(1, name=name)(hidden) for name in ("a", "b", "c")]
    return m.Model(inputs, heads)


SCORED_OUTPUT_CASES = {
    "all-three": ["mse", "mse", "mae"],
    "two-of-three": [None, "mse", "mae"],
    "one-of-three": ["mse", None, None],
}


def _scored_output_logs(m, losses):
    model = three_outputs(m)
    rng = np.random.default_rng(5)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    model.compile(optimizer="sgd", loss=losses)
    x = rng.normal(size=(12, 4)).astype("float32")
    ys = [rng.normal(size=(12, 1)).astype("float32") for _ in range(3)]
    logs = model.evaluate(x, ys, batch_size=4, verbose=0, return_dict=True)
    return model.metrics_names, logs


@pytest.mark.parity
@pytest.mark.parametrize("case", list(SCORED_OUTPUT_CASES))
def test_per_output_loss_logs_only_for_outputs_with_a_loss_as_in_keras(case):
    losses = SCORED_OUTPUT_CASES[case]
    names, logs = _scored_output_logs(lamina, losses)
    keras_names, keras_logs = reference.keras_run(lambda m: _scored_output_logs(m, losses))
    assert names == keras_names
    assert logs == pytest.approx(keras_logs, rel=1e-5)


def _custom_step_with_sample_weight(m):
    """A train_step that updates `self.metrics` itself, passing the batch's sample weights, as
    Keras's guide "Customizing what happens in fit() with PyTorch" does."""

    class CustomModel(m.Model):
        def train_step(self, data):
            x, y, sample_weight = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
            loss.backward()
            weights = list(self.trainable_weights)
            with torch.no_grad():
                self.optimizer.apply([w.value.grad for w in weights], weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)
            return {metric.name: metric.result() for metric in self.metrics}

    inputs = m.Input((4,))
    model = CustomModel(inputs, m.layers.Dense(1)(inputs))
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    model.compile(
        optimizer=m.optimizers.SGD(0.05), loss="mse", metrics=["mae"], weighted_metrics=["mse"]
    )
    x = rng.normal(size=(24, 4)).astype("float32")
    y = rng.normal(size=(24, 1)).astype("float32")
    sample_weight = rng.random((24, 1)).astype("float32")
    history = model.fit(x, y, sample_weight=sample_weight, batch_size=8, epochs=2, shuffle=False)
    return [metric.name for metric in model.metrics], history.history


@pytest.mark.parity
def test_compiled_metrics_are_one_entry_that_weights_only_weighted_metrics_as_in_keras():
    names, history = _custom_step_with_sample_weight(lamina)
    keras_names, keras_history = reference.keras_run(_custom_step_with_sample_weight)
    assert names == keras_names == ["loss", "compile_metrics"]
    assert sorted(history) == sorted(keras_history) == ["loss", "mae", "mse"]
    for key, values in keras_history.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-5)


def _custom_loss_rank_run(m):
    """A plain-function loss (keras-io's contrastive loss) on labels (N,) and outputs (N, 1)."""

    def contrastive(y_true, y_pred):
        near = (1 - y_true) * m.ops.square(y_pred)
        far = y_true * m.ops.square(m.ops.maximum(1.0 - y_pred, 0.0))
        return m.ops.mean(near + far)

    inputs = m.Input((3,))
    model = m.Model(inputs, m.layers.Dense(1, activation="sigmoid")(inputs))
    model.set_weights([np.array([[0.3], [-0.2], [0.1]], "float32"), np.zeros(1, "float32")])
    model.compile(optimizer=m.optimizers.SGD(0.5), loss=contrastive)
    x = np.linspace(-1, 1, 24, dtype="float32").reshape(8, 3)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype="float32")
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    return history.history["loss"], model.evaluate(x, y, verbose=0)


def test_a_loss_function_sees_labels_of_the_outputs_rank_as_in_keras():
    ours = _custom_loss_rank_run(lamina)
    theirs = reference.keras_run(_custom_loss_rank_run)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)


def test_compute_loss_before_compile_gives_the_layers_losses_or_says_what_is_missing():
    # Keras: an uncompiled model's compute_loss is its layers' losses; with none, a ValueError.
    x, y = np.ones((2, 3), "float32"), np.zeros((2, 1), "float32")
    penalized = lamina.Sequential(
        [lamina.Input((3,)), lamina.layers.Dense(1, kernel_regularizer="l2")]
    )
    expected = 0.01 * (penalized.layers[0].kernel.detach() ** 2).sum()
    torch.testing.assert_close(penalized.compute_loss(y=y, y_pred=penalized(x)), expected)
    plain = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)], name="plain")
    with pytest.raises(ValueError, match="Model 'plain' expects a loss to compute.*never compiled"):
        plain.compute_loss(y=y, y_pred=plain(x))


@pytest.mark.parametrize("case", ["binary", "sparse", "categorical"])
def test_crossentropy_loss_name_picks_the_kind_as_keras(case):
    # compile(loss="crossentropy" / "ce") picks binary, sparse or categorical from the first batch.
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(8, 4)).astype("float32")
    units, activation, y = {
        "binary": (1, "sigmoid", (x[:, :1] > 0.5).astype("float32")),
        "sparse": (3, "softmax", rng.integers(0, 3, (8,))),
        "categorical": (3, "softmax", np.eye(3, dtype="float32")[rng.integers(0, 3, 8)]),
    }[case]
    losses, weights = [], None
    for framework, spec in ((reference.keras, "crossentropy"), (lamina, "ce")):
        model = framework.Sequential(
            [framework.Input((4,)), framework.layers.Dense(units, activation)]
        )
        if weights is None:
            weights = model.get_weights()
        else:
            model.set_weights(weights)
        model.compile(loss=spec)
        losses.append(model.evaluate(x, y, verbose=0))
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)


@pytest.mark.parametrize("grad_enabled", [True, False])
def test_metric_updates_run_without_gradient_and_restore_the_grad_mode(grad_enabled):
    seen = []

    class Watch(lamina.metrics.Metric):
        def __init__(self):
            super().__init__(name="watch")
            self.add_state("total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            seen.append(torch.is_grad_enabled())
            if y_true.sum() < 0:
                raise RuntimeError("refused")
            self.total += y_pred.sum()

        def result(self):
            return self.total

    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=[Watch()])
    x = torch.ones(4, 2)
    model.train_on_batch(x, torch.ones(4, 1))  # builds the compiled metrics
    compiled = model._compile_state.metrics
    y_pred = model(x)
    with torch.set_grad_enabled(grad_enabled):
        compiled.update_flat([torch.ones(4, 1)], [y_pred])
        assert torch.is_grad_enabled() is grad_enabled
        with pytest.raises(RuntimeError, match="refused"):
            compiled.update_flat([-torch.ones(4, 1)], [y_pred])
        assert torch.is_grad_enabled() is grad_enabled
    assert seen == [False, False, False]
    assert not compiled.metrics[0].total.requires_grad
