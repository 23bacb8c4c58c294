"""The names of the per-loss trackers in `fit`'s history and `evaluate`'s dict, against Keras: a
loss on one output is named by the output's path in the outputs' structure (its last position
replaced by the output's name), or by the loss's own name where the outputs are not the model's."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras_run

RNG = np.random.default_rng(0)
X3 = RNG.random((4, 3)).astype("float32")


def _nested_inputs(library):
    inputs = [library.Input((n,), name=f"in{n}") for n in (1, 2, 3)]
    outputs = [
        library.layers.Dense(n, name=f"d{n}")(i) for n, i in zip((1, 2, 3), inputs, strict=True)
    ]
    return inputs, outputs


def _features():
    return {f"in{n}": np.ones((4, n), "float32") for n in (1, 2, 3)}


def _labels(structure):
    return lamina.tree.map_structure(lambda n: np.ones((4, n), "float32"), structure)


STRUCTURES = {
    "nested-dict": {"1": 1, "others": {"2": 2, "3": 3}},
    "dict-of-lists": {"a": [1, 2], "b": 3},
    "list-of-dicts": [1, {"x": 2, "y": 3}],
}


@pytest.mark.parametrize("case", sorted(STRUCTURES))
def test_a_nested_output_structure_names_its_losses_by_path_as_keras(case):
    structure = STRUCTURES[case]

    def program(library):
        inputs, outputs = _nested_inputs(library)
        by_size = dict(zip((1, 2, 3), outputs, strict=True))
        model = library.Model(inputs, library.tree.map_structure(by_size.get, structure))
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(_features(), _labels(structure), epochs=1, verbose=0)
        logs = model.evaluate(_features(), _labels(structure), verbose=0, return_dict=True)
        return sorted(history.history), sorted(logs)

    expected = keras_run(program)
    assert program(lamina) == expected
    assert "loss" in expected[0] and len(expected[0]) == 4


def _two_losses_on_one_output(library, losses):
    class SplitLoss(library.Model):
        def __init__(self):
            inputs = library.Input((3,), name="inputs")
            super().__init__(inputs, library.layers.Dense(1, name="a")(inputs))

        def compute_loss(self, x, y, y_pred, sample_weight=None, **kwargs):
            # One output handed to the compiled loss twice, as Keras's own test does.
            return super().compute_loss(x, y, [y_pred, y_pred], sample_weight, **kwargs)

    model = SplitLoss()
    model.compile(optimizer="sgd", loss=losses)
    labels = (RNG.random((4, 1)), RNG.integers(0, 2, (4, 1)).astype("float32"))
    return sorted(model.fit(X3, labels, batch_size=2, epochs=1, verbose=0).history)


@pytest.mark.parametrize(
    "losses",
    [["mean_squared_error", "binary_crossentropy"], ["mse", "mae"], ["mse", "named"]],
)
def test_a_compute_loss_with_more_losses_than_outputs_names_them_by_loss_as_keras(losses):
    def program(library):
        given = [
            library.losses.MeanAbsoluteError(name="my_mae") if loss == "named" else loss
            for loss in losses
        ]
        return _two_losses_on_one_output(library, given)

    expected = keras_run(program)
    assert program(lamina) == expected
    assert len(expected) == 3


def test_a_subclassed_model_s_list_outputs_are_named_by_their_losses_as_keras():
    def program(library):
        class TwoHeads(library.Model):
            def __init__(self):
                super().__init__()
                self.a, self.b = library.layers.Dense(1), library.layers.Dense(2)

            def call(self, x):
                return [self.a(x), self.b(x)]

        model = TwoHeads()
        model.compile(optimizer="sgd", loss=["mse", "mae"])
        labels = [np.ones((4, 1), "float32"), np.ones((4, 2), "float32")]
        return sorted(model.fit(X3, labels, epochs=1, verbose=0).history)

    assert program(lamina) == keras_run(program) == ["loss", "mae_loss", "mse_loss"]
