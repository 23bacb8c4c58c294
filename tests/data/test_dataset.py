"""lamina.data.Dataset: sources, transformations, cardinality and the errors users meet."""

import numpy as np
import pytest
import torch

from lamina.data import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset


def values(dataset):
    return [np.asarray(e).tolist() for e in dataset.as_numpy_iterator()]


def ten():
    return Dataset.from_tensor_slices(np.arange(10))


# --------------------------------------------------------------------------------------------------
# Sources


def test_slices_of_a_tuple_yield_torch_tensor_rows_keeping_dtypes():
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    y = np.array([0, 1, 0, 1], dtype=np.uint8)
    elements = list(Dataset.from_tensor_slices((x, y)))
    assert len(elements) == 4
    first_x, first_y = elements[0]
    assert isinstance(first_x, torch.Tensor) and first_x.dtype == torch.float64
    assert first_y.dtype == torch.uint8
    np.testing.assert_array_equal(elements[2][0].numpy(), x[2])


def test_slices_of_a_dict_keep_the_keys():
    ds = Dataset.from_tensor_slices({"a": np.arange(3), "b": np.ones((3, 2))})
    element = next(iter(ds))
    assert set(element) == {"a", "b"}
    assert tuple(element["b"].shape) == (2,)


def test_slices_of_pandas_columns_are_rows_by_position_not_by_index_label():
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"n": [10, 11, 12, 13, 14], "s": ["a", "b", "c", "d", "e"]})
    sampled = frame.drop(frame.index[[0, 2]])  # index labels 1, 3, 4: row 0 is label 1
    dataset = Dataset.from_tensor_slices((dict(sampled), sampled.pop("n")))
    batch, labels = next(iter(dataset.shuffle(3, seed=1).batch(3)))
    assert sorted(labels.tolist()) == [11, 13, 14]
    assert isinstance(batch["n"], torch.Tensor) and batch["n"].dtype == torch.int64
    assert batch["s"].dtype.kind == "U" and sorted(batch["s"].tolist()) == ["b", "d", "e"]
    whole = list(Dataset.from_tensor_slices(frame[["n"]]).batch(5))[0]
    np.testing.assert_array_equal(whole.numpy(), [[10], [11], [12], [13], [14]])


def test_a_row_of_text_is_a_0d_array_as_a_mapped_text_leaf_is():
    words = np.array(["ab", "cd", "ef"])
    kinds = [
        Dataset.from_tensor_slices(words),
        Dataset.from_tensor_slices(words).batch(2).unbatch(),
        Dataset.from_tensor_slices(words).map(lambda w: w),
    ]
    row_types = set()
    for dataset in kinds:
        rows = list(dataset)
        # A text leaf is an ndarray (lamina's TextArray, which also answers `.numpy()`).
        assert all(isinstance(row, np.ndarray) and row.shape == () for row in rows)
        row_types.update(type(row) for row in rows)
        assert [row.tolist() for row in rows] == ["ab", "cd", "ef"]
    assert len(row_types) == 1


def test_slices_of_read_only_arrays_do_not_warn():
    x = np.arange(5)
    x.flags.writeable = False
    assert values(Dataset.from_tensor_slices(x)) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "tensors, message",
    [
        ((np.zeros(3), np.zeros(4)), r"same first dimension; received shapes \[\(3,\), \(4,\)\]"),
        (np.float32(1.0), "received a scalar"),
    ],
    ids=["unequal-lengths", "scalar"],
)
def test_slices_errors(tensors, message):
    with pytest.raises(ValueError, match=message):
        Dataset.from_tensor_slices(tensors)


def test_generator_is_called_afresh_each_pass():
    calls = []

    def gen():
        calls.append(1)
        yield from ((i, float(i)) for i in range(3))

    ds = Dataset.from_generator(gen)
    assert values(ds) == values(ds) == [[0, 0.0], [1, 1.0], [2, 2.0]]
    assert len(calls) == 2
    assert ds.cardinality() == UNKNOWN_CARDINALITY
    x, _ = next(iter(ds))
    assert x.dtype == torch.int64


