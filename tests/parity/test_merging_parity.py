"""Merging layers against Keras 3: outputs, input gradients and masks, over broadcasting cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import assert_layer_matches_keras, keras

CASES = [
    ("Add", {}, [(2, 3, 4), (2, 3, 4)], "same-shape"),
    ("Add", {}, [(2, 5), (2, 5), (2, 5)], "three-inputs"),
    ("Add", {}, [(2, 3), (2, 4, 3)], "rank-broadcast"),
    ("Add", {}, [(2, 1, 3), (2, 4, 1)], "size1-broadcast"),
    ("Subtract", {}, [(2, 6), (2, 6)], "pair"),
    ("Subtract", {}, [(2, 6), (2, 2, 6)], "rank-broadcast"),
    ("Multiply", {}, [(2, 3, 4), (2, 3, 4), (2, 3, 4)], "three-inputs"),
    ("Average", {}, [(2, 3, 4), (2, 3, 4)], "pair"),
    ("Average", {}, [(2, 4), (2, 3, 4), (2, 1, 4)], "three-broadcast"),
    ("Maximum", {}, [(2, 3, 4), (2, 3, 4)], "pair"),
    ("Minimum", {}, [(2, 7), (2, 7), (2, 7)], "three-inputs"),
    ("Concatenate", {}, [(2, 3), (2, 5)], "last-axis"),
    ("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 2, 4)], "axis1"),
    ("Concatenate", {"axis": -2}, [(2, 4, 3, 2), (2, 4, 5, 2)], "axis-2-4d"),
    ("Dot", {"axes": 1}, [(2, 3), (2, 3)], "vectors"),
    ("Dot", {"axes": 1}, [(2, 3, 4), (2, 3, 5)], "3d-axes1"),
    ("Dot", {"axes": (2, 2)}, [(2, 3, 4), (2, 5, 4)], "3d-axes22"),
    ("Dot", {"axes": -1}, [(2, 3, 4), (2, 5, 4)], "negative-axes"),
    ("Dot", {"axes": 1}, [(2, 3), (2, 3, 4)], "vector-matrix"),
    ("Dot", {"axes": (2, 1)}, [(2, 4, 3), (2, 3, 5)], "matmul"),
    ("Dot", {"axes": 1, "normalize": True}, [(2, 6), (2, 6)], "cosine"),
    ("Dot", {"axes": (1, 1), "normalize": True}, [(2, 3, 4), (2, 3, 5)], "cosine-3d"),
]


@pytest.mark.parity
@pytest.mark.parametrize(
    ("layer", "config", "shapes"),
    [c[:3] for c in CASES],
    ids=[f"{c[0]}-{c[3]}" for c in CASES],
)
def test_merge_matches_keras(layer, config, shapes):
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal(s).astype("float32") for s in shapes]
    assert_layer_matches_keras(layer, config, None, inputs=inputs)


MASKS_A = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
MASKS_B = np.array([[1, 0, 0], [0, 1, 1]], dtype=bool)
MASK_CASES = [
    (name, config, masks, tag)
    for name, config in [
        ("Add", {}),
        ("Subtract", {}),
        ("Multiply", {}),
        ("Average", {}),
        ("Maximum", {}),
        ("Minimum", {}),
        ("Concatenate", {}),
        ("Concatenate", {"axis": 1}),
    ]
    for masks, tag in [
        ((MASKS_A, MASKS_B), "both-masked"),
        ((MASKS_A, None), "first-masked"),
        ((None, MASKS_B), "second-masked"),
    ]
]


def _with_mask(array, mask):
    tensor = torch.tensor(array)
    if mask is not None:
        tensor._keras_mask = torch.tensor(mask)
    return tensor


@pytest.mark.parity
@pytest.mark.parametrize(
    ("layer", "config", "masks"),
    [c[:3] for c in MASK_CASES],
    ids=[f"{c[0]}{c[1].get('axis', '')}-{c[3]}" for c in MASK_CASES],
)
def test_merge_masks_match_keras(layer, config, masks):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((2, 3, 4)).astype("float32") for _ in masks]
    ref = getattr(keras.layers, layer)(**config)(
        [_with_mask(a, m) for a, m in zip(arrays, masks, strict=False)]
    )
    ours = getattr(lamina.layers, layer)(**config)(
        [_with_mask(a, m) for a, m in zip(arrays, masks, strict=False)]
    )
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-6)
    ref_mask = getattr(ref, "_keras_mask", None)
    our_mask = getattr(ours, "_keras_mask", None)
    assert (ref_mask is None) == (our_mask is None)
    if ref_mask is not None:
        assert torch.equal(our_mask, ref_mask)


@pytest.mark.parity
@pytest.mark.parametrize("as_variable", [False, True], ids=["numpy", "variable"])
def test_concatenate_compute_mask_takes_arrays_as_keras(as_variable):
    """compute_mask called directly with NumPy masks (or Variables) works as in Keras; lamina
    called `.unsqueeze` on them."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.random((2, 3, 4)), rng.random((2, 5, 4))
    masks = [rng.random((2, 3)) > 0.5, None]
    theirs = keras.layers.Concatenate(axis=1).compute_mask(
        [x1, x2], [keras.Variable(masks[0], trainable=False) if as_variable else masks[0], None]
    )
    ours = lamina.layers.Concatenate(axis=1).compute_mask(
        [x1, x2], [lamina.Variable(masks[0], trainable=False) if as_variable else masks[0], None]
    )
    np.testing.assert_array_equal(
        lamina.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs)
    )


def _compute_mask_outcome(module, layer, inputs, mask):
    try:
        result = getattr(module.layers, layer)().compute_mask(inputs, mask)
    except ValueError as error:
        return "ValueError", str(error)
    return "ok", result


@pytest.mark.parity
@pytest.mark.parametrize(
    "layer", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]
)
@pytest.mark.parametrize(
    "case", ["mask-not-list", "inputs-not-list", "length-mismatch", "mask-none"]
)
def test_merge_compute_mask_checks_arguments_as_keras(layer, case):
    """compute_mask refuses a non-list mask, a non-list inputs and lists of unequal length with
    a ValueError as Keras does; lamina returned None or ignored the mask."""
    x = np.ones((2, 4, 5), dtype="float32")
    inputs, mask = {
        "mask-not-list": ([x, x], np.ones((2, 4), dtype=bool)),
        "inputs-not-list": (x, [None, None]),
        "length-mismatch": ([x, x], [None]),
        "mask-none": ([x, x], None),
    }[case]
    theirs = _compute_mask_outcome(keras, layer, inputs, mask)
    ours = _compute_mask_outcome(lamina, layer, inputs, mask)
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert ours[1] is None and theirs[1] is None
    else:
        assert f"({layer})" in ours[1] and "Hint:" in ours[1]
