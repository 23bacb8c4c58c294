"""Every Keras loss, as a function and as a class: values equal keras.losses' on random inputs
(with sample weights, under each reduction), configs round-trip, names resolve, and the argument
errors are pinned."""

import numpy as np
import pytest
import torch

import lamina
from lamina import losses
from tests.parity.reference import keras

RNG = np.random.default_rng(3)
N, C = 6, 4


def _probabilities(shape):
    z = RNG.standard_normal(shape)
    e = np.exp(z - z.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype("float32")


def _data(kind):
    """(y_true, y_pred) as float32 / int arrays for one kind of loss."""
    if kind == "regression":
        return RNG.standard_normal((N, C)).astype("float32"), RNG.standard_normal((N, C)).astype(
            "float32"
        )
    if kind == "positive":
        return RNG.uniform(0, 3, (N, C)).astype("float32"), RNG.uniform(0.1, 3, (N, C)).astype(
            "float32"
        )
    if kind == "binary":
        return RNG.integers(0, 2, (N, C)).astype("float32"), RNG.uniform(0.01, 0.99, (N, C)).astype(
            "float32"
        )
    if kind == "binary_logits":
        return RNG.integers(0, 2, (N, C)).astype("float32"), RNG.standard_normal((N, C)).astype(
            "float32"
        )
    if kind == "signed":
        return RNG.choice([-1.0, 1.0], (N, C)).astype("float32"), RNG.standard_normal(
            (N, C)
        ).astype("float32")
    if kind == "onehot":
        return np.eye(C, dtype="float32")[RNG.integers(0, C, N)], _probabilities((N, C))
    if kind == "onehot_logits":
        return np.eye(C, dtype="float32")[RNG.integers(0, C, N)], RNG.standard_normal(
            (N, C)
        ).astype("float32")
    if kind == "sparse":
        return RNG.integers(0, C, (N,)).astype("int64"), _probabilities((N, C))
    if kind == "mask":
        return RNG.integers(0, 2, (N, 5, 5, 1)).astype("float32"), RNG.uniform(
            0, 1, (N, 5, 5, 1)
        ).astype("float32")
    if kind == "ctc":
        labels = RNG.integers(1, C, (N, 3)).astype("int32")
        labels[0, 2] = 0  # a shorter label, padded with the blank
        return labels, RNG.standard_normal((N, 7, C)).astype("float32")
    if kind == "embedding":
        z = RNG.standard_normal((N, C)).astype("float32")
        return RNG.integers(0, 3, (N,)).astype("int32"), z / np.linalg.norm(
            z, axis=-1, keepdims=True
        )
    raise AssertionError(kind)


# (class name, function name, options, data kind)
CASES = [
    ("MeanSquaredError", "mean_squared_error", {}, "regression"),
    ("MeanAbsoluteError", "mean_absolute_error", {}, "regression"),
    ("MeanAbsolutePercentageError", "mean_absolute_percentage_error", {}, "regression"),
    ("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", {}, "positive"),
    ("Huber", "huber", {"delta": 0.7}, "regression"),
    ("LogCosh", "log_cosh", {}, "regression"),
    ("KLDivergence", "kl_divergence", {}, "onehot"),
    ("Poisson", "poisson", {}, "positive"),
    ("CosineSimilarity", "cosine_similarity", {"axis": -1}, "regression"),
    ("Hinge", "hinge", {}, "binary_logits"),
    ("Hinge", "hinge", {}, "signed"),
    ("SquaredHinge", "squared_hinge", {}, "binary_logits"),
    ("SquaredHinge", "squared_hinge", {}, "signed"),
    ("CategoricalHinge", "categorical_hinge", {}, "onehot_logits"),
    ("BinaryCrossentropy", "binary_crossentropy", {"label_smoothing": 0.1}, "binary"),
    ("BinaryCrossentropy", "binary_crossentropy", {"from_logits": True}, "binary_logits"),
    ("BinaryFocalCrossentropy", "binary_focal_crossentropy", {}, "binary"),
    (
        "BinaryFocalCrossentropy",
        "binary_focal_crossentropy",
        {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.2},
        "binary",
    ),
    (
        "BinaryFocalCrossentropy",
        "binary_focal_crossentropy",
        {"from_logits": True, "apply_class_balancing": True},
        "binary_logits",
    ),
    ("CategoricalCrossentropy", "categorical_crossentropy", {"label_smoothing": 0.1}, "onehot"),
    (
        "CategoricalCrossentropy",
        "categorical_crossentropy",
        {"from_logits": True},
        "onehot_logits",
    ),
    ("CategoricalFocalCrossentropy", "categorical_focal_crossentropy", {}, "onehot"),
    (
        "CategoricalFocalCrossentropy",
        "categorical_focal_crossentropy",
        {"alpha": 0.5, "gamma": 3.0, "from_logits": True, "label_smoothing": 0.1},
        "onehot_logits",
    ),
    ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy", {}, "sparse"),
    (
        "CategoricalGeneralizedCrossEntropy",
        "categorical_generalized_cross_entropy",
        {"q": 0.7},
        "sparse",
    ),
    ("Dice", "dice", {}, "mask"),
    ("Dice", "dice", {"axis": (1, 2, 3)}, "mask"),
    ("Tversky", "tversky", {"alpha": 0.3, "beta": 0.7}, "mask"),
    ("Tversky", "tversky", {"alpha": 0.6, "beta": 0.2, "axis": (1, 2)}, "mask"),
    ("CTC", "ctc", {}, "ctc"),
    ("Circle", "circle", {"gamma": 10.0, "margin": 0.25}, "embedding"),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean_with_sample_weight", "none"]


def _case_id(case):
    options = "-".join(f"{k}{v}" for k, v in case[2].items())
    return f"{case[0]}-{case[3]}" + (f"-{options}" if options else "")


def _close(ours, theirs, atol=1e-5):
    np.testing.assert_allclose(
        np.asarray(ours.detach().cpu()), keras.ops.convert_to_numpy(theirs), rtol=1e-5, atol=atol
    )


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_loss_function_matches_keras(case):
    _, function_name, options, kind = case
    y_true, y_pred = _data(kind)
    if function_name == "circle":
        options = {"gamma": options["gamma"], "margin": options["margin"]}
    if function_name == "categorical_generalized_cross_entropy":
        options = {"q": options["q"]}
    ours = getattr(losses, function_name)(torch.tensor(y_true), torch.tensor(y_pred), **options)
    theirs = getattr(keras.losses, function_name)(
        keras.ops.convert_to_tensor(y_true), keras.ops.convert_to_tensor(y_pred), **options
    )
    _close(ours, theirs, atol=1e-4 if kind == "ctc" else 1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_loss_object_matches_keras_with_sample_weight(case, reduction):
    class_name, _, options, kind = case
    y_true, y_pred = _data(kind)
    weight = RNG.uniform(0, 2, (N,)).astype("float32")
    ours = getattr(losses, class_name)(reduction=reduction, **options)
    theirs = getattr(keras.losses, class_name)(reduction=reduction, **options)
    atol = 1e-4 if kind == "ctc" else 1e-5
    if options.get("axis", -1) is not None:  # a per-sample loss takes per-sample weights
        _close(ours(y_true, y_pred, sample_weight=weight), theirs(y_true, y_pred, weight), atol)
    _close(ours(y_true, y_pred), theirs(y_true, y_pred), atol)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_loss_config_matches_keras_and_round_trips(case):
    class_name, _, options, _ = case
    ours = getattr(losses, class_name)(**options)
    theirs = getattr(keras.losses, class_name)(**options)
    config = ours.get_config()
    # Keras's config is a subset of ours: Keras drops Huber's delta, CosineSimilarity's axis and
    # SparseCategoricalCrossentropy's axis (so its own round trip loses them); lamina keeps them.
    expected = {k: v for k, v in theirs.get_config().items() if k != "dtype"}
    assert expected.items() <= config.items()
    assert set(config) - set(expected) <= {"delta", "axis"}
    rebuilt = losses.deserialize(losses.serialize(ours))
    assert type(rebuilt) is type(ours) and rebuilt.get_config() == config


def test_every_keras_loss_name_resolves_like_keras():
    for name in ["binary_focal_crossentropy", "squared_hinge", "categorical_hinge", "dice", "ctc"]:
        assert losses.get(name) is getattr(losses, name)
    for name in ["BinaryFocalCrossentropy", "Tversky", "Circle", "CTC"]:
        assert type(losses.get(name)).__name__ == name
    huber = losses.get({"class_name": "Huber", "config": {"delta": 2.5}})
    assert huber.get_config()["delta"] == 2.5


def test_hand_computed_dice_and_focal():
    y_true, y_pred = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])
    assert losses.dice(y_true, y_pred).item() == pytest.approx(1 - 2 / 3, abs=1e-6)
    # gamma=0 without balancing is plain binary cross-entropy
    y_true, y_pred = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.8, 0.3]])
    focal = losses.binary_focal_crossentropy(y_true, y_pred, gamma=0.0)
    torch.testing.assert_close(focal, losses.binary_crossentropy(y_true, y_pred))


