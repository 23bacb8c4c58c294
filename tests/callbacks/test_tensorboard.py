"""TensorBoard: the event files lamina writes are read back by TensorBoard's own EventAccumulator
(scalars per epoch and per batch in Keras's train/validation layout, weight histograms), and by
lamina's reader, which checks every record's CRC; the framing matches the CRC-32C test vector."""

import glob
import io
import os
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing import plugin_event_accumulator
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lamina
from lamina import callbacks, layers
from lamina.callbacks import event_file


def _accumulator(folder):
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return accumulator


def _scalars(accumulator, tag):
    return [(e.step, e.value) for e in accumulator.Scalars(tag)]


def _fit(log_dir, epochs=3, **options):
    rng = np.random.RandomState(0)
    x = rng.normal(size=(80, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = lamina.Sequential(
        [
            layers.Input((4,)),
            layers.Dense(5, activation="relu", name="hidden"),
            layers.Dense(1, activation="sigmoid", name="out"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.SGD(0.1), loss="binary_crossentropy", metrics=["accuracy"]
    )
    board = callbacks.TensorBoard(log_dir, **options)
    # 64 training samples in batches of 16: 4 batches per epoch.
    history = model.fit(
        x, y, batch_size=16, epochs=epochs, validation_split=0.2, verbose=0, callbacks=[board]
    )
    return model, history


@pytest.mark.parametrize(
    "update_freq, batch_steps",
    [("epoch", []), ("batch", list(range(1, 13))), (3, [3, 6, 9, 12])],
    ids=["epoch", "batch", "every-3"],
)
def test_scalars_read_by_tensorboard(tmp_path, update_freq, batch_steps):
    _, history = _fit(tmp_path, update_freq=update_freq)
    train, validation = _accumulator(tmp_path / "train"), _accumulator(tmp_path / "validation")
    for name in ("loss", "accuracy"):
        assert _scalars(train, f"epoch_{name}") == [
            (epoch, pytest.approx(value, rel=1e-6))
            for epoch, value in enumerate(history.history[name])
        ]
        assert _scalars(validation, f"epoch_{name}") == [
            (epoch, pytest.approx(value, rel=1e-6))
            for epoch, value in enumerate(history.history[f"val_{name}"])
        ]
    assert [v for _, v in _scalars(train, "epoch_learning_rate")] == pytest.approx([0.1] * 3)
    # Validation runs the test hooks, as in Keras: one point per epoch at the optimizer's step.
    assert [s for s, _ in _scalars(validation, "evaluation_loss_vs_iterations")] == [4, 8, 12]
    tags = train.Tags()["scalars"]
    if batch_steps:
        assert [s for s, _ in _scalars(train, "batch_loss")] == batch_steps
        assert [s for s, _ in _scalars(train, "batch_accuracy")] == batch_steps
    else:
        assert not [t for t in tags if t.startswith("batch_")]


def test_weight_histograms(tmp_path):
    model, _ = _fit(tmp_path, epochs=3, histogram_freq=2)
    train = _accumulator(tmp_path / "train")
    expected = {
        "hidden/kernel/histogram",
        "hidden/bias/histogram",
        "out/kernel/histogram",
        "out/bias/histogram",
    }
    assert set(train.Tags()["histograms"]) == expected
    kernel = model.layers[0].get_weights()[0]
    events = train.Histograms("hidden/kernel/histogram")
    assert [e.step for e in events] == [0, 2]  # epochs 0 and 2 with histogram_freq=2
    last = events[-1].histogram_value  # written at the last epoch's end: the final weights
    assert last.num == kernel.size
    assert last.min == pytest.approx(kernel.min()) and last.max == pytest.approx(kernel.max())
    assert last.sum == pytest.approx(kernel.sum(), abs=1e-5)
    assert sum(last.bucket) == kernel.size
    assert last.bucket_limit[-1] == pytest.approx(kernel.max())
    # The loader behind today's TensorBoard server files them under its scalar and histogram
    # plugins (the charts it draws).
    modern = plugin_event_accumulator.EventAccumulator(str(tmp_path / "train"))
    modern.Reload()
    assert set(modern.PluginTagToContent("histograms")) == expected
    assert {"epoch_loss", "epoch_accuracy"} <= set(modern.PluginTagToContent("scalars"))


def test_own_reader_checks_every_crc(tmp_path):
    _fit(tmp_path, epochs=2, update_freq="batch", histogram_freq=1)
    (path,) = glob.glob(os.path.join(tmp_path, "train", "events.out.tfevents.*.v2"))
    path = Path(path)
    events = [event_file.decode_event(r) for r in event_file.read_records(path)]
    assert events[0]["file_version"] == "brain.Event:2"
    tags = [(tag, kind) for e in events for tag, kind, _ in e["values"]]
    assert ("epoch_loss", "scalar") in tags and ("out/bias/histogram", "histogram") in tags
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF  # one flipped byte inside the second record
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="bad (data|length) CRC"):
        event_file.read_records(path)
    path.write_bytes(bytes(data[:-3]))
    with pytest.raises(ValueError, match="bad|truncated"):
        event_file.read_records(path)


def test_crc32c_and_framing(tmp_path):
    assert event_file.crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert event_file.crc32c(b"") == 0
    framed = event_file.record(b"abc")
    assert len(framed) == 8 + 4 + 3 + 4 and framed[12:15] == b"abc"
    (tmp_path / "records").write_bytes(framed + event_file.record(b""))
    assert event_file.read_records(tmp_path / "records") == [b"abc", b""]


@pytest.mark.parametrize("value", [-1, 0, 127, 128, 300, 2**40])
def test_varints_round_trip(value):
    encoded = event_file.event(value)
    assert event_file.decode_event(encoded)["step"] == value & 0xFFFFFFFFFFFFFFFF


@pytest.mark.parametrize(
    "options, message",
    [
        ({"update_freq": "step"}, "update_freq must be 'epoch', 'batch' or a positive integer"),
        ({"update_freq": 0}, "update_freq must be 'epoch', 'batch' or a positive integer"),
        ({"histogram_freq": -1}, r"histogram_freq must be an integer >= 0"),
    ],
    ids=["update-freq-name", "update-freq-zero", "histogram-freq"],
)
def test_argument_errors(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        callbacks.TensorBoard(tmp_path, **options)


@pytest.mark.parametrize("profile_batch", [-1, "3,2", (0, 4), "first", (1, 2, 3), 1.5])
def test_profile_batch_errors(tmp_path, profile_batch):
    with pytest.raises(ValueError, match="TensorBoard profile_batch expects a batch number"):
        callbacks.TensorBoard(tmp_path, profile_batch=profile_batch)


def _token_model():
    model = lamina.Sequential(
        [
            layers.Input((5,), dtype="int32"),
            layers.Embedding(12, 3, name="tokens"),
            layers.GlobalAveragePooling1D(),
            layers.Dense(1, name="out"),
        ]
    )
    model.compile(optimizer=lamina.optimizers.SGD(0.5), loss="mse")
    return model


def test_embedding_tables_for_the_projector(tmp_path):
    from google.protobuf import text_format
    from tensorboard.plugins.projector import projector_config_pb2

    rng = np.random.RandomState(0)
    x, y = rng.randint(0, 12, size=(32, 5)), rng.normal(size=(32, 1))
    model = _token_model()
    board = callbacks.TensorBoard(
        tmp_path, embeddings_freq=2, embeddings_metadata={"tokens": "words.tsv"}
    )
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[board])
    config = projector_config_pb2.ProjectorConfig()
    text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(), config)
    [entry] = config.embeddings
    assert (entry.tensor_name, entry.metadata_path) == ("tokens/embeddings", "words.tsv")
    # Written after epochs 0 and 2, the last: the trained table, one row per token id.
    table = np.loadtxt(tmp_path / entry.tensor_path, delimiter="\t")
    np.testing.assert_allclose(table, model.get_layer("tokens").get_weights()[0], rtol=1e-6)


def test_embeddings_metadata_names_must_be_embedding_layers(tmp_path):
    model = _token_model()
    board = callbacks.TensorBoard(tmp_path, embeddings_freq=1, embeddings_metadata={"out": "a"})
    with pytest.raises(ValueError, match=r"names of the model's Embedding layers.*\['out'\]"):
        model.fit(np.zeros((4, 5), "int32"), np.zeros((4, 1)), verbose=0, callbacks=[board])


def _profiled_batches(log_dir):
    import json

    [trace] = glob.glob(os.path.join(log_dir, "train", "plugins", "profile", "*.pt.trace.json"))
    with open(trace) as stream:
        events = json.load(stream)["traceEvents"]
    names = {event.get("name", "") for event in events}
    return sorted(int(name.split()[-1]) for name in names if name.startswith("Profiled batch"))


@pytest.mark.parametrize(
    "profile_batch, profiled",
    [(2, [2]), ("3,5", [3, 4, 5]), ((11, 20), [11, 12])],
    ids=["one", "range", "past-the-end"],
)
def test_profile_batch_writes_a_torch_trace(tmp_path, profile_batch, profiled):
    # 64 training samples in batches of 16 for 3 epochs: batches 1 to 12.
    _fit(tmp_path, profile_batch=profile_batch)
    assert _profiled_batches(tmp_path) == profiled


def _expected_pixels(values):
    # tf.summary.image's conversion of float images: times 255.5, clipped to [0, 255], truncated.
    return np.clip(values * 255.5, 0, 255).astype(np.uint8)


def test_weight_images_as_keras_draws_them(tmp_path):
    from PIL import Image

    model = lamina.Sequential(
        [layers.Input((6, 2)), layers.Conv1D(4, 3, name="conv"), layers.Dense(2, name="out")]
    )
    model.compile(optimizer="sgd", loss="mse")
    board = callbacks.TensorBoard(tmp_path, histogram_freq=1, write_images=True)
    model.fit(np.ones((4, 6, 2)), np.ones((4, 4, 2)), epochs=1, verbose=0, callbacks=[board])
    accumulator = plugin_event_accumulator.EventAccumulator(str(tmp_path / "train"))
    accumulator.Reload()
    tags = {"conv/kernel/image", "conv/bias/image", "out/kernel/image", "out/bias/image"}
    assert set(accumulator.PluginTagToContent("images")) == tags

    def images(tag):
        (event,) = accumulator.Tensors(tag)
        width, height, *encoded = event.tensor_proto.string_val
        pictures = [np.asarray(Image.open(io.BytesIO(png))) for png in encoded]
        assert all(p.shape == (int(height), int(width)) for p in pictures)
        return pictures

    conv_kernel, conv_bias = model.layers[0].get_weights()  # (3, 2, 4): one image per filter
    drawn = images("conv/kernel/image")
    assert len(drawn) == 3  # tf.summary.image's max_outputs
    for index, picture in enumerate(drawn):
        np.testing.assert_array_equal(picture, _expected_pixels(conv_kernel[:, :, index]))
    np.testing.assert_array_equal(
        images("conv/bias/image")[0], _expected_pixels(conv_bias[:, None])
    )
    dense_kernel = model.layers[1].get_weights()[0]  # (4, 2): the longer axis across
    np.testing.assert_array_equal(images("out/kernel/image")[0], _expected_pixels(dense_kernel.T))


@pytest.mark.parity
@pytest.mark.parametrize(
    "shape",
    [
        (1,),  # squeezes to a scalar: no image
        (5,),
        (4, 1),  # squeezed first: drawn as a bias
        (2, 6),
        (6, 2),  # the longer axis across
        (3, 2, 4),  # a 1-d conv kernel: one image per filter
        (3, 3, 1, 4),  # a one-channel 2-d conv kernel: the same
        (3, 3, 2, 5),  # no 4-d kernel with 5 filters
        (3, 3, 2, 4),  # ... but one with 4, as RGBA images
    ],
)
def test_which_weights_become_images_as_keras(shape):
    import types

    from lamina.callbacks.tensorboard import _weight_images
    from tests.parity.reference import keras

    values = np.random.default_rng(0).uniform(-1, 1, shape).astype("float32")
    drawn = []
    recorder = types.SimpleNamespace(image=lambda name, images, step: drawn.append(images))
    keras.callbacks.TensorBoard._log_weight_as_image(
        types.SimpleNamespace(summary=recorder), keras.Variable(values), "w", 0
    )
    ours = _weight_images(values)
    assert (ours is None) == (not drawn)
    if drawn:
        np.testing.assert_array_equal(ours, np.asarray(drawn[0]))
