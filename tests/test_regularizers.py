"""Regularizers: the penalty equals Keras's, by object and by name, and layers report it in
`losses` (kernel, bias and activity) as Keras's layers do."""

import numpy as np
import pytest
import torch

from lamina import layers, regularizers

PENALTIES = [
    ("L1", {"l1": 0.03}),
    ("L2", {"l2": 0.02}),
    ("L1L2", {"l1": 0.01, "l2": 0.05}),
    ("OrthogonalRegularizer", {"factor": 0.1, "mode": "rows"}),
    ("OrthogonalRegularizer", {"factor": 0.1, "mode": "columns"}),
]


def _id(case):
    name, config = case
    return name + "".join(f"-{k}={v}" for k, v in config.items())


@pytest.mark.parity
@pytest.mark.parametrize("case", PENALTIES, ids=[_id(c) for c in PENALTIES])
def test_penalty_matches_keras(case):
    import keras

    name, config = case
    weight = np.random.default_rng(0).standard_normal((6, 4)).astype("float32")
    ours = getattr(regularizers, name)(**config)(torch.tensor(weight))
    reference = getattr(keras.regularizers, name)(**config)(keras.ops.convert_to_tensor(weight))
    np.testing.assert_allclose(float(ours), float(keras.ops.convert_to_numpy(reference)), rtol=1e-6)


def test_l2_by_hand():
    # Keras's L2 has no 1/2: 0.1 * (1 + 4 + 9) = 1.4.
    assert float(regularizers.L2(0.1)(torch.tensor([1.0, -2.0, 3.0]))) == pytest.approx(1.4)


@pytest.mark.parametrize(
    "identifier, expected",
    [
        ("l1", {"l1": 0.01}),
        ("l2", {"l2": 0.01}),
        ("l1_l2", {"l1": 0.0, "l2": 0.0}),
        ({"class_name": "L1L2", "config": {"l1": 0.2, "l2": 0.3}}, {"l1": 0.2, "l2": 0.3}),
    ],
    ids=["l1", "l2", "l1_l2", "config-dict"],
)
def test_get_resolves(identifier, expected):
    assert regularizers.get(identifier).get_config() == expected


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown regularizer 'l3'.*'l2'"):
        regularizers.get("l3")


@pytest.mark.parity
@pytest.mark.parametrize(
    "config",
    [
        {"kernel_regularizer": "l2"},
        {"kernel_regularizer": regularizers.L1L2(0.01, 0.02), "bias_regularizer": "l1"},
        {"activity_regularizer": regularizers.L2(0.05)},
    ],
    ids=["kernel-l2", "kernel-l1l2-bias-l1", "activity-l2"],
)
def test_dense_losses_match_keras(config):
    import keras

    x = np.random.default_rng(1).standard_normal((5, 4)).astype("float32")
    keras_config = {
        key: (
            keras.regularizers.get(value)
            if isinstance(value, str)
            else getattr(keras.regularizers, type(value).__name__)(**value.get_config())
        )
        for key, value in config.items()
    }
    reference = keras.layers.Dense(3, bias_initializer="ones", **keras_config)
    reference(keras.ops.convert_to_tensor(x))
    ours = layers.Dense(3, bias_initializer="ones", **config)
    ours(torch.tensor(x))
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in reference.get_weights()])
    ours._clear_activity_losses()
    ours(torch.tensor(x))
    expected = sum(float(keras.ops.convert_to_numpy(v)) for v in reference.losses)
    assert sum(float(v.detach()) for v in ours.losses) == pytest.approx(expected, rel=1e-5)
    assert len(ours.losses) == len(reference.losses)


def test_penalty_has_gradient_toward_zero():
    dense = layers.Dense(2, kernel_regularizer=regularizers.L2(0.5))
    dense(torch.ones(1, 3))
    (penalty,) = dense.losses
    penalty.backward()
    kernel = dense.get_weights()[0]
    # d/dw 0.5 * w**2 = w, in the kernel's (Keras's) layout.
    np.testing.assert_allclose(dense.kernel.grad.numpy(), kernel, rtol=1e-6)