def test_loss_errors_are_pinned():
    with pytest.raises(ValueError, match=r"expects q in the interval \(0, 1\); received q=1.5"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match=r"ctc expects integer labels y_true shaped"):
        losses.ctc(torch.zeros(2), torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"ctc expects logits y_pred shaped"):
        losses.ctc(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"received reduction='average'"):
        losses.Dice(reduction="average")
    with pytest.raises(
        TypeError, match=r"Tversky\(\) got unexpected keyword argument\(s\) \['gama'\]"
    ):
        losses.Tversky(gama=2)
    with pytest.raises(ValueError, match=r"Unknown loss 'focal'"):
        losses.get("focal")


# Keras's constructors bind positional arguments in their own order, which is not always the
# options first: Dice(reduction, name, axis, dtype) and SparseCategoricalCrossentropy(from_logits,
# ignore_class, reduction, axis, ...). A differing order would silently misbind ("sum" as an axis).
POSITIONAL_CASES = [
    ("Dice", ("sum", "d"), "mask"),
    ("Tversky", (0.3, 0.7, "sum", "t"), "mask"),
    ("SparseCategoricalCrossentropy", (False, None, "sum", -1, "s"), "sparse"),
    ("Huber", (0.5, "none", "h"), "regression"),
    ("BinaryCrossentropy", (False, 0.1, -1, "sum", "b"), "binary"),
]


