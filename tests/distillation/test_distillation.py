"""Distiller and its losses: the same losses and the same trained student as Keras from the same
weights and data; the teacher stays frozen; misuse is refused with Keras's messages."""

import numpy as np
import pytest
import torch

import lamina
from lamina.distillation import (
    DistillationLoss,
    Distiller,
    FeatureDistillation,
    LogitsDistillation,
)
from tests.parity import reference

SHAPES = [(4, 8), (8,), (8, 3), (3,)]


def _mlp(hidden_name, weights=None):
    model = lamina.Sequential(
        [
            lamina.Input((4,)),
            lamina.layers.Dense(8, activation="tanh", name=hidden_name),
            lamina.layers.Dense(3),
        ]
    )
    if weights is not None:
        model.set_weights(weights)
    return model


def _data():
    rng = np.random.default_rng(0)
    teacher = [rng.normal(size=s).astype("float32") for s in SHAPES]
    student = [0.5 * rng.normal(size=s).astype("float32") for s in SHAPES]
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.integers(0, 3, 16)
    return teacher, student, x, y


def test_distiller_trains_the_student_as_keras_does():
    teacher_weights, student_weights, x, y = _data()
    theirs = reference.keras_distill_run(teacher_weights, student_weights, x, y)
    teacher, student = _mlp("h", teacher_weights), _mlp("hs", student_weights)
    distiller = Distiller(
        teacher,
        student,
        [
            LogitsDistillation(temperature=3.0),
            FeatureDistillation(teacher_layer_name="h", student_layer_name="hs"),
        ],
        distillation_loss_weights=[1.0, 0.5],
        student_loss_weight=0.3,
    )
    distiller.compile(
        optimizer=lamina.optimizers.SGD(0.1),
        loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = distiller.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    assert set(history) == set(theirs["history"])
    # Keras lists each loss tracker once: the ones the distiller holds come from Layer.metrics.
    assert [m.name for m in distiller.metrics] == theirs["metric_names"]
    for key, values in theirs["history"].items():
        np.testing.assert_allclose(history[key], values, rtol=1e-5, atol=1e-5)
    for ours, keras_weight in zip(student.get_weights(), theirs["student_weights"], strict=True):
        np.testing.assert_allclose(ours, keras_weight, atol=1e-5)
    # The teacher is frozen and unchanged.
    assert teacher.trainable is False
    for ours, original in zip(teacher.get_weights(), teacher_weights, strict=True):
        np.testing.assert_array_equal(ours, original)
    np.testing.assert_allclose(
        distiller.predict(x, verbose=0), student.predict(x, verbose=0), atol=1e-6
    )


def test_logits_distillation_by_hand():
    teacher = torch.tensor([[1.0, 2.0, 3.0]])
    student = torch.tensor([[3.0, 1.0, 0.5]])
    t = 2.0
    p = torch.softmax(teacher / t, -1)
    q = torch.softmax(student / t, -1)
    expected = float((p * torch.log(p / q)).sum()) * t**2
    loss = LogitsDistillation(temperature=t, loss=lamina.losses.KLDivergence())
    assert float(loss.compute_loss(teacher, student)) == pytest.approx(expected, rel=1e-5)
    # A loss given by name compares the scaled logits directly, as Keras does.
    mse = LogitsDistillation(temperature=t, loss="mse").compute_loss(teacher, student)
    assert float(mse) == pytest.approx(float(((teacher - student) / t).pow(2).mean()), rel=1e-6)
    # None skips an output; the rest are summed.
    pair = LogitsDistillation(temperature=1.0, loss=["mse", None])
    assert float(pair.compute_loss([teacher, teacher], [student, teacher])) == pytest.approx(
        float((teacher - student).pow(2).mean()), rel=1e-6
    )


def test_losses_round_trip_through_config():
    loss = LogitsDistillation(temperature=4.0, loss="mse")
    again = LogitsDistillation.from_config(loss.get_config())
    assert again.temperature == 4.0
    feature = FeatureDistillation(loss="mae", teacher_layer_name="a", student_layer_name="b")
    again = FeatureDistillation.from_config(feature.get_config())
    assert (again.teacher_layer_name, again.student_layer_name) == ("a", "b")
    x, z = torch.ones(2, 3), torch.zeros(2, 3)
    assert float(again.compute_loss(x, z)) == pytest.approx(1.0)


def test_a_distiller_round_trips_through_its_config():
    # Its losses were written under module "keras", where deserialization could not find them:
    # Distiller.from_config(distiller.get_config()) failed. Keras writes "keras.distillation".
    distiller = Distiller(
        teacher=_mlp("h"),
        student=_mlp("hs"),
        distillation_losses=LogitsDistillation(temperature=2.0),
        student_loss_weight=0.5,
    )
    config = distiller.get_config()
    assert lamina.saving.serialize_keras_object(LogitsDistillation())["module"] == (
        "keras.distillation"
    )
    again = Distiller.from_config(config)
    assert again.distillation_losses[0].temperature == 2.0 and again.student_loss_weight == 0.5


def test_misuse_is_refused():
    teacher, student = _mlp("h"), _mlp("hs")
    with pytest.raises(ValueError, match="temperature must be positive"):
        LogitsDistillation(temperature=0.0)
    with pytest.raises(ValueError, match="at least one non-`None` value"):
        FeatureDistillation(loss=[None])
    with pytest.raises(ValueError, match="student_loss_weight must be between 0.0 and 1.0"):
        Distiller(teacher, student, LogitsDistillation(), student_loss_weight=1.5)
    with pytest.raises(ValueError, match=r"Number of distillation_loss_weights \(1\)"):
        Distiller(teacher, student, [LogitsDistillation(), LogitsDistillation()], [1.0])
    with pytest.raises(ValueError, match="In teacher model: No layer named 'nope'"):
        Distiller(teacher, student, FeatureDistillation(teacher_layer_name="nope"))
    wide = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(5)])
    with pytest.raises(ValueError, match="output shapes are incompatible"):
        Distiller(teacher, wide, LogitsDistillation())
    with pytest.raises(ValueError, match="'loss' cannot be `None`"):
        Distiller(teacher, student, LogitsDistillation()).compile(optimizer="sgd")
    with pytest.raises(NotImplementedError, match="Subclasses must implement compute_loss"):
        DistillationLoss().compute_loss(None, None)
