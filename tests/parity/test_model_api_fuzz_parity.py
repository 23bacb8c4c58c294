"""Model API cases a differential fuzz against Keras 3 (torch backend) found apart: `summary()`
totals and cells. lamina prints Keras 2's text layout; what is compared is the content (the
counts, the shapes), not the box drawing."""

import re

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras


def _totals(model) -> list[str]:
    """The `... params: N` lines of `model.summary()`, as `name: N` (sizes and commas apart)."""
    lines = []
    model.summary(print_fn=lambda text, **_: lines.append(text))
    found = re.findall(r"(\w[\w-]* params): ([\d,]+)", "\n".join(lines))
    return [f"{name}: {count.replace(',', '')}" for name, count in found]


def _dense_model(module, optimizer, frozen):
    model = module.Sequential(
        [module.Input((4,)), module.layers.Dense(3), module.layers.Dense(1, name="head")]
    )
    model.layers[0].trainable = not frozen
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _run(model, step):
    x, y = np.ones((8, 4), "float32"), np.zeros((8, 1), "float32")
    if step == "fit":
        model.fit(x, y, epochs=1, verbose=0)
    elif step == "evaluate":
        model.evaluate(x, y, verbose=0)
    elif step == "test_on_batch":
        model.test_on_batch(x, y)
    elif step == "predict":  # builds no optimizer in Keras
        model.predict(x, verbose=0)


@pytest.mark.parity
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
@pytest.mark.parametrize("step", ["compile-only", "fit", "evaluate", "test_on_batch", "predict"])
@pytest.mark.parametrize("frozen", [False, True])
def test_summary_totals_count_optimizer_params_once_keras_builds_the_optimizer(
    optimizer, step, frozen
):
    """Keras 3 adds `Optimizer params: N` (and N to the total) once fit, evaluate or
    `*_on_batch` has built the optimizer; lamina's exists from compile, yet prints the line
    only then."""
    totals = []
    for module in (keras, lamina):
        model = _dense_model(module, optimizer, frozen)
        _run(model, step)
        totals.append(_totals(model))
    assert totals[1] == totals[0]


def _unbuilt(module):
    return module.Sequential(
        [module.layers.Dense(3, name="first"), module.layers.Dropout(0.1, name="drop")]
    )


def _shape_cells(model) -> dict:
    lines = []
    model.summary(print_fn=lambda text, **_: lines.append(text))
    text = "\n".join(lines)
    return {
        name: re.search(rf"{name} \((?:Dense|Dropout)\)\s+│?\s*(\S+)", text).group(1)
        for name in ("first", "drop")
    }


@pytest.mark.parity
def test_summary_of_an_unbuilt_model_shows_keras_question_mark():
    """A layer no shape has reached shows `?` in Keras 3 (lamina printed `multiple`, the cell
    Keras 2 keeps for a subclassed model's called layers)."""
    assert (
        _shape_cells(_unbuilt(lamina))
        == _shape_cells(_unbuilt(keras))
        == {
            "first": "?",
            "drop": "?",
        }
    )
