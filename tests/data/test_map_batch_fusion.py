"""map(fn).batch(n) runs fn once per batch through torch.func.vmap, with per-element results, and
falls back to element-by-element calls whenever vmap cannot batch fn (data/fusion.py)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.data import AUTOTUNE, Dataset, fusion


def batches(dataset):
    return [lamina.data.structure.to_numpy(batch) for batch in dataset]


def assert_same_batches(got, expected, exact=False):
    assert len(got) == len(expected)
    flatten = lamina.tree.flatten
    for a, b in zip(got, expected, strict=True):
        for leaf_a, leaf_b in zip(flatten(a), flatten(b), strict=True):
            if exact:
                np.testing.assert_array_equal(leaf_a, leaf_b)
            else:
                np.testing.assert_allclose(leaf_a, leaf_b, rtol=1e-6)


def images_and_labels(count=10):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (count, 6, 5, 3)).astype("float32"), np.arange(count)


# Each case: a source, a map function. Vectorized and element-wise runs must agree.
CASES = {
    "tuple": (lambda: Dataset.from_tensor_slices(images_and_labels()), lambda x, y: (x * 2 + 1, y)),
    "dict": (
        lambda: Dataset.from_tensor_slices({"a": np.arange(10.0), "b": np.ones((10, 2))}),
        lambda e: {"sum": e["a"] + e["b"].sum(), "b": e["b"]},
    ),
    "python_number_out": (lambda: Dataset.from_tensor_slices(np.arange(10.0)), lambda x: (x, 1.5)),
    "reduction_per_element": (
        lambda: Dataset.from_tensor_slices(images_and_labels()),
        lambda x, y: (x - x.mean(), y),
    ),
    "layer_on_single_images": (
        lambda: Dataset.from_tensor_slices(images_and_labels()),
        lambda x, y: (layers.Resizing(4, 4)(x), y),
    ),
    "after_filter": (
        lambda: Dataset.from_tensor_slices(np.arange(20.0)).filter(lambda x: x > 3),
        lambda x: x**2,
    ),
}


@pytest.mark.parametrize("drop_remainder", [False, True], ids=["keep_rest", "drop_rest"])
@pytest.mark.parametrize("parallel", [None, AUTOTUNE], ids=["serial", "autotune"])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_vectorized_map_equals_element_by_element(case, parallel, drop_remainder):
    source, fn = case
    fused = source().map(fn, num_parallel_calls=parallel).batch(4, drop_remainder)
    plain = source().map(fn, num_parallel_calls=parallel, vectorize=False).batch(4, drop_remainder)
    assert isinstance(fused._node, fusion.MapAndBatch)
    assert not isinstance(plain._node, fusion.MapAndBatch)
    assert_same_batches(batches(fused), batches(plain))
    assert fused._node.vectorized, "vmap refused a function it can batch"


def test_the_function_runs_once_per_batch_when_vectorized_and_per_element_when_not():
    calls = []

    def fn(x):
        calls.append(1)
        return x + 1

    list(Dataset.from_tensor_slices(np.arange(10.0)).map(fn).batch(4))
    assert len(calls) == 3
    calls.clear()
    list(Dataset.from_tensor_slices(np.arange(10.0)).map(fn, vectorize=False).batch(4))
    assert len(calls) == 10


# Functions vmap cannot batch: each must still give the element-by-element result.
REFUSED = {
    "item": (lambda: Dataset.from_tensor_slices(np.arange(10.0)), lambda x: x * float(x.item())),
    "tensor_if": (
        lambda: Dataset.from_tensor_slices(np.arange(-5.0, 5.0)),
        lambda x: x if x > 0 else -x,
    ),
    "numpy": (lambda: Dataset.from_tensor_slices(np.arange(10.0)), lambda x: np.sqrt(x.numpy())),
    "boolean_mask": (lambda: Dataset.from_tensor_slices(np.ones((10, 3))), lambda x: x[x > 0]),
    "strings": (
        lambda: Dataset.from_tensor_slices((np.array(["a", "bb"] * 5), np.arange(10))),
        lambda s, y: (y * 2, s),
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_functions_vmap_refuses_fall_back_to_element_by_element(case):
    source, fn = case
    fused = source().map(fn).batch(4)
    plain = source().map(fn, vectorize=False).batch(4)
    assert_same_batches(batches(fused), batches(plain), exact=True)
    assert not fused._node.vectorized


def test_raw_elements_of_different_shapes_are_mapped_one_by_one():
    # Images of several sizes before a resize: the raw batch cannot be stacked, the mapped one can.
    def source():
        return Dataset.from_generator(
            lambda: (np.full((n % 3 + 2, 4, 1), n, dtype="float32") for n in range(10))
        )

    def fn(image):
        return layers.Resizing(2, 2)(image)

    got = batches(source().map(fn).batch(4))
    expected = batches(source().map(fn, vectorize=False).batch(4))
    assert [b.shape for b in got] == [(4, 2, 2, 1), (4, 2, 2, 1), (2, 2, 2, 1)]
    assert_same_batches(got, expected)


def test_an_error_in_the_function_reaches_the_user_unchanged():
    def broken(x):
        raise KeyError("no such feature")

    with pytest.raises(KeyError, match="no such feature"):
        list(Dataset.from_tensor_slices(np.arange(4.0)).map(broken).batch(2))


def test_each_image_of_a_batch_gets_its_own_augmentation():
    # Seed 21's pipeline: an augmentation model mapped over single images, then batched.
    augmentation = lamina.Sequential(
        [layers.RandomRotation(0.1), layers.RandomFlip("horizontal"), layers.RandomContrast(0.2)]
    )
    same = np.repeat(images_and_labels(1)[0], 16, axis=0)
    dataset = (
        Dataset.from_tensor_slices(same).map(lambda x: augmentation(x, training=True)).batch(16)
    )
    (batch,) = list(dataset)
    assert dataset._node.vectorized
    assert batch.shape == (16, 6, 5, 3)
    assert len({round(float(image.sum()), 5) for image in batch}) == 16


def test_seeded_augmentation_in_a_vectorized_map_is_reproducible():
    def run():
        flip = layers.RandomFlip("horizontal", seed=3)
        dataset = (
            Dataset.from_tensor_slices(images_and_labels(8)[0])
            .map(lambda x: flip(x, training=True))
            .batch(8)
        )
        return next(iter(dataset))

    first, second = run(), run()
    torch.testing.assert_close(first, second)
    originals = torch.from_numpy(images_and_labels(8)[0])
    flipped = [not torch.equal(a, b) for a, b in zip(first, originals, strict=True)]
    assert 0 < sum(flipped) < 8
