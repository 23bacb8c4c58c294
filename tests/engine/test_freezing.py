"""Freezing, Keras's way: trainable flags on layers and models, frozen BatchNormalization in
inference mode, `base(x, training=False)` staying in inference after unfreezing, and the
trainable / non-trainable counts of seed 028's MobileNetV2 transfer model."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def counts(model):
    trainable = sum(w.numel() for w in model.trainable_weights)
    total = sum(w.numel() for w in model.weights)
    return total, trainable, total - trainable


def base_and_model(training_base):
    base_input = layers.Input((4,))
    x = layers.Dense(4, name="base_dense")(base_input)
    x = layers.BatchNormalization(name="base_bn")(x)
    base = lamina.Model(base_input, x, name="base")
    inputs = layers.Input((4,))
    model = lamina.Model(inputs, layers.Dense(1, name="head")(base(inputs, training=training_base)))
    return base, model


def fit_once(model):
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 4), dtype=np.float32) * 3 + 2, rng.random((32, 1), dtype=np.float32)
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)


def snapshot(layer):
    return [w.detach().clone() for w in layer.weights]


def changed(before, layer):
    return [not torch.equal(a, b) for a, b in zip(before, layer.weights, strict=True)]


def test_frozen_base_keeps_every_weight_and_statistic():
    base, model = base_and_model(training_base=False)
    base.trainable = False
    dense, bn, head = (
        base.get_layer("base_dense"),
        base.get_layer("base_bn"),
        model.get_layer("head"),
    )
    before = [snapshot(dense), snapshot(bn), snapshot(head)]
    fit_once(model)
    assert changed(before[0], dense) == [False, False]
    assert changed(before[1], bn) == [False] * 4  # gamma, beta, moving_mean, moving_variance
    assert changed(before[2], head) == [True, True]
    assert counts(model) == (5 + 20 + 16, 5, 36)


@pytest.mark.parametrize(
    ("training_base", "statistics_move"),
    [(False, False), (None, True)],
    ids=["called-with-training-False", "called-plainly"],
)
def test_unfrozen_base_batchnorm_follows_the_training_argument_of_its_call(
    training_base, statistics_move
):
    base, model = base_and_model(training_base)
    base.trainable = False
    fit_once(model)
    base.trainable = True  # Keras: takes effect at the next compile (fit_once recompiles)
    bn = base.get_layer("base_bn")
    before = snapshot(bn)
    fit_once(model)
    # gamma and beta train either way; the moving statistics only move in training mode.
    assert changed(before, bn) == [True, True, statistics_move, statistics_move]


def test_model_level_trainable_flag_reaches_every_layer():
    _, model = base_and_model(training_base=None)
    model.trainable = False
    assert model.trainable_weights == [] and all(not w.requires_grad for w in model.weights)
    assert all(not layer.trainable for layer in model.layers)
    model.trainable = True
    assert counts(model) == (41, 33, 8)


def test_frozen_layer_inside_a_trainable_model_gets_no_gradient():
    inputs = layers.Input((3,))
    frozen = layers.Dense(3, trainable=False, name="frozen")
    model = lamina.Model(inputs, layers.Dense(1)(frozen(inputs)))
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    before = snapshot(frozen)
    x = np.random.default_rng(1).random((16, 3), dtype=np.float32)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    assert changed(before, frozen) == [False, False]


def test_seed_028_mobilenetv2_transfer_counts_equal_keras():
    base_model = lamina.applications.MobileNetV2(
        input_shape=(96, 96, 3), include_top=False, weights=None
    )
    base_model.trainable = False
    inputs = lamina.Input(shape=(96, 96, 3))
    x = base_model(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    model = lamina.Model(inputs, layers.Dense(2, activation="softmax")(x))
    assert counts(model) == (2260546, 2562, 2257984)
    base_model.trainable = True
    assert len(base_model.layers) == 154
    for layer in base_model.layers[:100]:
        layer.trainable = False
    assert counts(model) == (2260546, 1864002, 396544)
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[-4:-1] == [
        "Total params: 2260546 (8.62 MB)",
        "Trainable params: 1864002 (7.11 MB)",
        "Non-trainable params: 396544 (1.51 MB)",
    ]
