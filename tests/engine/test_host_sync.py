"""fit, evaluate and predict never wait on the device per batch.

On a GPU every host read of a device value (`.item()`, `bool(t)`, `.tolist()`, a boolean mask...)
waits for the queued kernels. `host_reads.HostReads` records the calls that would, and where
inside lamina they were made; each test runs the same thing on N and on 2N batches and checks that
the reads did not grow: reads at an epoch's end (its logs, the callbacks) are fine, reads per batch
are not. The CUDA test at the end checks the same with torch's own sync detector.
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina import callbacks, layers
from lamina.utils import progbar
from tests.engine.host_reads import HostReads

BATCH = 4


def test_the_detector_names_lamina_reads_and_ignores_the_tests_own():
    from lamina.engine import loss_checks

    labels = torch.tensor([0.0, 2.0, 1.0])
    with HostReads() as reads:
        labels.max().item()  # the test's own read: not lamina's
        loss_checks._check_class_ids(labels, 3)  # reads min and max
    kinds = sorted(read.kind for read in reads.reads)
    assert kinds == ["float", "float"]
    assert all(r.frames[0].startswith("engine/loss_checks.py:") for r in reads.reads)


def dense_classifier():
    model = lamina.Sequential(
        [layers.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(3, "softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def conv_classifier():
    model = lamina.Sequential(
        [
            layers.Input((6,)),
            layers.Reshape((3, 2, 1)),
            layers.Conv2D(4, 2, padding="same"),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def recurrent_regressor():
    model = lamina.Sequential([layers.Input((6,)), layers.Reshape((3, 2)), layers.LSTM(5)])
    model.add(layers.Dense(1))
    model.compile("rmsprop", "mse", metrics=["mae"])
    return model


def two_output_model():
    inputs = layers.Input((6,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    kind = layers.Dense(3, activation="softmax", name="kind")(hidden)
    price = layers.Dense(1, name="price")(hidden)
    model = lamina.Model(inputs, {"kind": kind, "price": price})
    model.compile(
        "adam",
        loss={"kind": "sparse_categorical_crossentropy", "price": "mse"},
        loss_weights={"kind": 1.0, "price": 0.5},
        metrics={"kind": ["accuracy"], "price": ["mae"]},
        weighted_metrics={"kind": ["accuracy"]},
    )
    return model


MODELS = {
    "dense": dense_classifier,
    "conv-batchnorm-dropout": conv_classifier,
    "lstm": recurrent_regressor,
    "two-outputs": two_output_model,
}


def data(batches: int, make, seed=0):
    """(x, y) of `batches` batches for the model `make` builds."""
    rng = np.random.default_rng(seed)
    n = batches * BATCH
    x = rng.standard_normal((n, 6)).astype("float32")
    kinds = rng.integers(0, 3, n)
    if make in (recurrent_regressor, _float16_regressor):
        return x, x.sum(axis=1, keepdims=True)
    if make is two_output_model:
        return x, {"kind": kinds, "price": x[:, :1] * 2.0}
    return x, kinds


def reads_of(make, batches: int, action) -> HostReads:
    """The host reads lamina makes while `action(model, x, y)` runs on `batches` batches."""
    lamina.utils.set_random_seed(0)
    lamina.backend.clear_session()
    model = make()
    x, y = data(batches, make)
    with HostReads() as reads:
        action(model, x, y)
    return reads


def assert_no_reads_per_batch(make, action, batches=3):
    """The reads on 2N batches are the reads on N: none is made per batch."""
    few = reads_of(make, batches, action)
    many = reads_of(make, 2 * batches, action)
    grown = many.sites() - few.sites()
    detail = [str(r) for r in many.reads if r.site in grown]
    assert not grown, f"host reads per batch: {dict(grown)}\n" + "\n".join(detail[:6])
    return many


def fit(**options):
    def action(model, x, y):
        model.fit(x, y, batch_size=BATCH, epochs=options.pop("epochs", 1), **options)

    return action


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("verbose", [0, 2])
def test_fit_reads_nothing_per_batch(make, verbose):
    reads = assert_no_reads_per_batch(make, fit(verbose=verbose))
    assert reads.reads, "the epoch's logs are read on the host: the detector must see them"


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_evaluate_and_predict_read_nothing_per_batch(make):
    def evaluate(model, x, y):
        model.evaluate(x, y, batch_size=BATCH, verbose=0)

    def predict(model, x, y):
        model.predict(x, batch_size=BATCH, verbose=0)

    assert_no_reads_per_batch(make, evaluate)
    assert_no_reads_per_batch(make, predict)


def test_fit_with_validation_data_reads_nothing_per_batch():
    validation = data(3, dense_classifier, seed=1)

    def action(model, x, y):
        model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, validation_data=validation)

    assert_no_reads_per_batch(dense_classifier, action)


def test_sample_and_class_weights_read_nothing_per_batch():
    def weighted(model, x, y):
        weights = np.linspace(0.5, 1.5, len(x)).astype("float32")
        model.fit(x, y, batch_size=BATCH, verbose=0, sample_weight=weights)

    def by_class(model, x, y):
        model.fit(x, y, batch_size=BATCH, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 0.5})

    assert_no_reads_per_batch(dense_classifier, weighted)
    assert_no_reads_per_batch(dense_classifier, by_class)


def test_class_weight_on_a_dataset_reads_nothing_per_batch():
    """A Dataset's batches get their class weights one by one, on the device."""

    def action(model, x, y):
        dataset = lamina.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
        model.fit(dataset, verbose=0, class_weight={0: 1.0, 1: 2.0, 2: 0.5})

    assert_no_reads_per_batch(dense_classifier, action)


