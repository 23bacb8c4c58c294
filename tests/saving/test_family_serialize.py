"""`initializers.serialize`, `regularizers.serialize`, ... write Keras's entry
`{"module", "class_name", "config", "registered_name"}`, key for key, built-ins and registered
classes alike: the same one `saving.serialize_keras_object` writes."""

from __future__ import annotations

import pytest

import lamina
from tests.parity.reference import keras

CASES = {
    "initializer": ("initializers", lambda ns: ns.initializers.HeNormal(seed=3)),
    "regularizer": ("regularizers", lambda ns: ns.regularizers.L1L2(l1=0.1, l2=0.2)),
    "constraint": ("constraints", lambda ns: ns.constraints.MaxNorm(2.0, axis=1)),
    "schedule": (
        "optimizers.schedules",
        lambda ns: ns.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9),
    ),
    "loss": ("losses", lambda ns: ns.losses.Huber(delta=0.5)),
    "metric": ("metrics", lambda ns: ns.metrics.MeanSquaredError(name="mse")),
}


def _serialize(ns, family, obj):
    module = ns
    for part in family.split("."):
        module = getattr(module, part)
    return module.serialize(obj)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_serialize_writes_keras_entry(case):
    family, make = CASES[case]
    ours, theirs = _serialize(lamina, family, make(lamina)), _serialize(keras, family, make(keras))
    assert ours.keys() == theirs.keys() == {"module", "class_name", "config", "registered_name"}
    for key in ("module", "class_name", "registered_name"):
        assert ours[key] == theirs[key]
    assert theirs["config"].items() <= ours["config"].items() | {("dtype", "float32")}


def test_optimizer_entry_names_a_keras_module_and_its_schedule_nested():
    schedule = lamina.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    entry = lamina.optimizers.serialize(lamina.optimizers.Adam(schedule))
    assert (entry["module"], entry["class_name"], entry["registered_name"]) == (
        "keras.optimizers",
        "Adam",
        None,
    )
    assert entry["config"]["learning_rate"]["class_name"] == "ExponentialDecay"
    rebuilt = keras.optimizers.deserialize(entry)  # Keras reads it back
    assert type(rebuilt).__name__ == "Adam"


def _registered_classes():
    register = lamina.saving.register_keras_serializable(package="Family")

    @register
    class Halves(lamina.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return lamina.ops.full(shape, 0.5)

    @register
    class Nothing(lamina.regularizers.Regularizer):
        def __call__(self, weight):
            return 0.0

    @register
    class Same(lamina.constraints.Constraint):
        def __call__(self, weight):
            return weight

    return {"initializers": Halves, "regularizers": Nothing, "constraints": Same}


@pytest.mark.parametrize("family", ["initializers", "regularizers", "constraints"])
def test_a_registered_class_round_trips_by_its_registered_name(family):
    cls = _registered_classes()[family]
    module = getattr(lamina, family)
    entry = module.serialize(cls())
    assert (entry["class_name"], entry["registered_name"]) == (
        cls.__name__,
        f"Family>{cls.__name__}",
    )
    assert type(module.deserialize(entry)) is cls
    assert type(module.get(entry)) is cls


@pytest.mark.parametrize("family", ["initializers", "regularizers", "constraints"])
def test_an_unknown_class_gets_the_unknown_name_error(family):
    with pytest.raises(ValueError, match=r"Unknown .* 'Nowhere'\. Valid"):
        getattr(lamina, family).get({"class_name": "Nowhere", "config": {}})