@pytest.mark.parametrize("case", POSITIONAL_CASES, ids=lambda case: case[0])
def test_positional_arguments_bind_in_keras_order(case):
    class_name, args, kind = case
    ours = getattr(losses, class_name)(*args)
    theirs = getattr(keras.losses, class_name)(*args)
    assert (ours.name, ours.reduction) == (theirs.name, theirs.reduction)
    y_true, y_pred = _data(kind)
    _close(ours(y_true, y_pred), theirs(y_true, y_pred), 1e-5)


def test_too_many_or_repeated_loss_arguments_are_refused():
    with pytest.raises(TypeError, match=r"Dice\(\) takes at most 4 positional arguments"):
        losses.Dice("sum", "d", None, None, 1)
    with pytest.raises(TypeError, match=r"got multiple values for argument 'delta'"):
        losses.Huber(1.0, delta=2.0)


def test_loss_subclass_receives_structures_of_tensors_as_structures():
    # A feature-matching loss over a discriminator's list of feature maps (of different shapes)
    # gets the lists in call(), as Keras's Loss.__call__ maps the conversion over structures.
    def feature_matching(module):
        class FeatureMatching(module.losses.Loss):
            def call(self, y_true, y_pred):
                mae = module.losses.MeanAbsoluteError()
                return sum(mae(a, b) for a, b in zip(y_true, y_pred, strict=True))

        return FeatureMatching()

    rng = np.random.default_rng(0)
    real = [torch.tensor(rng.standard_normal(s).astype("float32")) for s in ((2, 3), (2, 5))]
    fake = [torch.tensor(rng.standard_normal(s).astype("float32")) for s in ((2, 3), (2, 5))]
    ours = feature_matching(lamina)(real, fake)
    theirs = feature_matching(keras)(real, fake)
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-6)
    # a list of same-shape tensors given to a built-in loss is stacked, as Keras does
    ones, zeros = [torch.ones(2), torch.ones(2)], [torch.zeros(2), torch.zeros(2)]
    ours = lamina.losses.MeanSquaredError()(ones, zeros)
    np.testing.assert_allclose(float(ours), float(keras.losses.MeanSquaredError()(ones, zeros)))


