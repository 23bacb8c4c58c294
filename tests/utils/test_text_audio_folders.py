"""text_dataset_from_directory and audio_dataset_from_directory on folders the tests write."""

import os
import wave

import numpy as np
import pytest
import torch

import lamina
from lamina.preprocessing.audio_folders import read_wav
from lamina.utils import audio_dataset_from_directory, text_dataset_from_directory


def write_texts(root, layout):
    """layout: {class: [texts]}; file i of a class is `<class>/<i>.txt` holding its text."""
    for name, texts in layout.items():
        (root / name).mkdir(parents=True)
        for i, text in enumerate(texts):
            (root / name / f"{i}.txt").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def reviews(tmp_path):
    root = write_texts(
        tmp_path / "reviews",
        {"pos": ["great", "superb", "fine"], "neg": ["awful", "dull"], ".cache": ["hidden"]},
    )
    (root / "pos" / "notes.md").write_text("not a .txt file")
    (root / "neg" / "deeper").mkdir()
    (root / "neg" / "deeper" / "z.txt").write_text("bleak")
    return root


def test_texts_labels_and_class_order(reviews, capsys):
    ds = text_dataset_from_directory(reviews, batch_size=4, shuffle=False)
    assert capsys.readouterr().out == "Found 6 files belonging to 2 classes.\n"
    assert ds.class_names == ["neg", "pos"]  # sorted; the hidden folder is skipped
    batches = list(ds)
    assert [texts.tolist() for texts, _ in batches] == [
        ["awful", "dull", "bleak", "great"],
        ["superb", "fine"],
    ]
    assert [labels.tolist() for _, labels in batches] == [[0, 0, 0, 1], [1, 1]]
    assert batches[0][1].dtype == torch.int32


def test_label_modes_class_names_and_max_length(reviews):
    categorical = text_dataset_from_directory(
        reviews, label_mode="categorical", shuffle=False, verbose=False, max_length=3
    )
    texts, labels = next(iter(categorical))
    assert texts.tolist()[:2] == ["awf", "dul"]
    assert labels.dtype == torch.float32 and labels[:, 1].tolist() == [0, 0, 0, 1, 1, 1]
    binary = text_dataset_from_directory(
        reviews, label_mode="binary", class_names=["pos", "neg"], shuffle=False, verbose=False
    )
    texts, labels = next(iter(binary))
    assert tuple(labels.shape) == (6, 1) and labels[:, 0].tolist() == [0, 0, 0, 1, 1, 1]
    assert texts.tolist()[0] == "great"
    # Without labels every .txt under the folder counts, hidden folders too (as in Keras).
    only_texts = text_dataset_from_directory(reviews, label_mode=None, shuffle=False, verbose=False)
    assert next(iter(only_texts)).tolist()[:2] == ["hidden", "awful"]


def test_explicit_labels_and_unbatched(reviews):
    ds = text_dataset_from_directory(
        reviews, labels=[9, 5, 5, 5, 7, 7, 7], batch_size=None, shuffle=False, verbose=False
    )
    assert ds.class_names == ["5", "7", "9"]
    pairs = [(str(text), int(label)) for text, label in ds]
    assert pairs[:2] == [("hidden", 9), ("awful", 5)] and pairs[-1] == ("fine", 7)
    assert next(iter(ds))[1].shape == ()


def test_validation_split_is_disjoint_reproducible_and_complete(reviews):
    train, validation = text_dataset_from_directory(
        reviews, validation_split=0.4, subset="both", seed=3, verbose=False
    )
    assert (len(train.file_paths), len(validation.file_paths)) == (4, 2)  # int(0.4 * 6) = 2
    assert set(train.file_paths).isdisjoint(validation.file_paths)
    assert len(set(train.file_paths) | set(validation.file_paths)) == 6
    again = text_dataset_from_directory(
        reviews, validation_split=0.4, subset="validation", seed=3, verbose=False
    )
    assert again.file_paths == validation.file_paths
    texts = sorted(t for batch, _ in train for t in batch.tolist())
    assert len(texts) == 4 and set(texts).isdisjoint(t for b, _ in validation for t in b.tolist())
    other = text_dataset_from_directory(
        reviews, validation_split=0.4, subset="validation", seed=4, verbose=False
    )
    orders = {tuple(other.file_paths), tuple(validation.file_paths)}
    assert len(orders) == 2


