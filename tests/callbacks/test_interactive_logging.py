"""With interactive logging off, fit's progress and callback messages go to the `lamina` logger."""

import logging

import numpy as np
import pytest

import lamina
from lamina import layers, models


@pytest.fixture
def logging_off():
    lamina.config.disable_interactive_logging()
    yield
    lamina.config.enable_interactive_logging()


def _model():
    model = models.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")


def test_fit_writes_to_the_logger_not_stdout(logging_off, capsys, caplog):
    x, y = _data()
    stopper = lamina.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9, verbose=1)
    with caplog.at_level(logging.INFO, logger="lamina"):
        _model().fit(x, y, epochs=3, batch_size=8, verbose=1, callbacks=[stopper])
    assert capsys.readouterr().out == ""
    messages = [record.getMessage() for record in caplog.records if record.name == "lamina"]
    assert messages[0] == "Epoch 1/3"
    assert messages[1].startswith("2/2 [==============================]")
    assert "loss: " in messages[1]
    assert "Epoch 2: early stopping" in messages


def test_fit_writes_to_stdout_by_default(capsys, caplog):
    x, y = _data()
    with caplog.at_level(logging.INFO, logger="lamina"):
        _model().fit(x, y, epochs=2, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert out.startswith("Epoch 1/2\n")
    assert "2/2 [==============================]" in out
    assert not [record for record in caplog.records if record.name == "lamina"]
