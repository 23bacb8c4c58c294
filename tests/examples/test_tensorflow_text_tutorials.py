"""Gaps TensorFlow's text tutorials (tensorflow.org/tutorials/text, load_data, video, distribute)
found in lamina, each reproduced in a few lines of our own, grouped by tutorial. The tutorials
themselves are not copied here; see each test's docstring for the workflow it stands for.
"""

from __future__ import annotations

import warnings

import numpy as np

import lamina
from lamina import layers
from tests.parity.reference import keras

# text/transformer: a residual `x + attention(x, x)` inside a subclassed layer. Keras's
# MultiHeadAttention takes the masks off the tensors it reads, so the layers after it see no mask
# and do not warn that they drop one.


def _mask_facts(api):
    embedding = api.layers.Embedding(10, 4, mask_zero=True)
    attention = api.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    query = embedding(np.array([[1, 2, 0], [3, 0, 0]]))
    context = embedding(np.array([[1, 2, 0, 0], [3, 1, 0, 0]]))
    output = attention(query=query, value=context, key=context)
    return (
        getattr(query, "_keras_mask", None) is None,
        getattr(context, "_keras_mask", None) is None,
        np.asarray(output._keras_mask.cpu()).tolist(),
    )


def test_multi_head_attention_takes_the_masks_off_its_inputs_as_keras():
    ours = _mask_facts(lamina)
    assert ours == _mask_facts(keras)
    assert ours == (True, True, [[True, True, False], [True, False, False]])


def test_a_layer_after_self_attention_gives_no_dropped_mask_warning():
    class Residual(lamina.layers.Layer):
        def __init__(self):
            super().__init__()
            self.attention = layers.MultiHeadAttention(num_heads=2, key_dim=4)
            self.feed_forward = lamina.Sequential([layers.Dense(4)])  # supports no masking

        def call(self, x):
            return self.feed_forward(x + self.attention(query=x, value=x, key=x))

    x = layers.Embedding(10, 4, mask_zero=True)(np.array([[1, 2, 0], [3, 0, 0]]))
    block = Residual()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the block itself drops the mask, as in Keras
        block(x)
    x = layers.Embedding(10, 4, mask_zero=True)(np.array([[1, 2, 0], [3, 0, 0]]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block.attention(query=x, value=x, key=x)
        block.feed_forward(x)
    assert [str(w.message) for w in caught] == []
