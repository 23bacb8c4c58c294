"""Every Keras initializer: random ones by distribution (mean, spread, bounds) against Keras's
samples and Keras's fan rules on a conv kernel shape, seed reproducibility; constant ones
(zeros, ones, constant, identity, STFT) value for value; Keras's lowercase aliases and
(de)serialization."""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina import initializers
from tests.parity.reference import keras

KERNEL = (3, 3, 32, 64)  # fan_in = 288, fan_out = 576

# (class name, options)
RANDOM = [
    ("RandomNormal", {"mean": 0.3, "stddev": 0.2}),
    ("RandomUniform", {"minval": -0.4, "maxval": 0.1}),
    ("TruncatedNormal", {"mean": -0.1, "stddev": 0.3}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "uniform"}),
    ("VarianceScaling", {"scale": 0.5, "mode": "fan_avg", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"scale": 1.5, "mode": "fan_in", "distribution": "truncated_normal"}),
    ("GlorotUniform", {}),
    ("GlorotNormal", {}),
    ("HeUniform", {}),
    ("HeNormal", {}),
    ("LecunUniform", {}),
    ("LecunNormal", {}),
    ("Orthogonal", {"gain": 1.5}),
]


def _ids(value):
    return "-".join(f"{k}{v}" for k, v in value.items()) if isinstance(value, dict) else None


@pytest.mark.parametrize(("name", "options"), RANDOM, ids=_ids)
def test_random_initializer_matches_keras_distribution(name, options):
    ours = getattr(initializers, name)(seed=1, **options)(KERNEL).numpy().astype("float64")
    theirs = getattr(keras.initializers, name)(seed=1, **options)(KERNEL)
    theirs = keras.ops.convert_to_numpy(theirs).astype("float64")
    assert ours.shape == theirs.shape
    # 18 432 samples each: the standard error of the std is under 1 %, of the mean tiny.
    assert ours.mean() == pytest.approx(theirs.mean(), abs=0.03 * theirs.std() + 1e-3)
    assert ours.std() == pytest.approx(theirs.std(), rel=0.03)
    assert ours.min() >= theirs.min() - 0.05 * theirs.std() or "Normal" in name
    assert np.abs(ours).max() <= np.abs(theirs).max() * 1.1 or "Normal" in name


@pytest.mark.parametrize(("name", "options"), RANDOM, ids=_ids)
def test_random_initializer_is_reproducible_by_seed(name, options):
    cls = getattr(initializers, name)
    first = cls(seed=7, **options)((20, 30))
    torch.testing.assert_close(cls(seed=7, **options)((20, 30)), first)
    assert not torch.equal(cls(seed=8, **options)((20, 30)), first)


@pytest.mark.parametrize(
    ("name", "expected_variance"),
    [
        ("GlorotUniform", 2.0 / (288 + 576)),
        ("GlorotNormal", 2.0 / (288 + 576)),
        ("HeUniform", 2.0 / 288),
        ("HeNormal", 2.0 / 288),
        ("LecunUniform", 1.0 / 288),
        ("LecunNormal", 1.0 / 288),
    ],
)
def test_fan_rules_follow_keras_on_conv_kernels(name, expected_variance):
    # fan_in = 3 * 3 * 32, fan_out = 3 * 3 * 64: the receptive field multiplies both.
    values = getattr(initializers, name)(seed=3)(KERNEL)
    assert values.var().item() == pytest.approx(expected_variance, rel=0.04)


def test_orthogonal_has_orthonormal_columns_times_gain():
    values = initializers.orthogonal(gain=2.0, seed=0)((40, 10))
    torch.testing.assert_close(values.T @ values, 4.0 * torch.eye(10), atol=1e-4, rtol=0)


CONSTANT = [
    ("Zeros", {}, (3, 4)),
    ("Ones", {}, (3, 4)),
    ("Constant", {"value": 1.5}, (2, 5)),
    ("Identity", {"gain": 0.5}, (4, 6)),
    ("STFT", {}, (16, 1, 9)),
    ("STFT", {"side": "imag", "window": "hamming", "scaling": "spectrum"}, (12, 2, 7)),
    ("STFT", {"window": "hann", "periodic": True}, (8, 1, 5)),
    ("STFT", {"window": None, "scaling": None}, (6, 1, 4)),
]


