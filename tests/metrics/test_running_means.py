"""Mean and Sum take what Keras code hands them: a list of loss tensors that carry gradients
(`metric.update_state([loss])`) is read without torch's warning and without keeping the graph."""

import pytest
import torch

from lamina import metrics


@pytest.mark.parametrize(("cls", "expected"), [(metrics.Mean, 2.0), (metrics.Sum, 4.0)])
def test_a_list_of_tensors_that_carry_gradients_is_taken_quietly(cls, expected):
    weight = torch.tensor(2.0, requires_grad=True)
    metric = cls()
    metric.update_state([weight * 1.0, 2.0])  # warnings are errors in this suite
    assert metric.result().item() == expected
    assert not metric.result().requires_grad
