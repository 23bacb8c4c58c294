"""lamina.utils: to_categorical and set_random_seed."""

import numpy as np
import pytest
import torch

import lamina


def test_to_categorical_by_hand():
    np.testing.assert_array_equal(lamina.utils.to_categorical([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    assert lamina.utils.to_categorical(np.array([[1], [0]]), 2).shape == (2, 2)  # (N, 1) as (N,)
    assert lamina.utils.to_categorical([3, 1]).shape == (2, 4)  # classes inferred
    assert lamina.utils.to_categorical([1], 2).dtype == np.float64  # Keras 3's NumPy default
    assert lamina.utils.to_categorical([1], 2, dtype="float32").dtype == np.float32


def test_to_categorical_of_a_tensor_is_a_tensor_as_keras():
    from tests.parity.reference import keras

    labels = torch.tensor([[0], [2], [1]], device=lamina.backend.default_device())
    ours = lamina.utils.to_categorical(labels, 4)
    theirs = keras.utils.to_categorical(labels.cpu(), 4)
    assert isinstance(ours, torch.Tensor) and ours.device == labels.device
    assert ours.dtype == torch.float32  # Keras's torch backend gives int64 here, others float32
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())


def test_to_categorical_rejects_labels_outside_the_classes():
    with pytest.raises(
        ValueError, match=r"num_classes=3 but a label 3; labels must be in \[0, 3\)"
    ):
        lamina.utils.to_categorical([0, 3], 3)


def test_set_random_seed_repeats_torch_numpy_and_python():
    import random

    lamina.utils.set_random_seed(7)
    first = (torch.rand(3), np.random.rand(3), random.random())
    lamina.utils.set_random_seed(7)
    second = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[2] == second[2]