def test_orthogonal_regularizer_alias_and_deserialize_round_trip():
    from tests.parity.reference import keras

    weight = np.random.default_rng(1).standard_normal((5, 3)).astype("float32")
    ours = regularizers.orthogonal_regularizer(factor=0.2, mode="columns")
    theirs = keras.regularizers.orthogonal_regularizer(factor=0.2, mode="columns")
    np.testing.assert_allclose(
        float(ours(torch.tensor(weight))),
        float(keras.ops.convert_to_numpy(theirs(keras.ops.convert_to_tensor(weight)))),
        rtol=1e-6,
    )
    rebuilt = regularizers.deserialize(regularizers.serialize(ours))
    assert isinstance(rebuilt, regularizers.OrthogonalRegularizer)
    assert rebuilt.get_config() == {"factor": 0.2, "mode": "columns"}
    assert regularizers.deserialize("l2").get_config() == {"l2": 0.01}


@pytest.mark.parity
@pytest.mark.parametrize("case", PENALTIES, ids=[_id(c) for c in PENALTIES])
def test_penalty_of_a_variable_or_an_array_matches_keras(case):
    # Keras's regularizers take a Variable (a custom layer's add_weight) or an array as well.
    import keras

    import lamina

    name, config = case
    weight = np.random.default_rng(1).standard_normal((5, 3)).astype("float32")
    reference = getattr(keras.regularizers, name)(**config)(keras.Variable(weight))
    expected = float(keras.ops.convert_to_numpy(reference))
    penalty = getattr(regularizers, name)(**config)
    assert float(penalty(lamina.Variable(weight)).detach()) == pytest.approx(expected, rel=1e-6)
    assert float(penalty(weight)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("name", "config"),
    [("L1", {"l1": None}), ("L2", {"l2": None}), ("L1L2", {"l1": None, "l2": 0.5})],
)
def test_none_factor_means_the_default_as_keras(name, config):
    import keras

    ours = getattr(regularizers, name)(**config).get_config()
    theirs = getattr(keras.regularizers, name)(**config).get_config()
    # (Keras's L1 keeps its factor as a float32 tensor: 0.01 comes back as 0.0099999998.)
    assert ours == pytest.approx(theirs, rel=1e-6)


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        ("L1", {"l1": -0.1}, r"L1 `l1` expects a non-negative float; received l1=-0.1"),
        ("L2", {"l2": float("inf")}, r"L2 `l2` expects a non-negative float; received l2=inf"),
        ("L1L2", {"l2": float("nan")}, r"L1L2 `l2` expects a non-negative float"),
        ("L1L2", {"l1": "0.1"}, r"received l1='0.1'"),
        ("OrthogonalRegularizer", {"factor": -1.0}, r"`factor` expects a non-negative float"),
        ("OrthogonalRegularizer", {"mode": "diagonal"}, r"`mode` expects 'rows' or 'columns'"),
    ],
)
def test_bad_factors_and_modes_are_refused_as_keras(name, config, message):
    import keras

    with pytest.raises(ValueError, match=message):
        getattr(regularizers, name)(**config)
    with pytest.raises(ValueError):
        getattr(keras.regularizers, name)(**config)


@pytest.mark.parity
def test_a_registered_function_regularizer_survives_a_config_round_trip_as_keras():
    import keras

    import lamina

    for ns in (keras, lamina):

        @ns.saving.register_keras_serializable(package="misc_regularizer_trip")
        def tiny_penalty(weight):
            return 1e-3 * weight.sum()

        layer = ns.layers.Dense(4, kernel_regularizer=tiny_penalty)
        layer.build((None, 3))
        restored = ns.layers.Dense.from_config(layer.get_config())
        assert restored.kernel_regularizer is tiny_penalty
    with pytest.raises(ValueError, match=r"Unknown regularizer 'nowhere>f'"):
        regularizers.get({"class_name": "function", "config": "nowhere>f"})
