"""compile()'s loss and metrics (engine/compile_utils.py): `metrics` unweighted and
`weighted_metrics` weighted by sample_weight / class_weight, named as Keras names them, and the
loss checks keyed by the loss's class."""

import numpy as np
import pytest

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