def test_common_callbacks_read_at_epoch_ends_only(tmp_path):
    def action(model, x, y):
        model.fit(
            x,
            y,
            batch_size=BATCH,
            epochs=2,
            verbose=0,
            validation_split=0.25,
            callbacks=[
                callbacks.EarlyStopping(patience=3),
                callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), save_best_only=True),
                callbacks.ReduceLROnPlateau(patience=1),
                callbacks.History(),
            ],
        )

    assert_no_reads_per_batch(dense_classifier, action, batches=4)


def test_mixed_float16_loss_scaling_decides_on_the_device():
    """The LossScaleOptimizer's finite check and skip stay on the device: a scale that overflows
    skips steps without a host read, and `iterations` still leaves them out once read."""

    def make():
        lamina.mixed_precision.set_global_policy("mixed_float16")  # clear_session resets it
        model = lamina.Sequential(
            [layers.Input((6,)), layers.Dense(8, "relu"), layers.Dense(1, dtype="float32")]
        )
        # A scale that overflows float16's gradients for the first steps.
        scaling = lamina.mixed_precision.LossScaleOptimizer(
            lamina.optimizers.Adam(), initial_scale=2.0**40
        )
        model.compile(scaling, "mse")
        return model

    def action(model, x, y):
        model.fit(x, x[:, :1] * 3.0, batch_size=BATCH, verbose=0, shuffle=False)

    try:
        assert_no_reads_per_batch(make, action)
        model = make()
        action(model, data(6, make)[0], None)
        skipped = 6 - model.optimizer.iterations
        assert float(model.optimizer.dynamic_scale) == 2.0 ** (40 - skipped) and skipped > 0
        assert model.layers[0].compute_dtype == "float16"
    finally:
        lamina.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize(
    "metric",
    [
        lambda: lamina.metrics.AUC(),
        lambda: lamina.metrics.AUC(curve="PR", label_weights=[1.0]),
        lambda: lamina.metrics.Precision(thresholds=[0.7, 0.3]),
        lambda: lamina.metrics.Recall(),
        lambda: lamina.metrics.BinaryIoU(),
    ],
    ids=["AUC", "AUC-PR-label-weights", "Precision-thresholds", "Recall", "BinaryIoU"],
)
def test_threshold_metrics_keep_their_constants_on_the_device(metric):
    def make():
        model = lamina.Sequential([layers.Input((6,)), layers.Dense(1, activation="sigmoid")])
        model.compile("sgd", "binary_crossentropy", metrics=[metric()])
        return model

    def action(model, x, y):
        model.fit(x, (y > 0).astype("float32"), batch_size=BATCH, verbose=0)

    assert_no_reads_per_batch(make, action)


def test_adafactor_steps_without_a_tensor_from_the_host():
    def make():
        model = dense_classifier()
        model.compile(lamina.optimizers.Adafactor(), "sparse_categorical_crossentropy")
        return model

    assert_no_reads_per_batch(make, fit(verbose=0))