@pytest.mark.parametrize(("name", "options", "shape"), CONSTANT, ids=_ids)
def test_constant_initializer_matches_keras(name, options, shape):
    ours = getattr(initializers, name)(**options)(shape)
    theirs = getattr(keras.initializers, name)(**options)(shape)
    # Keras's STFT returns one input channel whatever the shape asks; lamina fills the shape.
    theirs = np.broadcast_to(keras.ops.convert_to_numpy(theirs), shape)
    np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-6)
    ours_config = getattr(initializers, name)(**options).get_config()
    theirs_config = getattr(keras.initializers, name)(**options).get_config()
    # Keras's Identity config drops its gain (its own round trip loses it); lamina keeps it.
    assert theirs_config.items() <= ours_config.items()
    assert set(ours_config) - set(theirs_config) <= ({"gain"} if name == "Identity" else set())


@pytest.mark.parametrize(
    "value", [np.arange(6.0).reshape(3, 2), [[1.0, -2.0]]], ids=["full", "row"]
)
def test_constant_of_an_array_broadcasts_as_keras_and_round_trips(value):
    theirs = keras.ops.convert_to_numpy(keras.initializers.Constant(value)((3, 2)))
    ours = initializers.Constant(value)
    np.testing.assert_array_equal(ours((3, 2)).numpy(), theirs)
    again = initializers.Constant.from_config(ours.get_config())
    np.testing.assert_array_equal(again((3, 2)).numpy(), theirs)
    with pytest.raises(ValueError, match=r"broadcasts to the weight's shape \(4, 4\)"):
        ours((4, 4))


ALL_BUILT_IN = sorted({name for name, _ in RANDOM} | {name for name, _, _ in CONSTANT})


@pytest.mark.parametrize("name", ALL_BUILT_IN)
@pytest.mark.parametrize("dtype", ["float64", "float32", None])
def test_initializers_take_keras_dtype_names_and_default_to_floatx(name, dtype):
    """`init(shape, dtype="float32")`, the way Keras code calls an initializer by hand (a
    Variable's initial value): the dtype is a name, or None for floatx, as Keras's."""
    shape = (16, 1, 9) if name == "STFT" else (4, 4)
    ours = getattr(initializers, name)()(shape, dtype=dtype)
    theirs = getattr(keras.initializers, name)()(shape, dtype=dtype)
    assert str(ours.dtype).removeprefix("torch.") == keras.backend.standardize_dtype(theirs.dtype)
    assert tuple(ours.shape) == shape


KERAS_ALIASES = [
    "IdentityInitializer",
    "OrthogonalInitializer",
    "STFTInitializer",
    "constant",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "stft",
    "truncated_normal",
    "variance_scaling",
    "zeros",
]


@pytest.mark.parametrize("alias", KERAS_ALIASES)
def test_keras_alias_is_the_same_class(alias):
    ours = getattr(initializers, alias)
    theirs = getattr(keras.initializers, alias)
    assert ours.__name__ == theirs.__name__
    assert type(initializers.get(alias)) is ours


def test_serialize_round_trip_and_errors():
    config = initializers.serialize(initializers.STFT(side="imag", window="blackman"))
    assert config == keras.initializers.serialize(
        keras.initializers.STFT(side="imag", window="blackman")
    )  # {"module": "keras.initializers", "class_name": "STFT", ...}: Keras's entry, key for key
    rebuilt = initializers.deserialize(config)
    torch.testing.assert_close(rebuilt((8, 1, 5)), initializers.STFT("imag", "blackman")((8, 1, 5)))
    assert math.isclose(initializers.deserialize("he_normal")((2, 2)).std().item() * 0, 0.0)
    with pytest.raises(ValueError, match=r"STFT expects side 'real' or 'imag'; received side='x'"):
        initializers.STFT(side="x")
    with pytest.raises(ValueError, match=r"Unknown STFT window 'hannn'"):
        initializers.STFT(window="hannn")
    with pytest.raises(
        ValueError, match=r"STFT window expects shape \(4,\); received shape \(3,\)"
    ):
        initializers.STFT(window=[1.0, 1.0, 1.0])((4, 1, 3))