def test_seeded_shuffle_repeats_and_reshuffles_each_pass(tmp_path):
    root = write_texts(tmp_path / "t", {"a": [f"a{i}" for i in range(8)], "b": ["b0", "b1"]})
    first = text_dataset_from_directory(root, batch_size=None, seed=9, verbose=False)
    second = text_dataset_from_directory(root, batch_size=None, seed=9, verbose=False)
    pass_one = [str(t) for t, _ in first]
    assert pass_one == [str(t) for t, _ in second]
    assert sorted(pass_one) == sorted([f"a{i}" for i in range(8)] + ["b0", "b1"])
    assert [str(t) for t, _ in first] != pass_one  # a new order on the next pass


def test_follow_links(tmp_path):
    root = write_texts(tmp_path / "t", {"a": ["a0"], "b": ["b0"]})
    outside = write_texts(tmp_path / "elsewhere", {"more": ["m0", "m1"]})
    os.symlink(outside / "more", root / "a" / "linked")
    plain = text_dataset_from_directory(root, shuffle=False, verbose=False)
    followed = text_dataset_from_directory(root, shuffle=False, follow_links=True, verbose=False)
    assert len(plain.file_paths) == 2 and len(followed.file_paths) == 4


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"label_mode": "sparse"}, ValueError, "`label_mode` argument must be one of"),
        ({"validation_split": 0.2}, ValueError, "If `subset` is set, `validation_split` must"),
        ({"validation_split": 0.2, "subset": "training"}, ValueError, "you must provide a `seed`"),
        ({"subset": "all", "validation_split": 0.2, "seed": 1}, ValueError, "`subset` must be"),
        ({"label_mode": "binary", "class_names": ["neg"]}, ValueError, "exactly 2 class_names"),
        ({"class_names": ["pos", "meh"]}, ValueError, "did not match the names of the subdir"),
        ({"labels": [0, 1]}, ValueError, "len\\(labels\\) is 2 while we found 7 files"),
        (
            {"labels": "folders"},
            ValueError,
            "`labels` argument should be 'inferred', None, or a list",
        ),
        ({"format": "torch"}, ValueError, '`format` should be either "tf" or "grain"'),
    ],
)
def test_argument_errors(reviews, kwargs, error, message):
    with pytest.raises(error, match=message):
        text_dataset_from_directory(reviews, verbose=False, **kwargs)


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="No text files found in directory .*Allowed format: .txt"):
        text_dataset_from_directory(tmp_path, verbose=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        text_dataset_from_directory(tmp_path / "nowhere")


def test_preprocessing_names_are_the_utils_functions():
    assert lamina.preprocessing.text_dataset_from_directory is text_dataset_from_directory
    assert (
        lamina.preprocessing.timeseries_dataset_from_array
        is lamina.utils.timeseries_dataset_from_array
    )


# --------------------------------------------------------------------------------------------------
# Audio


def write_wav(path, samples, rate=8000, width=2, channels=1):
    """samples: integers as stored (unsigned for 8-bit), shape (frames,) or (frames, channels)."""
    dtype = {1: "<u1", 2: "<i2", 4: "<i4"}[width]
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(np.asarray(samples, dtype=dtype).tobytes())


@pytest.fixture
def speech(tmp_path):
    """yes/0.wav: 2 samples of 0.5; yes/1.wav: 4 of 0.25; no/0.wav: 3 of -0.5 (16-bit mono)."""
    root = tmp_path / "speech"
    write_wav(root / "yes" / "0.wav", [16384] * 2)
    write_wav(root / "yes" / "1.wav", [8192] * 4)
    write_wav(root / "no" / "0.wav", [-16384] * 3)
    return root


def test_audio_batches_are_padded_to_the_longest_clip(speech):
    ds = audio_dataset_from_directory(speech, batch_size=2, shuffle=False, verbose=False)
    assert ds.class_names == ["no", "yes"]
    (first_audio, first_labels), (second_audio, second_labels) = list(ds)
    assert tuple(first_audio.shape) == (2, 3, 1) and first_audio.dtype == torch.float32
    assert first_audio[..., 0].tolist() == [[-0.5, -0.5, -0.5], [0.5, 0.5, 0.0]]
    assert first_labels.tolist() == [0, 1] and second_labels.tolist() == [1]
    assert second_audio[..., 0].tolist() == [[0.25] * 4]


def test_output_sequence_length_cuts_and_pads(speech):
    ds = audio_dataset_from_directory(
        speech, output_sequence_length=3, batch_size=None, shuffle=False, label_mode="categorical"
    )
    clips = [(audio[:, 0].tolist(), labels.tolist()) for audio, labels in ds]
    assert clips == [
        ([-0.5, -0.5, -0.5], [1.0, 0.0]),
        ([0.5, 0.5, 0.0], [0.0, 1.0]),
        ([0.25, 0.25, 0.25], [0.0, 1.0]),
    ]


def test_audio_split_and_ragged_padding(speech):
    train, validation = audio_dataset_from_directory(
        speech, validation_split=0.34, subset="both", seed=1, ragged=True, verbose=False
    )
    assert (len(train.file_paths), len(validation.file_paths)) == (2, 1)
    assert set(train.file_paths).isdisjoint(validation.file_paths)
    audio, _ = next(iter(train))
    assert audio.shape[0] == 2 and audio.shape[2] == 1


def test_stereo_and_sample_widths(tmp_path):
    write_wav(tmp_path / "s.wav", [[16384, -16384], [0, 32767]], channels=2)
    audio, rate = read_wav(tmp_path / "s.wav")
    assert rate == 8000 and audio.tolist() == [[0.5, -0.5], [0.0, 32767 / 32768]]
    write_wav(tmp_path / "u8.wav", [0, 128, 192], width=1)
    assert read_wav(tmp_path / "u8.wav")[0][:, 0].tolist() == [-1.0, 0.0, 0.5]
    write_wav(tmp_path / "i32.wav", [-(2**31), 2**30], width=4)
    assert read_wav(tmp_path / "i32.wav")[0][:, 0].tolist() == [-1.0, 0.5]
    with wave.open(str(tmp_path / "i24.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(3)
        out.setframerate(8000)
        out.writeframes(bytes([0, 0, 0x40, 0, 0, 0x80, 0xFF, 0xFF, 0xFF]))  # 0.5, -1, -2**-23
    assert read_wav(tmp_path / "i24.wav")[0][:, 0].tolist() == [0.5, -1.0, -(2.0**-23)]
    (tmp_path / "bad.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(ValueError, match="Could not read the audio file .*bad.wav"):
        read_wav(tmp_path / "bad.wav")


def test_sampling_rate_is_checked(speech):
    ds = audio_dataset_from_directory(speech, sampling_rate=16000, verbose=False)
    with pytest.raises(ValueError, match="expects audio sampled at 16000 Hz .* at 8000 Hz"):
        list(ds)
    assert len(list(audio_dataset_from_directory(speech, sampling_rate=8000, verbose=False))) == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sampling_rate": 8000.0}, "`sampling_rate` should have an integer value"),
        ({"sampling_rate": 0}, "`sampling_rate` should be higher than 0"),
        ({"ragged": True, "output_sequence_length": 4}, "Cannot set both `ragged` and"),
        ({"label_mode": "binary", "class_names": ["yes"]}, "exactly 2 class_names"),
    ],
)
def test_audio_argument_errors(speech, kwargs, message):
    with pytest.raises(ValueError, match=message):
        audio_dataset_from_directory(speech, verbose=False, **kwargs)


def test_file_order_is_keras_walk_order(tmp_path):
    """Folders sorted by full path, as Keras sorts os.walk: 'a', 'a-b', then 'a/x'."""
    write_texts(tmp_path / "r", {"a": ["a0"], "a-b": ["ab0"], "a/x": ["ax0"]})
    ds = text_dataset_from_directory(tmp_path / "r", labels=None, shuffle=False, verbose=False)
    assert next(iter(ds)).tolist() == ["a0", "ab0", "ax0"]


@pytest.mark.slow
def test_keras_text_classification_recipe_runs(tmp_path):
    """Keras's text tutorial pattern: folders -> TextVectorization.adapt -> fit on the dataset."""
    words = {"neg": ["bad awful", "dull bad"], "pos": ["good great", "great fun"]}
    root = write_texts(tmp_path / "t", {name: texts * 3 for name, texts in words.items()})
    train, validation = text_dataset_from_directory(
        root, batch_size=4, validation_split=0.25, subset="both", seed=1, verbose=False
    )
    vectorize = lamina.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(train.map(lambda x, y: x))
    assert set(vectorize.get_vocabulary()) >= {"bad", "great"}
    model = lamina.Sequential(
        [
            lamina.layers.Embedding(20, 4),
            lamina.layers.GlobalAveragePooling1D(),
            lamina.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile("adam", "binary_crossentropy")
    history = model.fit(
        train.map(lambda x, y: (vectorize(x), y)),
        validation_data=validation.map(lambda x, y: (vectorize(x), y)),
        epochs=2,
        verbose=0,
    )
    assert len(history.history["val_loss"]) == 2