def test_image_augmentation_reads_nothing_per_batch():
    def make():
        model = lamina.Sequential(
            [
                layers.Input((6,)),
                layers.Reshape((3, 2, 1)),
                layers.RandomFlip(),
                layers.RandomRotation(0.1),
                layers.RandomZoom(0.1),
                layers.RandomTranslation(0.1, 0.1),
                layers.RandomContrast(0.2),
                layers.Flatten(),
                layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    assert_no_reads_per_batch(make, fit(verbose=0))


def test_equalization_and_perspective_stay_on_the_device():
    """Equalization's histogram and RandomPerspective's solve make no host read; a channel of
    one level comes out as it went in."""
    images = torch.rand(2, 8, 8, 2) * 255.0
    images[..., 1] = 7.0
    with HostReads() as reads:
        equalized = layers.Equalization()(images, training=True)
        layers.RandomPerspective(factor=0.5)(images, training=True)
    assert not reads.sites(), dict(reads.sites())
    assert torch.equal(equalized[..., 1], images[..., 1])
    # The darkest level maps to 0 and the brightest to 255.
    assert equalized[..., 0].amin() == 0.0 and equalized[..., 0].amax() == 255.0


def test_spectral_normalization_reads_nothing_per_batch():
    def make():
        model = lamina.Sequential(
            [layers.Input((6,)), layers.SpectralNormalization(layers.Dense(3, "softmax"))]
        )
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    assert_no_reads_per_batch(make, fit(verbose=0))


def test_spectral_normalization_leaves_a_zero_kernel_and_its_vector_as_they_are():
    layer = layers.SpectralNormalization(layers.Dense(3, kernel_initializer="zeros"))
    layer.build((2, 4))
    before = layer.vector_u.detach().clone()
    layer(torch.ones(2, 4), training=True)
    assert not layer.layer.kernel.any()  # no NaN from dividing by a zero sigma
    assert torch.equal(layer.vector_u, before)


@pytest.mark.slow  # one torch.compile of the train step: seconds on a CPU
def test_captured_step_reads_nothing_per_batch():
    """compile(jit_compile=True): the first fit's eager probes and compile make a fixed number of
    reads; a second fit on twice the batches, captured throughout, makes no more."""
    model = dense_classifier()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"], jit_compile=True)
    x, y = data(8, dense_classifier)
    with HostReads() as first:
        model.fit(x[: 4 * BATCH], y[: 4 * BATCH], batch_size=BATCH, verbose=0)
    with HostReads() as second:
        model.fit(x, y, batch_size=BATCH, verbose=0)
    assert model._compile_state.captured._compiled is not None
    grown = second.sites() - first.sites()
    assert not grown, f"host reads per batch: {dict(grown)}"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    """The progress bar's clock under the test's hand: each reading adds `step` seconds."""
    clock = {"now": 1000.0, "step": 0.0}

    def perf_counter():
        clock["now"] += clock["step"]
        return clock["now"]

    monkeypatch.setattr(progbar.time, "perf_counter", perf_counter)
    return clock


def test_progress_bar_reads_only_when_it_draws(clock, monkeypatch):
    """verbose=1 on a terminal reads the metrics to print them, at most once per redraw
    interval: with a clock that does not move, at the first batch and at the epoch's end."""
    # Set here, not in a fixture: pytest puts its own stdout back between setup and the call.
    monkeypatch.setattr(sys, "stdout", _Terminal())
    assert_no_reads_per_batch(dense_classifier, fit(verbose=1))
    # A clock past the interval at every reading: the bar redraws, and reads, at every batch.
    clock["step"] = 1.0
    few = reads_of(dense_classifier, 3, fit(verbose=1))
    many = reads_of(dense_classifier, 6, fit(verbose=1))
    assert len(many) - len(few) == 3 * 2 * 2  # 3 more batches, 2 metrics, cpu() + array each


def _float16_regressor():
    lamina.mixed_precision.set_global_policy("mixed_float16")
    model = lamina.Sequential(
        [layers.Input((6,)), layers.Dense(8, "relu"), layers.Dense(1, dtype="float32")]
    )
    model.compile("adam", "mse", metrics=["mae"])  # wrapped in a LossScaleOptimizer
    return model


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: torch's sync detector")
@pytest.mark.parametrize("make", [two_output_model, _float16_regressor], ids=["float32", "float16"])
def test_cuda_training_loop_never_synchronizes(make):
    """On a GPU, torch raises on any synchronizing call inside the second epoch's batch loop
    (from its first batch's start to its last batch's end; the epoch's logs are read after)."""
    previous = lamina.backend.default_device()
    lamina.backend.set_default_device(torch.device("cuda"))
    try:
        model = make()
        x, y = data(8, make)

        class SyncGuard(callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if self.model.training_state.epoch == 1 and batch == 0:
                    torch.cuda.set_sync_debug_mode("error")

            def on_train_batch_end(self, batch, logs=None):
                if batch == self.params["steps"] - 1:
                    torch.cuda.set_sync_debug_mode("default")

        model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[SyncGuard()])
    finally:
        torch.cuda.set_sync_debug_mode("default")
        lamina.mixed_precision.set_global_policy("float32")
        lamina.backend.set_default_device(previous)
