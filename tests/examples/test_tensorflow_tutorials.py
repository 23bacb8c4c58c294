"""Gaps TensorFlow's Keras tutorials (tensorflow.org/tutorials) found in lamina, each reproduced in
a few lines of our own, grouped by tutorial. The tutorials themselves are not copied here; see each
test's docstring for the workflow it stands for.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers

# keras/regression: one pandas column (a Series) trains a model on Input((1,)), and a frame that
# pd.get_dummies left with bool columns is refused by Normalization.adapt with a hint.


def test_fit_takes_a_pandas_series_for_a_one_feature_input():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"power": np.linspace(50.0, 200.0, 40), "mpg": np.linspace(40, 10, 40)})
    normalizer = layers.Normalization(axis=None)
    normalizer.adapt(np.array(frame["power"]))
    model = lamina.Sequential([lamina.Input((1,)), normalizer, layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.Adam(0.1), loss="mean_absolute_error")
    history = model.fit(frame["power"], frame["mpg"], epochs=2, verbose=0, validation_split=0.2)
    assert len(history.history["val_loss"]) == 2
    assert model.evaluate(frame["power"], frame["mpg"], verbose=0) > 0
    assert model.predict(frame["power"], verbose=0).shape == (40, 1)


def test_normalization_adapt_names_an_object_array():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"weight": [1.0, 2.0, 3.0], "usa": [True, False, True]})
    with pytest.raises(ValueError, match="dtype object.*np.array\\(frame, dtype='float32'\\)"):
        layers.Normalization().adapt(np.array(frame))
