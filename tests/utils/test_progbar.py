import io

import numpy as np
import pytest

from lamina.utils.progbar import Progbar


def test_an_array_value_shows_as_its_mean_as_keras_shows_it():
    # A custom train_step may return a per-sample loss; Keras's bar prints its mean.
    out = io.StringIO()
    bar = Progbar(1, verbose=2, stream=out)
    bar.update(1, {"loss": np.array([1.0, 2.0, 4.5]), "acc": np.float32(0.5)}, finalize=True)
    line = out.getvalue()
    assert "loss: 2.5000" in line and "acc: 0.5000" in line


@pytest.mark.parametrize(
    "verbose, value, shown",
    [
        (1, 0.0, "0.0000e+00"),
        (1, 5e-4, "5.0000e-04"),
        (1, 12345.678, "12345.6780"),
        (1, -0.5, "-0.5000"),
        (2, 0.25, "0.2500"),
        (2, 123456.0, "123456.0000"),
        (2, -0.5, "-5.0000e-01"),
    ],
    ids=["zero", "tiny", "large", "negative", "v2", "v2-large", "v2-negative"],
)
def test_values_are_formatted_by_keras_rule(verbose, value, shown):
    # Keras: fixed point above 1e-3 (no upper bound), scientific at or below (0 too); the
    # verbose=2 line compares the signed value, so negatives come out scientific there.
    out = io.StringIO()
    bar = Progbar(1, verbose=verbose, stream=out)
    bar.update(1, {"loss": value}, finalize=True)
    assert out.getvalue().rstrip("\n").endswith(f" - loss: {shown}")
