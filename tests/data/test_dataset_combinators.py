"""tf.data's padded_batch, interleave, flat_map, concatenate, shard, sampling and text files on
lamina.data: element order, padding and cardinality as tf.data documents them."""

import numpy as np
import pytest
import torch

import lamina
from lamina.data import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, TextLineDataset


def ints(dataset):
    return [int(x) for x in dataset]


def growing_rows(n):
    """Elements [1], [1, 2], ... [1..n] (int64), as a generator-backed pipeline would give."""
    return Dataset.range(1, n + 1).map(lambda k: torch.arange(1, int(k) + 1))


# ------------------------------------------------------------------------------------------------
# padded_batch


def test_padded_batch_pads_each_batch_to_its_longest_element():
    batches = [b.tolist() for b in growing_rows(5).padded_batch(2)]
    assert batches == [[[1, 0], [1, 2]], [[1, 2, 3, 0], [1, 2, 3, 4]], [[1, 2, 3, 4, 5]]]


def test_padded_batch_to_fixed_shapes_with_a_padding_value_per_component():
    pairs = growing_rows(3).map(lambda x: (x, torch.ones(len(x), 2)))
    (x, y), *_ = list(
        pairs.padded_batch(3, padded_shapes=([4], [None, 3]), padding_values=(-1, 0.5))
    )
    assert x.tolist() == [[1, -1, -1, -1], [1, 2, -1, -1], [1, 2, 3, -1]]
    assert x.dtype == torch.int64 and y.dtype == torch.float32
    assert tuple(y.shape) == (3, 3, 3)
    assert y[0].tolist() == [[1, 1, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]


def test_padded_batch_of_dicts_and_of_text():
    text = Dataset.from_generator(lambda: iter([np.array(["a"]), np.array(["bbbb", "cc"])]))
    (batch,) = list(text.padded_batch(2))
    assert batch.tolist() == [["a", ""], ["bbbb", "cc"]]
    named = growing_rows(2).map(lambda x: {"ids": x, "label": x.sum()})
    (batch,) = list(named.padded_batch(2))
    assert batch["ids"].tolist() == [[1, 0], [1, 2]] and batch["label"].tolist() == [1, 3]


def test_padded_batch_cardinality_and_drop_remainder():
    dataset = Dataset.from_tensor_slices(np.arange(7)).padded_batch(3, drop_remainder=True)
    assert dataset.cardinality() == 2 and len(list(dataset)) == 2


@pytest.mark.parametrize(
    "padded_shapes, message",
    [
        ([2], r"shape \(3,\) \(largest in the batch\), larger than its padded_shapes \(2,\)"),
        ([2, 2], r"padded_shapes \(2, 2\) for a component of rank 1"),
    ],
)
def test_padded_batch_errors_name_the_shapes(padded_shapes, message):
    with pytest.raises(ValueError, match=message):
        list(growing_rows(3).padded_batch(3, padded_shapes=padded_shapes))


def test_padded_batch_feeds_a_masked_model():
    x = growing_rows(6).map(lambda ids: (ids, torch.tensor(float(len(ids) % 2))))
    model = lamina.Sequential(
        [
            lamina.Input((None,), dtype="int64"),
            lamina.layers.Embedding(8, 4, mask_zero=True),
            lamina.layers.GlobalAveragePooling1D(),
            lamina.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x.padded_batch(3), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# ------------------------------------------------------------------------------------------------
# interleave, flat_map, concatenate, from_tensors


def test_interleave_follows_tf_data_order_when_inner_datasets_run_dry():
    # tf.data's documented case: 5 elements each repeated 6 times, 2 open at once, blocks of 4.
    dataset = Dataset.range(1, 6).interleave(
        lambda x: Dataset.from_tensors(x).repeat(6), cycle_length=2, block_length=4
    )
    expected = [1] * 4 + [2] * 4 + [1] * 2 + [2] * 2 + [3] * 4 + [4] * 4 + [3] * 2 + [4] * 2
    assert ints(dataset) == expected + [5] * 6


def test_interleave_of_inner_datasets_of_different_lengths():
    dataset = Dataset.range(1, 4).interleave(
        lambda n: Dataset.range(int(n)).map(lambda i, n=int(n): 10 * n + i), cycle_length=2
    )
    assert ints(dataset) == [10, 20, 21, 30, 31, 32]


def test_interleave_and_flat_map_refuse_a_function_that_returns_no_dataset():
    with pytest.raises(TypeError, match="interleave expects its function to return a Dataset"):
        list(Dataset.range(2).interleave(lambda x: x, cycle_length=1))
    with pytest.raises(TypeError, match="flat_map expects its function to return a Dataset"):
        list(Dataset.range(2).flat_map(lambda x: [x]))
    with pytest.raises(ValueError, match="positive block_length"):
        Dataset.range(2).interleave(Dataset.from_tensors, cycle_length=1, block_length=0)


def test_flat_map_unbatches_rows_and_concatenate_chains():
    rows = Dataset.from_tensors(np.arange(6).reshape(3, 2)).flat_map(Dataset.from_tensor_slices)
    assert [r.tolist() for r in rows] == [[0, 1], [2, 3], [4, 5]]
    chained = Dataset.range(2).concatenate(Dataset.range(5, 7))
    assert ints(chained) == [0, 1, 5, 6] and chained.cardinality() == 4
    assert Dataset.range(2).concatenate(Dataset.range(1).repeat()).cardinality() == (
        INFINITE_CARDINALITY
    )
    assert Dataset.from_tensors({"a": [1, 2]}).cardinality() == 1


# ------------------------------------------------------------------------------------------------
# shard, take_while, reduce, get_single_element


@pytest.mark.parametrize("through_map", [False, True])
def test_shard_deals_elements_and_counts_them(through_map):
    dataset = Dataset.from_tensor_slices(np.arange(10))
    if through_map:  # no row plan: the iterating path
        dataset = dataset.map(lambda x: x)
    shards = [dataset.shard(3, i) for i in range(3)]
    assert [ints(s) for s in shards] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert [s.cardinality() for s in shards] == [4, 3, 3]
    assert [b.tolist() for b in shards[0].batch(3)] == [[0, 3, 6], [9]]
    with pytest.raises(ValueError, match=r"0 <= index < num_shards \(3\); received index=3"):
        dataset.shard(3, 3)


def test_take_while_reduce_and_get_single_element():
    assert ints(Dataset.range(10).take_while(lambda x: x < 4)) == [0, 1, 2, 3]
    total, count = Dataset.range(5).reduce((0, 0), lambda state, x: (state[0] + x, state[1] + 1))
    assert (int(total), int(count)) == (10, 5)
    assert int(Dataset.range(3).skip(2).get_single_element()) == 2
    with pytest.raises(ValueError, match="exactly one element; this one has more than one"):
        Dataset.range(3).get_single_element()


# ------------------------------------------------------------------------------------------------
# sample_from_datasets, choose_from_datasets


def test_sample_from_datasets_follows_the_weights_and_repeats_with_a_seed():
    zeros, ones = Dataset.from_tensors(0).repeat(), Dataset.from_tensors(1).repeat()
    mixed = Dataset.sample_from_datasets([zeros, ones], weights=[0.8, 0.2], seed=3).take(2000)
    drawn = ints(mixed)
    assert 0.17 < np.mean(drawn) < 0.23
    again = Dataset.sample_from_datasets([zeros, ones], weights=[0.8, 0.2], seed=3).take(2000)
    assert ints(again) == drawn
    assert Dataset.sample_from_datasets([zeros, ones]).cardinality() == INFINITE_CARDINALITY


def test_sample_from_datasets_when_one_runs_dry():
    short, long = Dataset.range(3), Dataset.range(100, 110)
    everything = ints(Dataset.sample_from_datasets([short, long], seed=0))
    assert sorted(everything) == [0, 1, 2, *range(100, 110)]
    stopped = Dataset.sample_from_datasets([short, long], seed=0, stop_on_empty_dataset=True)
    assert 3 <= len(ints(stopped)) < 13
    assert stopped.cardinality() == UNKNOWN_CARDINALITY
    with pytest.raises(ValueError, match="one non-negative weight per dataset"):
        Dataset.sample_from_datasets([short, long], weights=[1.0])


def test_choose_from_datasets_picks_by_index():
    sources = [Dataset.range(0, 3), Dataset.range(10, 13)]
    choices = Dataset.from_tensor_slices(np.array([1, 0, 0, 1, 0, 0, 1]))
    assert ints(Dataset.choose_from_datasets(sources, choices)) == [10, 0, 1, 11, 2]
    kept_going = Dataset.choose_from_datasets(sources, choices, stop_on_empty_dataset=False)
    assert ints(kept_going) == [10, 0, 1, 11, 2, 12]
    bad = Dataset.choose_from_datasets(sources, Dataset.from_tensor_slices(np.array([2])))
    with pytest.raises(ValueError, match=r"choice 2, outside \[0, 2\)"):
        list(bad)


# ------------------------------------------------------------------------------------------------
# TextLineDataset, list_files


def test_text_lines_split_at_newlines_only_and_keep_utf8(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_bytes("héllo\r\nwith\rreturn\n\nlast".encode())
    second.write_bytes(b"header\nbody\n")
    lines = [str(x) for x in TextLineDataset([str(first), str(second)])]
    assert lines == ["héllo", "with\rreturn", "", "last", "header", "body"]
    assert all(isinstance(x, np.ndarray) and x.ndim == 0 for x in TextLineDataset(str(second)))
    with pytest.raises(FileNotFoundError, match="missing.txt' is not a file"):
        TextLineDataset(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="uncompressed files; received compression_type='GZIP'"):
        TextLineDataset(str(first), compression_type="GZIP")


def test_list_files_shuffles_by_default_and_feeds_interleave(tmp_path):
    for index in range(4):
        (tmp_path / f"part{index}.txt").write_text(f"{index}a\n{index}b\n")
    pattern = str(tmp_path / "part*.txt")
    ordered = [str(p) for p in Dataset.list_files(pattern, shuffle=False)]
    assert ordered == [str(tmp_path / f"part{i}.txt") for i in range(4)]
    shuffled = [str(p) for p in Dataset.list_files(pattern, seed=1)]
    assert sorted(shuffled) == ordered
    lines = Dataset.list_files(pattern, shuffle=False).interleave(
        lambda path: TextLineDataset(str(path)), cycle_length=2
    )
    assert [str(x) for x in lines][:4] == ["0a", "1a", "0b", "1b"]
    with pytest.raises(FileNotFoundError, match="no file matching"):
        Dataset.list_files(str(tmp_path / "*.csv"))


# ------------------------------------------------------------------------------------------------
# rejection_resample

SKEWED = np.array([0] * 90 + [1] * 10)


def _class_share(dataset, count=4000):
    pairs = list(dataset.take(count))
    return float(np.mean([int(label) for label, _ in pairs])), pairs


@pytest.mark.parametrize("initial_dist", [[0.9, 0.1], None], ids=["known", "estimated"])
@pytest.mark.parametrize("target", [0.5, 0.3])
def test_rejection_resample_reaches_the_target_distribution(initial_dist, target):
    data = Dataset.from_tensor_slices((np.arange(100.0), SKEWED)).repeat()
    resampled = data.rejection_resample(
        lambda x, y: y, [1 - target, target], initial_dist=initial_dist, seed=3
    )
    share, pairs = _class_share(resampled)
    assert abs(share - target) < 0.03
    # Each pair is (class, the element as it was), the class computed from that element.
    for label, (x, y) in pairs[:50]:
        assert int(label) == int(y) == int(SKEWED[int(x)])
    again, _ = _class_share(
        data.rejection_resample(
            lambda x, y: y, [1 - target, target], initial_dist=initial_dist, seed=3
        )
    )
    assert again == share  # a seed repeats the draws


def test_rejection_resample_names_bad_distributions_and_classes():
    labels = Dataset.from_tensor_slices(SKEWED)
    with pytest.raises(ValueError, match="target_dist to be class probabilities summing to 1"):
        labels.rejection_resample(lambda y: y, [0.5, 0.6])
    with pytest.raises(ValueError, match="a class has probability 0 in initial_dist"):
        labels.rejection_resample(lambda y: y, [0.5, 0.5], initial_dist=[1.0, 0.0])
    with pytest.raises(ValueError, match=r"the class 1, outside \[0, 1\)"):
        list(labels.rejection_resample(lambda y: y, [1.0]))
    with pytest.raises(TypeError, match="class_func to return an int scalar"):
        list(labels.rejection_resample(lambda y: y * 0.5, [0.5, 0.5]))