@pytest.mark.parametrize("name", ["VarianceScaling", "GlorotUniform", "HeUniform", "LecunUniform"])
def test_fans_from_explicit_axes_as_keras(name):
    # Keras's input_axes / output_axes (an EinsumDense kernel "ab,bcd->acd" is (b, c, d)): the
    # fans are the products of the named axes, not the conv rule's receptive field.
    shape, axes = (6, 4, 5), {"input_axes": [0], "output_axes": [1, 2]}
    options = {"distribution": "uniform", **axes} if name == "VarianceScaling" else axes
    ours = getattr(initializers, name)(seed=1, **options)
    theirs = getattr(keras.initializers, name)(seed=1, **options)
    ours_values = ours((400, 4, 5)).abs()
    scale = {"VarianceScaling": 1.0, "GlorotUniform": 1.0, "HeUniform": 2.0, "LecunUniform": 1.0}
    fan = (400 + 20) / 2 if name == "GlorotUniform" else 400
    limit = (3 * scale[name] / fan) ** 0.5  # the conv rule would divide by 8000 or 2400 instead
    assert float(ours_values.max()) <= limit and float(ours_values.max()) > 0.99 * limit
    theirs_values = keras.ops.convert_to_numpy(theirs((400, 4, 5)))
    assert abs(np.abs(theirs_values).max() - float(ours_values.max())) < 0.01 * limit
    assert theirs.get_config().items() <= ours.get_config().items()
    assert initializers.compute_fans(shape, **axes) == (6.0, 20.0)


def test_constant_broadcasts_an_array_value_as_keras():
    # PointNet's T-net starts its transform at the identity: Constant(np.eye(k).flatten()).
    bias = initializers.Constant(np.eye(2).flatten())((4,))
    assert bias.tolist() == [1.0, 0.0, 0.0, 1.0] and bias.dtype == torch.float32
    assert initializers.Constant([1.0, 2.0])((2, 2)).tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert initializers.Constant(np.eye(2).flatten()).get_config() == {"value": [1, 0, 0, 1]}
    with pytest.raises(ValueError, match=r"broadcasts to the weight's shape \(3,\).*\(4,\)"):
        initializers.Constant(np.zeros(4))((3,))


@pytest.mark.parametrize(("name", "options"), RANDOM, ids=_ids)
def test_clone_of_a_seeded_initializer_draws_the_same_values(name, options):
    # Keras's clone is from_config(get_config()): an int seed travels, so do the values.
    original = getattr(initializers, name)(seed=5, **options)
    clone = original.clone()
    assert clone is not original and type(clone) is type(original)
    assert clone.get_config() == original.get_config()
    torch.testing.assert_close(clone((6, 4)), original((6, 4)), rtol=0, atol=0)
    reference = getattr(keras.initializers, name)(seed=5, **options)
    theirs = [keras.ops.convert_to_numpy(init((6, 4))) for init in (reference, reference.clone())]
    np.testing.assert_array_equal(*theirs)


@pytest.mark.parametrize(("name", "options", "shape"), CONSTANT, ids=_ids)
def test_clone_of_a_constant_initializer_matches_keras(name, options, shape):
    clone = getattr(initializers, name)(**options).clone()
    theirs = getattr(keras.initializers, name)(**options)(shape)
    theirs = np.broadcast_to(keras.ops.convert_to_numpy(theirs), shape)
    np.testing.assert_allclose(clone(shape).numpy(), theirs, atol=1e-6)


def test_clone_of_an_unseeded_initializer_draws_afresh():
    original = initializers.RandomNormal(stddev=1.0)
    assert original.clone().get_config()["seed"] is None
    assert not torch.equal(original.clone()((8,)), original.clone()((8,)))


