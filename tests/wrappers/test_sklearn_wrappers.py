"""SKLearnClassifier / SKLearnRegressor / SKLearnTransformer: the same numbers as Keras's wrappers
from the same weights, and scikit-learn's API (clone, params, cross_val_score, Pipeline)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lamina
from lamina.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer
from tests.parity import reference

QUIET = {"verbose": 0}


def _dense_builder(weights, loss, activation=None):
    units = weights[0].shape[1]

    def build(X, y):
        model = lamina.Sequential(
            [lamina.Input((X.shape[1],)), lamina.layers.Dense(units, activation=activation)]
        )
        model.set_weights(weights)
        model.compile(optimizer=lamina.optimizers.SGD(0.1), loss=loss)
        return model

    return build


def _mlp(X, y, hidden=16):
    model = lamina.Sequential(
        [
            lamina.Input((X.shape[1],)),
            lamina.layers.Dense(hidden, activation="relu"),
            lamina.layers.Dense(y.shape[1], activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def test_classifier_matches_keras_with_string_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 4))
    y = np.array(["emu", "cat", "dog"] * 8)
    weights = [rng.normal(size=(4, 3)).astype("float32"), np.zeros(3, "float32")]
    fit = {"epochs": 2, "batch_size": 24, "shuffle": False, "verbose": 0}
    theirs = reference.keras_sklearn_run(
        "Classifier", weights, "categorical_crossentropy", X, y, X[:6], **fit
    )
    ours = SKLearnClassifier(
        _dense_builder(weights, "categorical_crossentropy", "softmax"), fit_kwargs=fit
    ).fit(X, y)
    np.testing.assert_array_equal(ours.classes_, ["cat", "dog", "emu"])
    np.testing.assert_array_equal(ours.classes_, theirs["classes_"])
    np.testing.assert_allclose(
        ours.decision_function(X[:6]), theirs["decision_function"], atol=1e-5
    )
    np.testing.assert_array_equal(ours.predict(X[:6]), theirs["predict"])


def test_regressor_matches_keras():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    weights = [rng.normal(size=(3, 1)).astype("float32"), np.zeros(1, "float32")]
    fit = {"epochs": 3, "batch_size": 20, "shuffle": False, "verbose": 0}
    theirs = reference.keras_sklearn_run("Regressor", weights, "mse", X, y, X[:5], **fit)
    ours = SKLearnRegressor(_dense_builder(weights, "mse"), fit_kwargs=fit).fit(X, y)
    assert ours.predict(X[:5]).shape == (5,)
    np.testing.assert_allclose(ours.predict(X[:5]), theirs["predict"], atol=1e-5)


def test_pipeline_and_cross_val_score_on_digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    lamina.utils.set_random_seed(0)
    pipeline = make_pipeline(
        StandardScaler(),
        SKLearnClassifier(_mlp, model_kwargs={"hidden": 32}, fit_kwargs={"epochs": 40, **QUIET}),
    )
    pipeline.fit(X[:200], y[:200])
    assert pipeline.score(X[200:], y[200:]) > 0.8
    scores = cross_val_score(
        SKLearnClassifier(_mlp, fit_kwargs={"epochs": 2, **QUIET}), X[:90], y[:90], cv=3
    )
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def test_params_clone_and_fit_kwargs():
    estimator = SKLearnClassifier(_mlp, model_kwargs={"hidden": 4}, fit_kwargs={"epochs": 3})
    assert estimator.get_params() == {
        "model": _mlp,
        "warm_start": False,
        "model_kwargs": {"hidden": 4},
        "fit_kwargs": {"epochs": 3},
    }
    twin = clone(estimator.set_params(warm_start=True))
    assert twin.get_params()["warm_start"] is True
    assert twin.model_kwargs == {"hidden": 4} and twin.model_kwargs is not estimator.model_kwargs
    X, y = make_classification(n_samples=30, n_features=5, random_state=0)
    estimator.fit(X, y, epochs=1, verbose=0)
    assert estimator.epoch_ == 1
    assert estimator.fit_kwargs == {"epochs": 3}  # fit's own kwargs do not leak into params
    with pytest.raises(NotFittedError):
        twin.predict(X)


def test_model_instances_are_cloned_unless_warm_start():
    X, y = make_classification(n_samples=30, n_features=5, random_state=0)
    model = lamina.Sequential([lamina.Input((5,)), lamina.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    cold = SKLearnClassifier(model, fit_kwargs={"epochs": 1, **QUIET}).fit(X, y)
    assert cold.model_ is not model and cold.model_.compiled
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before, strict=True))
    first = cold.model_
    assert cold.fit(X, y).model_ is not first
    warm = SKLearnClassifier(model, warm_start=True, fit_kwargs={"epochs": 1, **QUIET})
    assert warm.fit(X, y).model_ is model
    kernel = model.get_weights()[0].copy()
    assert warm.fit(X, y).model_ is model
    assert not np.array_equal(model.get_weights()[0], kernel)


def test_errors():
    X, y = make_classification(n_samples=20, n_features=4, random_state=0)
    uncompiled = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
    with pytest.raises(RuntimeError, match="needs to be compiled"):
        SKLearnClassifier(lambda X, y: uncompiled).fit(X, y)
    with pytest.raises(ValueError, match="Only binary and multiclass target types"):
        SKLearnClassifier(_mlp).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="only one class is present"):
        SKLearnClassifier(_mlp).fit(X, np.zeros(20))


def test_transformer_feeds_a_pipeline():
    X, y = make_classification(n_samples=40, n_features=6, random_state=0)
    model = lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    step = SKLearnTransformer(model, fit_kwargs={"epochs": 1, **QUIET})
    assert step.fit_transform(X, X[:, :3]).shape == (40, 3)
    np.testing.assert_allclose(step.transform(X), step.model_.predict(X, verbose=0), atol=1e-6)
    pipeline = make_pipeline(FrozenEstimator(step), LogisticRegression()).fit(X, y)
    assert pipeline.predict(X[:5]).shape == (5,)
