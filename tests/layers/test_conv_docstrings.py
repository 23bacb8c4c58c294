"""The `Example:` blocks of the convolutional family's docstrings run as doctests."""

from __future__ import annotations

import doctest

import pytest
import torch

from lamina.layers import (
    conv_transpose,
    convolutional,
    group_normalization,
    normalization,
    pooling,
    regularization,
    reshaping,
    separable_conv,
)

MODULES = [
    conv_transpose,
    convolutional,
    group_normalization,
    normalization,
    pooling,
    regularization,
    reshaping,
    separable_conv,
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_docstring_examples_run(module):
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = finder.find(module, globs={"torch": torch, **vars(module)})
    examples = sum(len(t.examples) for t in tests)
    assert examples > 0
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} failing examples in {module.__name__}"
