"""`torch.func.grad` of a loss written with lamina's `stateless_call` (BatchNormalization in
training) against Keras's `stateless_call` differentiated by autograd: same gradients, same new
moving statistics."""

import numpy as np
import pytest
import torch
from torch.func import grad

import lamina
from tests.parity.reference import keras

pytestmark = pytest.mark.parity


def _model(k):
    return k.Sequential(
        [
            k.Input((5, 5, 2)),
            k.layers.Conv2D(3, 3),
            k.layers.BatchNormalization(momentum=0.8),
            k.layers.GlobalAveragePooling2D(),
            k.layers.Dense(2),
        ]
    )


def test_grad_of_stateless_call_matches_keras():
    theirs, ours = _model(keras), _model(lamina)
    ours.set_weights(theirs.get_weights())
    x = torch.as_tensor(np.random.default_rng(0).standard_normal((4, 5, 5, 2)).astype("float32"))
    trainable = [v.detach().clone() for v in ours.trainable_variables]
    non_trainable = [v.detach().clone() for v in ours.non_trainable_variables]

    def loss(trainable):
        outputs, state = ours.stateless_call(trainable, non_trainable, x, training=True)
        return outputs.square().sum(), state

    grads, state = grad(loss, has_aux=True)(trainable)

    leaves = [torch.tensor(np.asarray(v.numpy()), requires_grad=True) for v in trainable]
    given = [torch.tensor(np.asarray(v.numpy())) for v in non_trainable]
    outputs, expected_state = theirs.stateless_call(leaves, given, x, training=True)
    expected = torch.autograd.grad(outputs.square().sum(), leaves)
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=2e-6)
    for got, want in zip(state, expected_state, strict=True):
        np.testing.assert_allclose(got.numpy(), keras.ops.convert_to_numpy(want), rtol=1e-6)
