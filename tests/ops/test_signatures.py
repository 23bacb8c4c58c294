"""Every lamina.ops function takes Keras's arguments: the same names, order and defaults.

Keyword calls written for Keras (`ops.bitwise_and(x=..., y=...)`, `ops.identity(3, "int32")`) then
work unchanged. lamina may accept a trailing extra argument NumPy has (listed in EXTRA).
"""

from __future__ import annotations

import inspect

import pytest

from lamina import ops
from tests.parity.reference import keras

# name -> lamina's trailing arguments that Keras's signature lacks (NumPy's, harmless).
EXTRA = {
    "amax": ("initial",),
    "amin": ("initial",),
    # tf.math.count_nonzero's and NumPy's; Hands-On ML's mean-embedding Lambda passes it.
    "count_nonzero": ("keepdims",),
}
NAMESPACES = ("", "nn", "linalg", "image", "numpy")


def _functions():
    found = []
    for namespace in NAMESPACES:
        theirs = keras.ops if not namespace else getattr(keras.ops, namespace)
        ours = ops if not namespace else getattr(ops, namespace)
        for name in sorted(n for n in dir(theirs) if not n.startswith("_")):
            reference = getattr(theirs, name)
            if inspect.isfunction(reference) and hasattr(ours, name):
                found.append((f"{namespace}.{name}".lstrip("."), reference, getattr(ours, name)))
    return found


def _parameters(fn, drop=()):
    return [
        (p.name, p.kind, p.default)
        for p in inspect.signature(fn).parameters.values()
        if p.name not in drop
    ]


FUNCTIONS = _functions()


@pytest.mark.parametrize(("name", "reference", "ours"), FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_signature_matches_keras(name, reference, ours):
    extra = EXTRA.get(name.rsplit(".", 1)[-1], ())
    assert _parameters(ours, drop=extra) == _parameters(reference)


def test_the_keras_only_arguments_behave():
    assert ops.identity(2, "int32").dtype == ops.convert_to_tensor(1).dtype
    with pytest.raises(ValueError, match=r"one_hot\(\) expects sparse=False"):
        ops.nn.one_hot([0, 1], 2, sparse=True)
    with pytest.raises(ValueError, match=r"convert_to_tensor\(\) expects ragged=None or False"):
        ops.convert_to_tensor([1], ragged=True)