def test_generator_called_too_early_is_explained():
    def gen():
        yield 1

    with pytest.raises(TypeError, match=r"not `from_generator\(gen\(\)\)`"):
        Dataset.from_generator(gen())


def test_range_and_enumerate():
    assert values(Dataset.range(2, 8, 3)) == [2, 5]
    assert values(Dataset.range(3).enumerate(start=5)) == [[5, 0], [6, 1], [7, 2]]


def test_zip_of_tuple_and_dict():
    a, b = Dataset.range(3), Dataset.range(10, 12)
    assert values(Dataset.zip((a, b))) == [[0, 10], [1, 11]]
    assert values(Dataset.zip(a, b)) == [[0, 10], [1, 11]]
    pairs = list(Dataset.zip({"x": a, "y": b}))
    assert [int(p["y"]) for p in pairs] == [10, 11]
    assert Dataset.zip((a, b)).cardinality() == 2
    with pytest.raises(TypeError, match="Dataset.zip expects Dataset objects; received ndarray"):
        Dataset.zip((a, np.arange(3)))


# --------------------------------------------------------------------------------------------------
# Transformations


def test_map_unpacks_tuples_and_receives_tensors():
    seen = []

    def fn(x, y):
        seen.append((type(x), type(y)))
        return x * 2, y + 1

    ds = Dataset.from_tensor_slices((np.arange(3.0), np.arange(3))).map(fn)
    assert values(ds) == [[0.0, 1], [2.0, 2], [4.0, 3]]
    assert seen[0] == (torch.Tensor, torch.Tensor)


@pytest.mark.parametrize("calls", [2, 3, AUTOTUNE], ids=["two", "three", "autotune"])
def test_parallel_map_keeps_the_order(calls):
    ds = Dataset.range(50).map(lambda x: x * x, num_parallel_calls=calls)
    assert values(ds) == [i * i for i in range(50)]


def test_map_builds_no_autograd_graph():
    weight = torch.ones(1, requires_grad=True)
    out = next(
        iter(Dataset.from_tensor_slices(np.ones((2, 1), np.float32)).map(lambda x: x * weight))
    )
    assert not out.requires_grad


def test_map_rejects_a_bad_parallelism():
    with pytest.raises(ValueError, match="num_parallel_calls to be a positive int, AUTOTUNE"):
        Dataset.range(3).map(lambda x: x, num_parallel_calls=0)


def test_filter_keeps_matching_elements():
    assert values(ten().filter(lambda x: x % 3 == 0)) == [0, 3, 6, 9]
    assert ten().filter(lambda x: x > 0).cardinality() == UNKNOWN_CARDINALITY


@pytest.mark.parametrize("drop", [False, True], ids=["keep-remainder", "drop-remainder"])
@pytest.mark.parametrize("through_map", [False, True], ids=["gathered", "stacked"])
def test_batch_sizes_and_cardinality(drop, through_map):
    ds = Dataset.from_tensor_slices((np.arange(10.0), np.arange(10)))
    if through_map:
        ds = ds.map(lambda x, y: (x, y))
    batched = ds.batch(4, drop_remainder=drop)
    sizes = [len(x) for x, _ in batched]
    assert sizes == ([4, 4] if drop else [4, 4, 2])
    assert len(batched) == len(sizes)
    assert values(batched)[0] == [[0.0, 1.0, 2.0, 3.0], [0, 1, 2, 3]]


def test_batch_of_ragged_elements_says_how_to_fix_it():
    ds = Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)]))
    with pytest.raises(ValueError, match=r"same shape.*Hint: make them equal inside map"):
        list(ds.batch(2))