def test_a_tensor_as_initializer_starts_the_weight_as_keras():
    value = np.arange(6, dtype="float64").reshape(2, 3)
    ours = initializers.get(torch.as_tensor(value))((2, 3), dtype="float32")
    theirs = keras.initializers.get(keras.ops.convert_to_tensor(value))((2, 3), dtype="float32")
    assert ours.dtype == torch.float32
    np.testing.assert_array_equal(ours.numpy(), keras.ops.convert_to_numpy(theirs))
    with pytest.raises(ValueError, match=r"of its own shape \(2, 3\); received shape=\(3, 2\)"):
        initializers.get(value)((3, 2))


SEEDED = ["RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "Orthogonal"]


@pytest.mark.parametrize("name", SEEDED)
def test_a_seed_generator_seed_draws_new_values_each_call_as_keras(name):
    # Keras: an int seed repeats its values, a SeedGenerator moves on at every call.
    ours = getattr(initializers, name)(seed=lamina.random.SeedGenerator(1337))
    theirs = getattr(keras.initializers, name)(seed=keras.random.SeedGenerator(1337))
    ours_draws = [ours((6, 4)) for _ in range(2)]
    theirs_draws = [keras.ops.convert_to_numpy(theirs((6, 4))) for _ in range(2)]
    assert not torch.equal(*ours_draws)
    assert not np.array_equal(*theirs_draws)


@pytest.mark.parametrize("name", SEEDED)
def test_a_seed_generator_seed_round_trips_through_keras_config(name):
    ours = getattr(initializers, name)(seed=lamina.random.SeedGenerator(21, name="stream"))
    theirs = getattr(keras.initializers, name)(seed=keras.random.SeedGenerator(21, name="stream"))
    assert ours.get_config() == theirs.get_config()  # Keras's nested SeedGenerator entry
    # Each side reads the other's config back with a generator of the same seed.
    from_keras = getattr(initializers, name).from_config(theirs.get_config())
    assert isinstance(from_keras.seed, lamina.random.SeedGenerator)
    to_keras = getattr(keras.initializers, name).from_config(ours.get_config())
    assert isinstance(to_keras.seed, keras.random.SeedGenerator)
    assert to_keras.seed.get_config()["seed"] == 21
    rebuilt = initializers.deserialize(initializers.serialize(ours))
    # A rebuilt generator starts the stream again: its first draw is the original's first.
    torch.testing.assert_close(rebuilt((3, 3)), ours.clone()((3, 3)), rtol=0, atol=0)


def test_bad_seeds_and_scales_are_refused_as_keras():
    with pytest.raises(ValueError, match=r"Initializer `seed` expects an int, a lamina.random"):
        initializers.RandomNormal(seed="1")
    with pytest.raises(ValueError, match=r"VarianceScaling `scale` expects a positive float"):
        initializers.VarianceScaling(scale=-1.0)
    with pytest.raises(ValueError, match=r"received scale=0"):
        initializers.HeNormal.__mro__[1](scale=0)
    for bad in ({"seed": "1"}, {"scale": -1.0}):
        with pytest.raises(ValueError):
            keras.initializers.VarianceScaling(**bad)


@pytest.mark.parametrize("window", ["tukey", "cosine", "triang", "hann"])
@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("scaling", ["density", "spectrum"])
def test_stft_takes_scipy_windows_by_name_as_keras(window, periodic, scaling):
    options = {"window": window, "periodic": periodic, "scaling": scaling}
    ours = initializers.STFT(**options)((16, 1, 9))
    theirs = keras.ops.convert_to_numpy(keras.initializers.STFT(**options)((16, 1, 9)))
    np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-6)
    assert initializers.deserialize(
        initializers.serialize(initializers.STFT(**options))
    ).window == (window)
    with pytest.raises(ValueError, match=r"Unknown STFT window 'no_such'.*scipy.signal.get_window"):
        initializers.STFT(window="no_such")
