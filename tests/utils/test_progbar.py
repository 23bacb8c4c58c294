import io

import numpy as np

from lamina.utils.progbar import Progbar


def test_an_array_value_shows_as_its_mean_as_keras_shows_it():
    # A custom train_step may return a per-sample loss; Keras's bar prints its mean.
    out = io.StringIO()
    bar = Progbar(1, verbose=2, stream=out)
    bar.update(1, {"loss": np.array([1.0, 2.0, 4.5]), "acc": np.float32(0.5)}, finalize=True)
    line = out.getvalue()
    assert "loss: 2.5000" in line and "acc: 0.5000" in line