@pytest.mark.parametrize(
    "size", [0, -3, True, "4", 2.0], ids=["zero", "negative", "bool", "string", "float"]
)
def test_batch_size_must_be_positive(size):
    with pytest.raises(
        ValueError, match=r"Dataset.batch\(\) expects `batch_size` to be an integer >= 1"
    ):
        ten().batch(size)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda ds: ds.take("3"), r"Dataset.take\(\) expects `count` to be an integer >= -1"),
        (lambda ds: ds.skip(1.5), r"Dataset.skip\(\) expects `count` to be an integer >= -1"),
        (lambda ds: ds.repeat("2"), r"Dataset.repeat\(\) expects `count` .* or None"),
        (lambda ds: ds.map(3), r"Dataset.map\(\) expects `map_func` to be a function"),
        (lambda ds: ds.filter(None), r"Dataset.filter\(\) expects `predicate` to be a func"),
        (lambda ds: ds.take_while("x"), r"Dataset.take_while\(\) expects `predicate`"),
    ],
    ids=["take", "skip", "repeat", "map", "filter", "take_while"],
)
def test_bad_arguments_are_refused_when_the_dataset_is_made(make, message):
    # int() read "3" and 1.5 silently (skip(1.5) skipped one element), and a map of a
    # non-function failed only at the first element ('int' object is not callable).
    with pytest.raises(ValueError, match=message):
        make(ten())


def test_integer_tensors_and_numpy_ints_are_counts():
    assert len(list(ten().take(torch.tensor(3)))) == 3
    assert len(list(ten().batch(np.int64(5)))) == 2


def test_unbatch_inverts_batch():
    ds = Dataset.from_tensor_slices({"x": np.arange(7), "y": -np.arange(7)})
    rows = list(ds.batch(3).unbatch())
    assert [int(r["x"]) for r in rows] == list(range(7))
    assert [int(r["y"]) for r in rows] == [-i for i in range(7)]


def test_shuffle_is_a_permutation_reproducible_with_a_seed():
    first = values(ten().shuffle(10, seed=3))
    assert sorted(first) == list(range(10)) and first != list(range(10))
    assert values(ten().shuffle(10, seed=3)) == first


def test_shuffle_reshuffles_each_pass_unless_told_not_to():
    reshuffled = ten().shuffle(10, seed=1)
    assert values(reshuffled) != values(reshuffled)
    fixed = ten().shuffle(10, seed=1, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)


def test_shuffle_without_seed_follows_set_random_seed():
    import lamina

    lamina.utils.set_random_seed(7)
    first = values(ten().shuffle(10))
    lamina.utils.set_random_seed(7)
    assert values(ten().shuffle(10)) == first


def test_buffer_of_one_keeps_the_order_and_small_buffers_stay_local():
    assert values(ten().shuffle(1, seed=0)) == list(range(10))
    order = values(Dataset.range(100).shuffle(5, seed=0))
    # An element can only move ahead of at most buffer_size - 1 later ones... and back by a bound.
    assert all(order[i] <= i + 4 for i in range(100))


def test_gathered_and_stacked_batches_see_the_same_shuffle():
    data = np.arange(20)
    gathered = values(Dataset.from_tensor_slices(data).shuffle(8, seed=5).batch(6))
    stacked = values(Dataset.from_tensor_slices(data).shuffle(8, seed=5).map(lambda x: x).batch(6))
    assert gathered == stacked


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: ten().repeat(3), 30),
        (lambda: ten().repeat(), INFINITE_CARDINALITY),
        (lambda: ten().repeat().take(25), 25),
        (lambda: ten().take(4), 4),
        (lambda: ten().take(-1), 10),
        (lambda: ten().take(40), 10),
        (lambda: ten().skip(3), 7),
        (lambda: ten().skip(30), 0),
        (lambda: ten().skip(-1), 0),
        (lambda: ten().repeat().skip(3), INFINITE_CARDINALITY),
        (lambda: ten().batch(3).repeat(2), 8),
        (lambda: ten().map(lambda x: x).cache().prefetch(2), 10),
        (lambda: Dataset.from_generator(lambda: iter([1])).take(3), UNKNOWN_CARDINALITY),
    ],
    ids=[
        "repeat3",
        "repeat-forever",
        "forever-take",
        "take",
        "take-all",
        "take-more",
        "skip",
        "skip-more",
        "skip-all",
        "forever-skip",
        "batch-repeat",
        "map-cache-prefetch",
        "generator-take",
    ],
)
def test_cardinality(build, expected):
    dataset = build()
    assert dataset.cardinality() == expected
    if expected >= 0:
        assert len(list(dataset)) == expected == len(dataset)


