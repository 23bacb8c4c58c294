"""scikit-learn estimators around lamina models: `SKLearnClassifier`, `SKLearnRegressor` and
`SKLearnTransformer`, as Keras's `keras.wrappers` defines them.

Each takes a compiled model, or a function `model(X=..., y=..., **model_kwargs)` building one
from the (validated) training data, and follows scikit-learn's estimator API, so it works in
`cross_val_score`, `GridSearchCV` and `Pipeline`, and `sklearn.base.clone` copies it. A classifier
one-hot encodes its targets for the model (`classes_` in sorted order) and decodes the model's
outputs back to labels by their largest column.

Examples:
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    >>> def build(X, y):
    ...     model = lamina.Sequential([lamina.Input((X.shape[1],)),
    ...                                lamina.layers.Dense(y.shape[1], activation="softmax")])
    ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
    ...     return model
    >>> SKLearnClassifier(build, fit_kwargs={"epochs": 1, "verbose": 0}).fit(X, y).classes_
    array([0, 1])
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data


def _require_compiled(model) -> None:
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise RuntimeError(
            "Given model needs to be compiled, and have a loss and an optimizer. Hint: call "
            "model.compile(optimizer=..., loss=...) in the function that builds it."
        )


def _fresh_copy(model):
    """A clone of `model` with new weights, compiled as `model` is (as Keras's clone_model)."""
    from lamina.models import clone_model
    from lamina.saving import model_config

    clone = clone_model(model)
    settings = model_config._compile_config(model)
    if settings is not None:
        model_config.compile_from(clone, settings, source="SKLearn wrapper")
    return clone


class _SKLearnBase(BaseEstimator):
    """What the three wrappers share: building the model, `fit`, `predict` and sklearn tags."""

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self):
        model = self.model if callable(self.model) else copy.deepcopy(self.model)
        return type(self)(
            model=model,
            warm_start=self.warm_start,
            model_kwargs=copy.deepcopy(self.model_kwargs),
            fit_kwargs=copy.deepcopy(self.fit_kwargs),
        )

    @property
    def epoch_(self):
        """The epochs the last fit ran (0 before any fit)."""
        history = getattr(self, "history_", None)
        return len(getattr(history, "epoch", [])) if history is not None else 0

    def _build_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        from lamina.engine.model import Model

        if isinstance(self.model, Model):
            return self.model if self.warm_start else _fresh_copy(self.model)
        if not callable(self.model):
            raise TypeError(
                "`model` should be a compiled lamina model or a callable building one; received "
                f"{type(self.model).__name__}."
            )
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X, y, **kwargs):
        """Train the model (built or cloned first, see `warm_start`) on `X` and `y`.

        Args:
            X: array-like of shape `(n_samples, n_features)`.
            y: array-like of shape `(n_samples,)` or `(n_samples, n_outputs)`.
            **kwargs: keyword arguments for `model.fit`, over those of `fit_kwargs`.

        Returns:
            The estimator.
        """
        X, y = validate_data(self, X, y, multi_output=True)
        y = self._encode_targets(y, reset=True)
        model = self._build_model(X, y)
        _require_compiled(model)
        options = {**(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(X, y, **options)
        self.model_ = model
        return self

    def _outputs(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return np.asarray(self.model_.predict(X, verbose=0))

    def predict(self, X):
        """The model's predictions for `X` (labels, for a classifier).

        Args:
            X: array-like of shape `(n_samples, n_features)`.

        Returns:
            An array with one row (or value) per sample.
        """
        return self._decode_targets(self._outputs(X))

    def _encode_targets(self, y, reset=False):
        if type_of_target(y) == "unknown":
            raise ValueError(f"Unknown label type for data: {y!r}")
        if reset:
            self._target_ndim = np.ndim(y)
        return np.reshape(y, (-1, 1)) if np.ndim(y) == 1 else y

    def _decode_targets(self, outputs):
        if self._target_ndim == 1 and outputs.ndim == 2 and outputs.shape[1] == 1:
            return outputs[:, 0]
        return outputs


class SKLearnClassifier(ClassifierMixin, _SKLearnBase):
    """A scikit-learn classifier training a lamina model on one-hot encoded labels.

    Labels may be any values (`classes_` holds them, sorted); the model sees `y` one-hot encoded
    (`(n_samples, n_classes)`, also for two classes) and `predict` returns the label of each
    output row's largest entry. `decision_function` returns the raw outputs.

    Args:
        model: a compiled lamina model (cloned with fresh weights and the same compile settings
            for each fit, unless `warm_start`), or a callable `model(X=X, y=y, **model_kwargs)`
            returning a compiled model (`y` as the model sees it: one-hot for a classifier).
        warm_start: keep training the model of the previous fit instead of starting anew.
        model_kwargs: extra keyword arguments for `model` when it is a callable.
        fit_kwargs: keyword arguments for `model.fit` (`epochs`, `batch_size`, ...); those given
            to `fit` itself take precedence.

    Example:
        >>> from sklearn.datasets import load_digits
        >>> X, y = load_digits(return_X_y=True)
        >>> def build(X, y, hidden=16):
        ...     model = lamina.Sequential([
        ...         lamina.Input((X.shape[1],)),
        ...         lamina.layers.Dense(hidden, activation="relu"),
        ...         lamina.layers.Dense(y.shape[1], activation="softmax")])
        ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
        ...     return model
        >>> clf = SKLearnClassifier(build, model_kwargs={"hidden": 8},
        ...                         fit_kwargs={"epochs": 1, "verbose": 0})
        >>> clf.fit(X[:100] / 16, y[:100]).predict(X[:3] / 16).shape
        (3,)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def decision_function(self, X):
        """The model's raw outputs for `X`, one column per class of `classes_`.

        Args:
            X: array-like of shape `(n_samples, n_features)`.

        Returns:
            An array of shape `(n_samples, n_classes)`.
        """
        return self._outputs(X)

    def _encode_targets(self, y, reset=False):
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"Only binary and multiclass target types are supported. Target type: {kind}"
            )
        column = np.reshape(y, (-1, 1))
        if reset:
            self._target_ndim = np.ndim(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
            self._encoder = OneHotEncoder(sparse_output=False).fit(column)
        return self._encoder.transform(column)

    def _decode_targets(self, outputs):
        labels = self.classes_[np.argmax(outputs, axis=1)]
        return labels if self._target_ndim == 1 else labels.reshape(-1, 1)


class SKLearnRegressor(RegressorMixin, _SKLearnBase):
    """A scikit-learn regressor training a lamina model; `score` is R².

    Targets pass to the model as they are (a 1-D `y` as one column), and `predict` returns 1-D
    predictions for a 1-D `y`.

    Args:
        model: a compiled lamina model (cloned with fresh weights and the same compile settings
            for each fit, unless `warm_start`), or a callable `model(X=X, y=y, **model_kwargs)`
            returning a compiled model (`y` as the model sees it: one-hot for a classifier).
        warm_start: keep training the model of the previous fit instead of starting anew.
        model_kwargs: extra keyword arguments for `model` when it is a callable.
        fit_kwargs: keyword arguments for `model.fit` (`epochs`, `batch_size`, ...); those given
            to `fit` itself take precedence.

    Example:
        >>> from sklearn.datasets import make_regression
        >>> X, y = make_regression(n_samples=32, n_features=3, random_state=0)
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> reg = SKLearnRegressor(model, fit_kwargs={"epochs": 1, "verbose": 0}).fit(X, y)
        >>> reg.predict(X[:4]).shape
        (4,)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, _SKLearnBase):
    """A scikit-learn transformer whose `transform` is a trained lamina model's output
    (an embedding, say) - a transformer in scikit-learn's sense, for a `Pipeline` step.

    Args:
        model: a compiled lamina model (cloned with fresh weights and the same compile settings
            for each fit, unless `warm_start`), or a callable `model(X=X, y=y, **model_kwargs)`
            returning a compiled model (`y` as the model sees it: one-hot for a classifier).
        warm_start: keep training the model of the previous fit instead of starting anew.
        model_kwargs: extra keyword arguments for `model` when it is a callable.
        fit_kwargs: keyword arguments for `model.fit` (`epochs`, `batch_size`, ...); those given
            to `fit` itself take precedence.

    Example:
        >>> X = np.random.default_rng(0).normal(size=(16, 4))
        >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> step = SKLearnTransformer(model, fit_kwargs={"epochs": 1, "verbose": 0})
        >>> step.fit(X, X[:, :2]).transform(X).shape
        (16, 2)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags

    def transform(self, X):
        """The model's outputs for `X`.

        Args:
            X: array-like of shape `(n_samples, n_features)`.

        Returns:
            An array with one row per sample.
        """
        return self._outputs(X)
