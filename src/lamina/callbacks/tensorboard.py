"""TensorBoard: scalars and weight histograms in event files the `tensorboard` program reads,
laid out as Keras lays them out, written by lamina's own writer (no TensorFlow needed); the
embedding projector's tables and torch profiler traces beside them."""

from __future__ import annotations

import os
import time

import numpy as np

from lamina import backend
from lamina.callbacks import learning_rate, tensorboard_profiler, tensorboard_projector
from lamina.callbacks.callback import Callback
from lamina.callbacks.event_file import EventFileWriter


class TensorBoard(Callback):
    """Write training curves and weight histograms for TensorBoard (`tensorboard --logdir logs`).

    Layout (as Keras's): `log_dir/train` holds `epoch_<metric>` scalars (and `batch_<metric>` with
    a batch `update_freq`), `epoch_learning_rate` and the weight histograms
    (`<layer>/<weight>/histogram`); `log_dir/validation` holds the validation metrics under the
    same `epoch_<metric>` tags (without `val_`), so TensorBoard draws train and validation on one
    chart, and `evaluation_<metric>_vs_iterations` at the optimizer's step count.

    Args:
        log_dir: the folder of the event files.
        histogram_freq: every how many epochs to write weight histograms (0: never).
        write_graph: accepted for Keras compatibility; a torch model has no static graph to draw.
        write_images: with the histograms, also write each weight as images, by Keras's rules
            (a bias or a dense kernel as one grey image; 1-d convolution kernels as one image
            per output channel, the first three written; other shapes not).
        write_steps_per_second: also log the training speed.
        update_freq: `"epoch"` (one point per epoch), `"batch"`, or an integer N: also write the
            batch logs every N batches (reading them waits for the device: keep N large for speed).
        profile_batch: profile a training batch (an int; 0, the default: none) or a range of
            them (`(first, last)` or `"first,last"`, counted from 1 over the run) with torch's
            profiler; the trace goes to `log_dir/train/plugins/profile`, where TensorBoard's
            PyTorch profiler plugin (`pip install torch-tb-profiler`) shows it.
        embeddings_freq: every how many epochs to write the model's Embedding tables for
            TensorBoard's projector (0: never): `log_dir/embeddings/<layer>.tsv`, listed in
            `log_dir/projector_config.pbtxt`.
        embeddings_metadata: the projector's labels per row: one file's path for every
            Embedding layer, or a dict `{layer name: path}` (paths relative to `log_dir`).

    Examples:
        >>> import os, tempfile
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = model.fit(x, y, verbose=0,
        ...                   callbacks=[TensorBoard(log_dir=folder)])
        ...     print(sorted(os.listdir(folder)))
        ['train']
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (
            isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0
        ):
            raise ValueError(
                "TensorBoard update_freq must be 'epoch', 'batch' or a positive integer; received "
                f"update_freq={update_freq!r}."
            )
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(
                "TensorBoard histogram_freq must be an integer >= 0 (epochs); received "
                f"histogram_freq={histogram_freq!r}."
            )
        if not isinstance(embeddings_freq, int) or embeddings_freq < 0:
            raise ValueError(
                "TensorBoard embeddings_freq must be an integer >= 0 (epochs); received "
                f"embeddings_freq={embeddings_freq!r}."
            )
        self._profiled_batches = tensorboard_profiler.batch_range(profile_batch)
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self.profile_batch = profile_batch
        self._profiler = None
        self._embedding_layers = []  # found at train begin, as the projector's config lists them
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self._writers: dict[str, EventFileWriter] = {}
        self._global_train_batch = 0

    def _writer(self, run: str) -> EventFileWriter:
        if run not in self._writers:
            self._writers[run] = EventFileWriter(os.path.join(self.log_dir, run))
        return self._writers[run]

    # ----------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._writer("train")
        first, last = self._profiled_batches
        if first:
            self._profiler = tensorboard_profiler.BatchProfiler(self.log_dir, first, last)
        if self.embeddings_freq:
            layers = tensorboard_projector.embedding_layers(self.model)
            metadata = tensorboard_projector.metadata_paths(layers, self.embeddings_metadata)
            tensorboard_projector.write_config(self.log_dir, layers, metadata)
            self._embedding_layers = layers

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self._profiler is not None:
            self._profiler.batch_begin(self._global_train_batch)
        if self.write_steps_per_second:
            self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if self._profiler is not None:
            self._profiler.batch_end(step)
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._batch_start
            if elapsed > 0:
                self._writer("train").scalar("batch_steps_per_second", 1.0 / elapsed, step)
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        self._scalars("train", "batch_", dict(logs or {}), step)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_first_batch = self._global_train_batch

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:  # a MultiOptimizer's as `learning_rate_<name>`, as Keras
            for key, holder in learning_rate.rate_holders(optimizer):
                train.setdefault(key, float(holder.learning_rate))
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._epoch_start
            batches = self._global_train_batch - self._epoch_first_batch
            train["steps_per_second"] = batches / elapsed if elapsed > 0 else 0.0
        self._scalars("train", "epoch_", train, epoch)
        if validation:
            self._scalars("validation", "epoch_", validation, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._histograms(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            tensorboard_projector.write_tables(self.log_dir, self._embedding_layers)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            if np.size(value) == 1:
                writer.scalar(
                    f"evaluation_{name}_vs_iterations", float(value), optimizer.iterations
                )

    def on_train_end(self, logs=None):
        if self._profiler is not None:  # training ended before the last profiled batch
            self._profiler.stop()
            self._profiler = None
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ----------------------------------------------------------------------------------------------
    def _scalars(self, run, prefix, logs, step):
        writer = self._writer(run)
        for name, value in logs.items():
            if np.size(value) == 1:  # per-class results (arrays) have no scalar chart
                writer.scalar(f"{prefix}{name}", float(value), step)

    def _histograms(self, epoch):
        from lamina.saving.weight_paths import legacy_weight_names

        writer = self._writer("train")
        for _, named in legacy_weight_names(self.model):
            for path, entry in named:
                name = path.split("/", 1)[1]  # Keras's weight path: no model name in front
                values = backend.as_plain_numpy(entry.tensor).astype(np.float32, copy=False)
                tag = name.replace(":", "_")
                writer.histogram(f"{tag}/histogram", values, epoch)
                if self.write_images:
                    images = _weight_images(entry.tensor)
                    if images is not None:
                        writer.image(f"{tag}/image", images, epoch)


def _weight_images(weight) -> np.ndarray | None:
    """A weight (Keras's shape) as images `(count, height, width, 1)` the way Keras's TensorBoard
    shows one: a bias as one column, a 2-d kernel with its longer axis across, a 3-d kernel one
    image per last-axis slice (channels-last); None for shapes Keras does not draw."""
    values = np.squeeze(backend.as_plain_numpy(weight).astype(np.float32, copy=False))
    if values.ndim == 1:
        values = values.reshape(1, values.shape[0], 1, 1)
    elif values.ndim == 2:
        if values.shape[0] > values.shape[1]:
            values = values.T
        values = values.reshape(1, *values.shape, 1)
    elif values.ndim == 3:
        if backend.image_data_format() == "channels_last":
            values = values.transpose(2, 0, 1)
        values = values.reshape(*values.shape, 1)
    if values.ndim == 4 and values.shape[-1] in (1, 3, 4):
        return values
    return None