def test_take_skip_and_repeat_elements():
    assert values(ten().skip(7).repeat(2)) == [7, 8, 9, 7, 8, 9]
    assert values(ten().repeat().take(12))[-2:] == [0, 1]
    assert values(Dataset.range(0).repeat()) == []


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ten().repeat(), "infinite"),
        (lambda: ten().filter(lambda x: True), r"unknown.*steps_per_epoch"),
    ],
    ids=["infinite", "unknown"],
)
def test_len_of_a_dataset_without_a_known_size(build, message):
    dataset = build()
    assert bool(dataset)
    with pytest.raises(TypeError, match=message):
        len(dataset)


def test_cache_runs_the_map_once_and_keeps_only_complete_passes():
    calls = []

    def fn(x):
        calls.append(int(x))
        return x * 10

    cached = Dataset.range(4).map(fn).cache()
    assert values(cached.take(2)) == [0, 10]
    assert values(cached) == [0, 10, 20, 30]
    assert values(cached.shuffle(4, seed=0).batch(4))[0] != [0, 10, 20, 30]
    assert calls == [0, 1, 0, 1, 2, 3]
    with pytest.raises(ValueError, match="in memory only"):
        Dataset.range(3).cache("/tmp/cache")


def test_a_big_shuffled_batch_is_gathered_not_stacked():
    x = np.random.default_rng(0).standard_normal((1000, 4, 4, 3)).astype(np.float32)
    batches = list(Dataset.from_tensor_slices((x, np.arange(1000))).shuffle(1000, seed=0).batch(64))
    indices = np.concatenate([y.numpy() for _, y in batches])
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b, _ in batches]), x[indices])
    assert sorted(indices.tolist()) == list(range(1000))


def test_dataset_repr_names_its_size():
    assert repr(ten().repeat()) == "<Dataset cardinality=infinite (Repeat)>"
    assert repr(ten().batch(5)) == "<Dataset cardinality=2 (Batch)>"


# --------------------------------------------------------------------------------------------------
# Progress between passes (get_state / set_state, for BackupAndRestore)


def test_state_makes_a_fresh_pipeline_repeat_the_next_pass():
    def build(seed=None):
        return ten().shuffle(10, seed=seed).map(lambda v: v * 2).batch(4)

    first = build(seed=3)
    values(first)  # one pass done: the state now says "the second pass is next"
    state = first.get_state()
    assert state == {"stages": ["Shuffle"], "states": [{"seed": 3, "passes": 1}]}
    second_pass = values(first)
    fresh = build()  # another seed (from NumPy's global state), as a restarted process might draw
    fresh.set_state(state)
    assert values(fresh) == second_pass
    assert values(build(seed=3)) != second_pass  # without the state: the first pass's order


def test_state_of_zipped_pipelines_and_a_mismatch():
    zipped = Dataset.zip((ten().shuffle(10, seed=1), ten().shuffle(5, seed=2)))
    assert zipped.get_state()["stages"] == ["Shuffle", "Shuffle"]
    assert ten().batch(2).get_state() == {"stages": [], "states": []}
    with pytest.raises(ValueError, match=r"stages \['Shuffle', 'Shuffle'\]; this one has \[\]"):
        ten().set_state(zipped.get_state())


def test_concatenate_chains_two_pipelines_as_tf_data():
    # The active-learning recipe: labelled rows, then rows taken from a pool, then the rest.
    labelled = Dataset.from_tensor_slices((np.arange(3.0), np.zeros(3, "int64")))
    pool = Dataset.from_tensor_slices((np.arange(10.0, 15.0), np.ones(5, "int64")))
    grown = labelled.concatenate(pool.take(2))
    assert len(grown) == 5 and len(pool.skip(2)) == 3
    assert [float(x) for x, _ in grown] == [0.0, 1.0, 2.0, 10.0, 11.0]
    assert [int(y) for _, y in grown.batch(4).unbatch()] == [0, 0, 0, 1, 1]
    assert labelled.concatenate(Dataset.range(2).repeat()).cardinality() == -1
    with pytest.raises(TypeError, match=r"concatenate expects Dataset objects; received ndarray"):
        labelled.concatenate(np.arange(3))
