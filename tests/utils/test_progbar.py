import contextlib
import io
import re
import sys
import types

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


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    "which",
    [{}, {"stateful_metrics": ["v"]}, {"stateless_metrics": []}, {"stateless_metrics": ["v"]}],
    ids=["default", "stateful", "none-stateless", "stateless"],
)
def test_value_pairs_are_averaged_over_steps_as_keras(which):
    # Keras's (name, value) pairs: a value counts for the steps since the last update and shows
    # as the mean so far, unless stateful; `add` moves on; the target's update finalizes.
    from tests.parity.reference import keras

    shown = []
    for module in (keras.utils, None):
        out = _Terminal()
        with contextlib.redirect_stdout(out):
            bar = (module.Progbar if module else Progbar)(4, interval=0.0, **which)
            bar.update(1, [("v", 0.0)])
            bar.update(3, [("v", 2.0)])
            bar.add(1, [("v", 5.0)])
        shown.append(
            (re.findall(r"v: ([-+.0-9e]+)", out.getvalue()), out.getvalue().endswith("\n"))
        )
    assert shown[0] == shown[1]


def test_stateful_and_stateless_metrics_exclude_each_other():
    with pytest.raises(ValueError, match="Only one of `stateful_metrics` or `stateless_metrics`"):
        Progbar(1, stateful_metrics=[], stateless_metrics=[])


@pytest.mark.parametrize("where", ["notebook", "pycharm", "file"])
def test_stdout_redraws_in_place_in_a_notebook_or_pycharm_not_in_a_file(where, monkeypatch, capsys):
    # A notebook's stdout (Jupyter, Colab) is no terminal but renders "\r": the bar showed
    # nothing until the epoch ended there. Keras redraws in both; a log file keeps one line.
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    if where == "notebook":
        monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    elif where == "pycharm":
        monkeypatch.setenv("PYCHARM_HOSTED", "1")
    bar = Progbar(3, verbose=1, interval=0.0)
    for step in (1, 2, 3):
        bar.update(step, {"loss": float(step)})
    shown = capsys.readouterr().out
    if where == "file":
        assert shown.count("\n") == 1 and "\r" not in shown and "3/3" in shown
    else:
        assert [part.split(" [")[0] for part in shown.split("\r")[1:]] == ["1/3", "2/3", "3/3"]
        assert shown.endswith("\n") and "loss: 2.0000" in shown
    # A stream the caller gives is drawn by what it is, whatever the environment.
    out = io.StringIO()
    given = Progbar(3, verbose=1, interval=0.0, stream=out)
    given.update(1, {"loss": 1.0})
    assert out.getvalue() == ""
