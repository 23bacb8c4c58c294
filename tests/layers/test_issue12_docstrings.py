"""The `Example:` blocks of the layers added for issue 12 run as doctests (with torch,
lamina's initializers and every public layer in scope)."""

from __future__ import annotations

import doctest

import pytest
import torch

import lamina
from lamina import initializers
from lamina import layers as layers_module
from lamina.layers import (
    adaptive_pooling,
    alpha_dropout,
    einsum_dense,
    group_query_attention,
    layer_serialization,
    pipeline,
    prelu,
    reversible_embedding,
    rms_normalization,
    wrapper,
)
from lamina.layers.preprocessing import (
    bounding_boxes,
    category_encoding,
    clahe,
    color_augmentation,
    discretization,
    elastic,
    filtering,
    geometric_augmentation,
    hashing,
    lookups,
    mixing,
    policies,
    spectrogram,
)
from lamina.layers.recurrent import conv_lstm, stacked_cells

MODULES = [
    adaptive_pooling,
    alpha_dropout,
    einsum_dense,
    group_query_attention,
    layer_serialization,
    pipeline,
    prelu,
    reversible_embedding,
    rms_normalization,
    wrapper,
    bounding_boxes,
    category_encoding,
    clahe,
    color_augmentation,
    discretization,
    elastic,
    filtering,
    geometric_augmentation,
    hashing,
    lookups,
    mixing,
    policies,
    spectrogram,
    conv_lstm,
    stacked_cells,
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_docstring_examples_run(module):
    public = {name: getattr(layers_module, name) for name in layers_module.__all__}
    globs = {
        "torch": torch,
        "lamina": lamina,
        "initializers": initializers,
        **public,
        **vars(module),
    }
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(module, globs=globs)
    assert sum(len(t.examples) for t in tests) > 0
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} failing examples in {module.__name__}"
