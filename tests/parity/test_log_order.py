"""The order of the logs' keys as users see them, against Keras: callbacks' logs, History and
evaluate(return_dict=True) sorted by key (so a dict model whose output names sort before `loss`
logs `loss` after them), evaluate's list in Keras's own order (`loss`, a single output's
metrics by their object names, the per-output losses, then the other keys sorted), and
`metrics_names`."""

import numpy as np
import pytest

import lamina
from tests.parity.reference import (
    custom_step_evaluate,
    keras,
    keras_training_log_facts,
    training_log_facts,
)

RNG = np.random.default_rng(0)
X = RNG.random((8, 3), dtype=np.float32)
SAMPLE_WEIGHT = RNG.random(8, dtype=np.float32)
LABELS = {"zb": RNG.random((8, 2), dtype=np.float32), "ya": RNG.random((8, 1), dtype=np.float32)}


def single(layers, models):
    inputs = models.Input((3,))
    return models.Model(inputs, layers.Dense(1, name="ya")(inputs))


def listed(layers, models):
    inputs = models.Input((3,))
    return models.Model(
        inputs, [layers.Dense(2, name="zb")(inputs), layers.Dense(1, name="ya")(inputs)]
    )


def keyed(first, second):
    def build(layers, models):
        inputs = models.Input((3,))
        return models.Model(
            inputs, {first: layers.Dense(2)(inputs), second: layers.Dense(1)(inputs)}
        )

    return build


CASES = {
    "single": (single, LABELS["ya"], {"loss": "huber", "metrics": ["mae", "mse"]}),
    "single-weighted": (
        single,
        LABELS["ya"],
        {"loss": "huber", "metrics": ["mae", "mse"], "weighted_metrics": ["mae", "msle"]},
    ),
    "single-no-metrics": (single, LABELS["ya"], {"loss": "mse"}),
    "list": (
        listed,
        [LABELS["zb"], LABELS["ya"]],
        {"loss": ["mse", "huber"], "metrics": [["mae"], ["mae"]]},
    ),
    "list-weighted": (
        listed,
        [LABELS["zb"], LABELS["ya"]],
        {
            "loss": ["mse", "huber"],
            "metrics": [["mae", "mse"], ["mse"]],
            "weighted_metrics": [["mae"], []],
        },
    ),
    "list-no-metrics": (listed, [LABELS["zb"], LABELS["ya"]], {"loss": ["mse", "huber"]}),
    "dict": (
        keyed("zb", "ya"),
        {"zb": LABELS["zb"], "ya": LABELS["ya"]},
        {"loss": {"zb": "mse", "ya": "huber"}, "metrics": {"zb": ["mae"], "ya": ["mae", "mse"]}},
    ),
    "dict-before-loss": (
        keyed("a", "z"),
        {"a": LABELS["zb"], "z": LABELS["ya"]},
        {
            "loss": {"a": "mse", "z": "huber"},
            "metrics": {"z": ["mae"], "a": ["mae", "mse"]},
            "weighted_metrics": {"a": ["mae"]},
        },
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_log_keys_and_evaluate_list_follow_keras(case):
    build, y, compile_kwargs = CASES[case]
    weights = build(lamina.layers, lamina).get_weights()
    ours = training_log_facts(lamina, build, weights, X, y, SAMPLE_WEIGHT, **compile_kwargs)
    theirs = keras_training_log_facts(build, weights, X, y, SAMPLE_WEIGHT, **compile_kwargs)
    ours_list, theirs_list = ours.pop("evaluate_list"), theirs.pop("evaluate_list")
    assert ours == theirs
    np.testing.assert_allclose(ours_list, theirs_list, rtol=1e-5, atol=1e-6)


def test_custom_metrics_order_evaluate_list_as_in_keras():
    """A subclass's own `metrics` order evaluate's list; its dict is sorted by key."""
    ours = custom_step_evaluate(lamina)
    theirs = custom_step_evaluate(keras)
    assert list(ours[0]) == list(theirs[0]) == ["alpha", "zeta"]
    assert ours[1] == pytest.approx(theirs[1]) and theirs[1] == pytest.approx([3.0, 5.0])
    assert ours[2] == theirs[2] == [["alpha", "zeta"]]  # a custom step's batch logs, sorted
