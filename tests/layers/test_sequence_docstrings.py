"""The docstring examples of the sequence modules run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import torch

import lamina
from lamina.layers import SimpleRNNCell

MODULES = [
    "lamina.layers.recurrent.base",
    "lamina.layers.recurrent.simple_rnn",
    "lamina.layers.recurrent.lstm",
    "lamina.layers.recurrent.gru",
    "lamina.layers.embedding",
    "lamina.layers.wrappers",
    "lamina.layers.attention",
    "lamina.layers.text_vectorization",
    "lamina.preprocessing.sequence",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module,
        extraglobs={"torch": torch, "np": np, "lamina": lamina, "SimpleRNNCell": SimpleRNNCell},
        optionflags=doctest.ELLIPSIS,
    )
    assert result.attempted > 0 and result.failed == 0
