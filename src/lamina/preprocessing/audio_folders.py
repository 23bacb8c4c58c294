"""`audio_dataset_from_directory`: `directory/<class>/**/*.wav` as padded batches and labels.

WAV files are read with the standard library's `wave` module: integer PCM of 8, 16, 24 or 32
bits, scaled to float32 in [-1, 1) as `tf.audio.decode_wav` scales 16-bit audio (value / 2**15).
"""

from __future__ import annotations

import wave

import numpy as np
import torch

from lamina.preprocessing import file_folders


def read_wav(path):
    """`(samples, channels)` float32 audio in [-1, 1) and the sampling rate of a PCM WAV file.

    Examples:
        >>> import tempfile, wave
        >>> with tempfile.NamedTemporaryFile(suffix=".wav", delete=False) as handle:
        ...     with wave.open(handle, "wb") as out:
        ...         out.setnchannels(1)
        ...         out.setsampwidth(2)
        ...         out.setframerate(8000)
        ...         out.writeframes(np.array([0, 16384, -32768], "<i2").tobytes())
        >>> audio, rate = read_wav(handle.name)
        >>> audio[:, 0].tolist(), rate
        ([0.0, 0.5, -1.0], 8000)
    """
    try:
        with wave.open(str(path), "rb") as source:
            channels, width = source.getnchannels(), source.getsampwidth()
            rate, frames = source.getframerate(), source.readframes(source.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValueError(
            f"Could not read the audio file {str(path)!r}: {error}. "
            "audio_dataset_from_directory reads integer PCM .wav files."
        ) from error
    raw = np.frombuffer(frames, dtype=np.uint8)
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        samples = (raw.astype(np.float32) - 128.0) / 128.0
    elif width == 3:  # little-endian 24-bit: widen each sample to 32 bits
        triples = raw.reshape(-1, 3).astype(np.int32)
        values = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        samples = values.astype(np.float32) / float(1 << 23)
    elif width in (2, 4):
        samples = np.frombuffer(frames, dtype=f"<i{width}").astype(np.float32)
        samples /= float(1 << (8 * width - 1))
    else:
        raise ValueError(f"Could not read the audio file {str(path)!r}: {8 * width}-bit samples.")
    return samples.reshape(-1, channels), rate


def _fit_length(audio, length):
    if len(audio) >= length:
        return audio[:length]
    padding = np.zeros((length - len(audio), audio.shape[1]), dtype=audio.dtype)
    return np.concatenate([audio, padding])


def _read_audio(sampling_rate, output_sequence_length):
    def read_batch(paths):
        clips = []
        for path in paths:
            audio, rate = read_wav(path)
            if sampling_rate is not None and rate != sampling_rate:
                raise ValueError(
                    f"audio_dataset_from_directory expects audio sampled at {sampling_rate} Hz "
                    f"(sampling_rate={sampling_rate}); {str(path)!r} is sampled at {rate} Hz. "
                    "Hint: lamina does not resample; convert the files, or pass "
                    "sampling_rate=None."
                )
            clips.append(audio)
        if len({clip.shape[1] for clip in clips}) > 1:
            raise ValueError(
                "audio_dataset_from_directory expects every file of a batch to have the same "
                f"number of channels; received {[clip.shape[1] for clip in clips]} for "
                f"{[str(p) for p in paths]}."
            )
        length = output_sequence_length or max(len(clip) for clip in clips)
        return torch.from_numpy(np.stack([_fit_length(clip, length) for clip in clips]))

    return read_batch


def audio_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    batch_size=32,
    sampling_rate=None,
    output_sequence_length=None,
    ragged=False,
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    follow_links=False,
    verbose=True,
):
    """A `lamina.data.Dataset` of `(audio, labels)` batches from `directory/<class>/<file>.wav`.

    Audio batches are float32 `(batch, samples, channels)` in [-1, 1): clips longer than
    `output_sequence_length` are cut to it and shorter ones zero-padded to it; without it, each
    batch is zero-padded to its longest clip (Keras's `padded_batch`). Labels follow
    `label_mode`: "int" (int32), "categorical" (float32 one-hot), "binary" (float32
    `(batch, 1)`, two classes only) or None (audio alone). The dataset carries `class_names`
    and `file_paths`.

    Args:
        directory: the folder holding one sub-folder of `.wav` files per class.
        labels: "inferred" (from the sub-folders), None, or a list of integer labels, one per
            file in the sorted order of the file paths.
        label_mode: "int", "categorical", "binary" or None.
        class_names: with "inferred" labels, the sub-folders to use, in label order.
        batch_size: clips per batch (None: one clip at a time, `(samples, channels)`).
        sampling_rate: the sampling rate (Hz) every file must have. lamina checks it and
            raises for a file sampled otherwise; it does not resample (Keras resamples with
            tensorflow-io).
        output_sequence_length: the number of samples every clip is cut or padded to.
        ragged: torch has no ragged tensors: clips are zero-padded per batch as with
            `ragged=False`. Cannot be combined with `output_sequence_length`, as in Keras.
        shuffle: shuffle the files (again every pass over the training data).
        seed: the shuffle's and split's seed (required with `validation_split` and `shuffle`).
        validation_split: the fraction of files kept for validation, with `subset`.
        subset: "training", "validation" or "both" (returns the pair).
        follow_links: follow symbolic links to sub-folders.
        verbose: print how many files and classes were found.

    Returns:
        A `lamina.data.Dataset`, or a `(training, validation)` pair with `subset="both"`.

    Examples:
        >>> import os, tempfile, wave
        >>> with tempfile.TemporaryDirectory() as root:
        ...     for name, length in (("no", 3), ("yes", 5)):
        ...         os.makedirs(os.path.join(root, name))
        ...         with wave.open(os.path.join(root, name, "a.wav"), "wb") as out:
        ...             out.setnchannels(1)
        ...             out.setsampwidth(2)
        ...             out.setframerate(16000)
        ...             out.writeframes(np.ones(length, "<i2").tobytes())
        ...     ds = audio_dataset_from_directory(root, shuffle=False, verbose=False)
        ...     audio, labels = next(iter(ds))
        >>> tuple(audio.shape), labels.tolist(), ds.class_names
        ((2, 5, 1), [0, 1], ['no', 'yes'])
    """
    who = "audio_dataset_from_directory"
    file_folders.check_arguments(
        who, labels, label_mode, class_names, validation_split, subset, shuffle, seed
    )
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None:
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, int):
            raise ValueError(
                "`sampling_rate` should have an integer value. "
                f"Received: sampling_rate={sampling_rate}"
            )
        if sampling_rate <= 0:
            raise ValueError(
                f"`sampling_rate` should be higher than 0. Received: sampling_rate={sampling_rate}"
            )
    if output_sequence_length is not None and int(output_sequence_length) <= 0:
        raise ValueError(
            f"{who}: `output_sequence_length` must be positive; received "
            f"output_sequence_length={output_sequence_length}."
        )
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, ids, names = file_folders.index_directory(
        directory, labels, (".wav",), class_names, follow_links
    )
    if verbose:
        classes = "" if ids is None else f" belonging to {len(names)} classes"
        print(f"Found {len(paths)} files{classes}.")
    if not paths:
        raise ValueError(
            f"No audio files found in directory {directory}. Allowed format(s): ('.wav',)"
        )
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={names}"
        )
    reader = _read_audio(
        sampling_rate, None if output_sequence_length is None else int(output_sequence_length)
    )
    parts = ("training", "validation") if subset == "both" else (subset,)
    datasets = []
    for part in parts:
        chosen, chosen_ids = file_folders.select_files(
            paths, ids, shuffle, seed, validation_split, part, verbose, "audio"
        )
        dataset = file_folders.files_dataset(
            chosen,
            chosen_ids,
            label_mode,
            len(names or ()),
            reader,
            batch_size,
            shuffle and part != "validation",
            seed,
        )
        dataset.class_names = names
        dataset.file_paths = chosen
        datasets.append(dataset)
    return tuple(datasets) if subset == "both" else datasets[0]
