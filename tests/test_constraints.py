"""Constraints: equal to Keras's on the same weights, resolved by name, applied in Keras's
layout."""

import numpy as np
import pytest
import torch

from lamina import constraints, layers, optimizers

CASES = [
    ("MaxNorm", {"max_value": 2, "axis": 0}),
    ("MaxNorm", {"max_value": 0.5, "axis": [0, 1, 2]}),
    ("NonNeg", {}),
    ("UnitNorm", {"axis": 0}),
    ("UnitNorm", {"axis": -1}),
    ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.0, "rate": 1.0, "axis": 0}),
    ("MinMaxNorm", {"min_value": 0.2, "max_value": 0.8, "rate": 0.5, "axis": [0, 1, 2]}),
]


def _case_id(case):
    name, config = case
    return name + "".join(f"-{k}{v}" for k, v in config.items()).replace(" ", "")


@pytest.mark.parity
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_constraint_matches_keras(case):
    import keras

    name, config = case
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((3, 3, 4, 5)).astype("float32") * 2
    ours = getattr(constraints, name)(**config)(torch.tensor(weight))
    reference = getattr(keras.constraints, name)(**config)(keras.ops.convert_to_tensor(weight))
    np.testing.assert_allclose(
        ours.numpy(), keras.ops.convert_to_numpy(reference), rtol=1e-6, atol=1e-6
    )
    # Called by hand on a NumPy array, as Keras's are.
    from_numpy = getattr(constraints, name)(**config)(weight)
    np.testing.assert_array_equal(from_numpy.numpy(), ours.numpy())


def test_max_norm_by_hand():
    # Column norms 5 and 0.5: the first is scaled to 2, the second kept.
    weight = torch.tensor([[3.0, 0.3], [4.0, 0.4]])
    projected = constraints.MaxNorm(2, axis=0)(weight)
    torch.testing.assert_close(projected, torch.tensor([[1.2, 0.3], [1.6, 0.4]]), atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "identifier, cls",
    [
        ("max_norm", constraints.MaxNorm),
        ("NonNeg", constraints.NonNeg),
        ("unit_norm", constraints.UnitNorm),
        ({"class_name": "MinMaxNorm", "config": {"rate": 0.5}}, constraints.MinMaxNorm),
    ],
    ids=["max_norm", "NonNeg", "unit_norm", "config-dict"],
)
def test_get_resolves(identifier, cls):
    assert isinstance(constraints.get(identifier), cls)


def test_get_round_trips_config():
    original = constraints.MinMaxNorm(0.1, 0.9, rate=0.3, axis=[0, 1])
    restored = constraints.deserialize(constraints.serialize(original))
    assert restored.get_config() == original.get_config()


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown constraint 'max_nrom'.*'max_norm'"):
        constraints.get("max_nrom")


def test_get_rejects_non_callable():
    with pytest.raises(TypeError, match=r"constraint must be a name .* received 3"):
        constraints.get(3)


def test_optimizer_applies_dense_kernel_constraint_in_keras_layout():
    # Dense stores its kernel as (out, in); MaxNorm(axis=0) must bound each unit's incoming weights,
    # i.e. the rows of the stored tensor, not its columns.
    dense = layers.Dense(
        3, kernel_constraint=constraints.MaxNorm(0.5, axis=0), bias_constraint="non_neg"
    )
    dense(torch.ones(2, 4))
    optimizer = optimizers.SGD(learning_rate=1.0)
    optimizer.build(dense.trainable_weights, constraints=constraints.collect(dense))
    loss = dense(torch.randn(8, 4)).square().sum() * 10
    loss.backward()
    optimizer.step()
    kernel, bias = dense.get_weights()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-6)
    assert np.all(bias >= 0)


@pytest.mark.parity
def test_a_registered_function_constraint_survives_a_config_round_trip_as_keras():
    # Keras writes it as {"class_name": "function", "config": "pkg>name"} and reads it back.
    import keras

    import lamina

    for ns in (keras, lamina):

        @ns.saving.register_keras_serializable(package="misc_constraint_trip")
        def half_constraint(weight):
            return weight * 0.5

        layer = ns.layers.Dense(4, kernel_constraint=half_constraint)
        layer.build((None, 3))
        restored = ns.layers.Dense.from_config(layer.get_config())
        assert restored.kernel_constraint is half_constraint
    with pytest.raises(ValueError, match=r"Unknown constraint 'nowhere>f'"):
        lamina.constraints.get({"class_name": "function", "config": "nowhere>f"})
