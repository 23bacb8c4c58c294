"""scikit-learn wrappers for lamina models (Keras's `keras.wrappers`).

Examples:
    >>> issubclass(SKLearnRegressor, sklearn.base.RegressorMixin)  # doctest: +SKIP
    True
"""

from lamina.wrappers.sklearn_wrappers import (
    SKLearnClassifier,
    SKLearnRegressor,
    SKLearnTransformer,
)

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
