"""Pooling layers (layers/pooling.py): host work a training step repeats, done once a shape."""

from __future__ import annotations

import pytest
import torch

from lamina import layers
from lamina.layers import padding_rules


def test_a_fitting_shape_is_checked_once_and_a_new_one_again(monkeypatch):
    pool = layers.MaxPooling2D(2)
    pool(torch.zeros(2, 4, 4, 3))
    asked = []
    real_output_length = padding_rules.output_length

    def output_length(*args, **kwargs):
        asked.append(args)
        return real_output_length(*args, **kwargs)

    monkeypatch.setattr(padding_rules, "output_length", output_length)
    pool(torch.zeros(2, 4, 4, 3))
    assert asked == []  # the step's usual call: the shape that fitted last time
    pool(torch.zeros(2, 6, 6, 3))
    assert len(asked) == 2  # a new shape is checked (two spatial axes)
    with pytest.raises(ValueError, match=r"max_pooling2d.*\(2, 1, 1, 3\)"):
        pool(torch.zeros(2, 1, 1, 3))
