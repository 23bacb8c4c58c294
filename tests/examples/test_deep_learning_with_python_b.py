"""Small reproductions of what "Deep Learning with Python" (3rd ed.), ch. 10-18, asks of lamina.

Each test is our own few lines for one pattern the book's notebooks use, grouped by chapter; the
notebooks themselves are not copied here.
"""

from lamina import data

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