@pytest.mark.parity
@pytest.mark.parametrize("name", ["CategoricalGeneralizedCrossEntropy", "Circle", "Huber", "CTC"])
def test_loss_objects_fn_is_the_function_keras_names(name):
    # Keras's loss objects hold the loss function they wrap as `fn`; programs call it directly.
    theirs, ours = getattr(keras.losses, name)(), getattr(lamina.losses, name)()
    assert ours.fn is getattr(lamina.losses, theirs.fn.__name__)


@pytest.mark.parametrize("ignore_class", [None, 1])
def test_sparse_crossentropy_squeezes_channels_first_labels_as_keras(ignore_class):
    # Channels-first segmentation: labels (N, 1, H, W) against scores (N, C, H, W) with axis=1.
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, (2, 1, 4, 4)).astype("float32")
    y_pred = rng.uniform(0.1, 1, (2, 2, 4, 4)).astype("float32")
    ours = lamina.losses.sparse_categorical_crossentropy(
        y_true, y_pred, axis=1, ignore_class=ignore_class
    )
    theirs = keras.losses.sparse_categorical_crossentropy(
        y_true, y_pred, axis=1, ignore_class=ignore_class
    )
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs), rtol=1e-5)


@pytest.mark.parametrize("fn", ["categorical_crossentropy", "CategoricalCrossentropy"])
def test_categorical_crossentropy_refuses_class_ids_as_keras(fn):
    # Class ids (N, 1) against scores (N, 3) broadcast to a number; Keras raises instead.
    y_true = np.array([[0], [1], [2]])
    y_pred = np.full((3, 3), 1 / 3, "float32")
    for framework in (keras, lamina):
        loss = getattr(framework.losses, fn)
        loss = loss() if fn[0].isupper() else loss
        with pytest.raises(ValueError, match="shape"):
            loss(y_true, y_pred)


@pytest.mark.parametrize("fn", ["binary_crossentropy", "BinaryCrossentropy"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_refuses_mismatched_shapes_as_keras(fn, from_logits):
    # Keras raises "must have the same shape"; lamina's message, not torch's, says which is which.
    y_true = np.array([[0], [1], [1]])
    y_pred = np.full((3, 3), 0.5, "float32")
    for framework in (keras, lamina):
        loss = getattr(framework.losses, fn)
        loss = loss(from_logits=from_logits) if fn[0].isupper() else loss
        options = {} if fn[0].isupper() else {"from_logits": from_logits}
        with pytest.raises(ValueError, match="shape"):
            loss(y_true, y_pred, **options)
    with pytest.raises(
        ValueError,
        match=r"binary_crossentropy expects y_true \(0/1 labels\) shaped like y_pred; received "
        r"y_true.shape=\(3, 1\), y_pred.shape=\(3, 3\)",
    ):
        losses.binary_crossentropy(y_true, y_pred)


def test_ctc_in_bfloat16_returns_bfloat16_as_keras():
    logits = (np.arange(24).reshape((2, 4, 3)).astype("float32") - 12) / 100
    labels = np.array([[1, 2, 1, 0], [1, 2, 0, 2]])
    ours = losses.CTC(dtype="bfloat16")(labels, logits)
    theirs = keras.losses.CTC(dtype="bfloat16")(labels, logits)
    assert ours.dtype == theirs.dtype == torch.bfloat16
    # Within a bfloat16 step (0.016 near 2.4) of each other and of the float32 loss.
    assert float(ours) == pytest.approx(float(theirs), abs=0.02)
    assert float(ours) == pytest.approx(float(losses.CTC()(labels, logits)), abs=0.02)
