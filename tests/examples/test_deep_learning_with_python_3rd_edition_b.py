"""Small reproductions of what "Deep Learning with Python" (3rd ed.), ch. 10-18, asks of lamina.

Each test is our own few lines for one pattern the book's notebooks use, grouped by chapter; the
notebooks themselves are not copied here.
"""

import numpy as np
import pytest
import torch

from lamina import data, layers
from tests.parity.reference import keras

# Chapter 15: language models and the Transformer


def test_as_numpy_iterator_hands_out_one_string_as_a_sliceable_str():
    # A character model slices the first raw text it reads back: `x[:50]` (tf.data gives bytes).
    dataset = data.Dataset.from_tensor_slices((["abcdef", "ghijkl"], ["bcdefg", "hijklm"]))
    features, labels = next(dataset.as_numpy_iterator())
    assert isinstance(features, str)
    assert (features[:3], labels[:3]) == ("abc", "bcd")
    batch, _ = next(dataset.batch(2).as_numpy_iterator())
    assert batch.shape == (2,)
    assert batch.tolist() == ["abcdef", "ghijkl"]


# Chapter 16: text generation (a mini-GPT trained under mixed_float16)


def test_causal_self_attention_runs_under_mixed_float16_as_keras():
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    ours = layers.MultiHeadAttention(2, 4, dtype="mixed_float16")
    theirs = keras.layers.MultiHeadAttention(2, 4, dtype="mixed_float16")
    expected = theirs(x, x, use_causal_mask=True)
    ours(x, x)
    ours.set_weights(theirs.get_weights())
    out = ours(x, x, use_causal_mask=True)
    assert out.dtype == torch.float16
    np.testing.assert_allclose(
        out.float().detach().numpy(), keras.ops.convert_to_numpy(expected), atol=2e-2
    )


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_masked_attention_scores_stay_finite_in_float16(dropout):
    # The explicit path (dropout, returned scores) masks with Keras's float16 number, not -1e9.
    x = torch.randn(2, 4, 8)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0]], dtype=torch.bool)[:, None, :]
    layer = layers.MultiHeadAttention(2, 4, dropout=dropout, dtype="mixed_float16")
    out, scores = layer(x, x, attention_mask=mask, return_attention_scores=True)
    assert torch.isfinite(out).all()
    assert torch.isfinite(scores).all()
    assert float(scores[0, :, :, 2:].detach().abs().max()) == 0.0


def test_masked_softmax_in_float16_matches_keras():
    logits = np.random.default_rng(1).normal(size=(2, 4)).astype("float16")
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)  # a fully masked row: zeros
    ours = layers.Softmax(dtype="float16")(torch.from_numpy(logits), mask=torch.from_numpy(mask))
    theirs = keras.layers.Softmax(dtype="float16")(logits, mask=mask)
    assert ours.dtype == torch.float16
    np.testing.assert_allclose(
        ours.float().numpy(), keras.ops.convert_to_numpy(theirs).astype("float32"), atol=1e-3
    )


# Chapter 17: image generation (image batches re-cut to the training batch size)


@pytest.mark.parametrize("drop_remainder, sizes", [(False, [4, 4, 4, 3]), (True, [4, 4, 4])])
def test_rebatch_recuts_batches_across_their_borders(drop_remainder, sizes):
    batched = data.Dataset.from_tensor_slices(np.arange(15)).batch(3)
    rebatched = batched.rebatch(4, drop_remainder=drop_remainder)
    batches = [b.tolist() for b in rebatched.as_numpy_iterator()]
    assert [len(b) for b in batches] == sizes
    assert sum(batches, []) == list(range(sum(sizes)))
