"""BackupAndRestore: a run interrupted mid-epoch (by a real SIGKILL, and in-process by an
exception) and started again finishes with exactly the weights and epoch logs of an uninterrupted
run; the backup file's contents round-trip bit for bit; damaged backups fail loudly or fall back."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina
from lamina import backend, callbacks, layers
from lamina.saving import FileFormatError, training_state

SCRIPT = Path(__file__).with_name("resume_run.py")
SRC = Path(lamina.__file__).resolve().parents[1]


def _launch(folder: Path, save_freq, kill_at, case="arrays") -> subprocess.Popen:
    folder.mkdir(exist_ok=True)
    command = [
        sys.executable,
        str(SCRIPT),
        str(folder / "backup"),
        str(folder / "out.npz"),
        str(save_freq),
        str(kill_at),
        case,
    ]
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _finish(process: subprocess.Popen) -> int:
    output, _ = process.communicate(timeout=120)
    process.output = output.decode(errors="replace")
    return process.returncode


# What else keeps a state across epochs in resume_run.py (see its docstring); each was off before
# its state was backed up: by 0.055 (dataset), 0.056 (plateau), 0.035 (pydataset) in the weights.
KILL_CASES = ["arrays", "dataset", "plateau", "pydataset"]


@pytest.mark.slow
@pytest.mark.parametrize("case", KILL_CASES)
def test_sigkilled_training_resumes_to_the_uninterrupted_weights(tmp_path, case):
    # 96 training samples in batches of 16: 6 batches per epoch, 4 epochs. The kill comes as global
    # batch 10 begins (epoch 1, batch 4); the last backup (every 4 batches) was taken after batch 8.
    # The reference and the first (killed) run go in parallel to keep the test short. The epoch-end
    # backups and other optimizers are covered in-process below.
    reference = _launch(tmp_path / "reference", 4, -1, case)
    killed = _launch(tmp_path / "killed", 4, 10, case)
    assert _finish(killed) == -9, f"the run was not killed: {killed.output}"
    assert (tmp_path / "killed" / "backup" / "training_state.h5").exists()
    assert not (tmp_path / "killed" / "out.npz").exists()
    resumed = _launch(tmp_path / "killed", 4, 10, case)  # the same command again
    assert _finish(reference) == 0, reference.output
    assert _finish(resumed) == 0, resumed.output
    expected = np.load(tmp_path / "reference" / "out.npz")
    found = np.load(tmp_path / "killed" / "out.npz")
    weights = sorted(k for k in expected.files if k.startswith("arr_"))
    assert len(weights) == 8  # two Dense (kernel, bias) and BatchNormalization's four
    for key in weights:
        assert np.array_equal(found[key], expected[key]), f"weight {key} differs"
    # The resumed process trained epochs 1-3; its logs equal the reference's for them, the
    # interrupted epoch included (the metric totals of the skipped batches were restored).
    assert found["epochs"].tolist() == [1, 2, 3]
    for key in (k for k in expected.files if k.startswith("log_")):
        assert np.array_equal(found[key], expected[key][1:]), f"{key} differs"
    assert not (tmp_path / "killed" / "backup").exists()  # deleted once training completed


# --------------------------------------------------------------------------------------------------
# In-process interruption: a callback raises mid-epoch; a fresh model (same seed) fits again.


class Interrupt(Exception):
    pass


class RaiseAt(callbacks.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at
        self.seen = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.seen == self.at:
            raise Interrupt
        self.seen += 1


OPTIMIZERS = {
    "sgd-momentum": lambda: lamina.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop-centered": lambda: lamina.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adam-ema-schedule": lambda: lamina.optimizers.Adam(
        lamina.optimizers.schedules.ExponentialDecay(0.01, 5, 0.5), use_ema=True
    ),
    "adamw-accumulate": lambda: lamina.optimizers.AdamW(0.01, gradient_accumulation_steps=2),
    # SGD rescales its momentum when the rate changes: the restored optimizer must not see a
    # change from the fresh optimizer's rate to the backed-up one.
    "sgd-momentum-schedule": lambda: lamina.optimizers.SGD(
        lamina.optimizers.schedules.ExponentialDecay(0.05, 4, 0.5), momentum=0.9
    ),
    "muon": lambda: lamina.optimizers.Muon(0.01),
    # A scale so large that steps overflow and are skipped (halving it), regrown after 3 good
    # steps: at the backup the scale and its counter differ from a fresh optimizer's.
    "loss-scale": lambda: lamina.optimizers.LossScaleOptimizer(
        lamina.optimizers.Adam(0.01), initial_scale=2.0**127, dynamic_growth_steps=3
    ),
    "schedule-free": lambda: lamina.optimizers.ScheduleFreeAdamW(0.01, warmup_steps=3),
    # A group per sub-optimizer in the backup (the hidden layer's weights take SGD).
    "multi": lambda: lamina.optimizers.MultiOptimizer(
        lamina.optimizers.OptimizerMap(
            lamina.optimizers.Adam(0.01), {".*/dense/.*": lamina.optimizers.SGD(0.05, momentum=0.9)}
        )
    ),
}


def _data():
    rng = np.random.RandomState(3)
    x = rng.normal(size=(50, 5)).astype("float32")
    return x, (x.sum(axis=1, keepdims=True) > 0).astype("float32")


class PositiveCount(lamina.metrics.Metric):
    """A Keras-style custom metric, its state made by `add_variable`: the backup holds it too."""

    def __init__(self, name="positive_count"):
        super().__init__(name=name)
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign_add(lamina.ops.sum(lamina.ops.cast(y_pred > 0.5, "float32")))

    def result(self):
        return self.count.value


def _train(
    optimizer,
    backup_dir,
    extra=(),
    save_freq=3,
    epochs=3,
    layer_dtype=None,
    clear_session=True,
    **backup_options,
):
    lamina.utils.set_random_seed(11)
    if clear_session:  # else the layers get new auto names (dense_2), as a re-run notebook cell's
        lamina.backend.clear_session()
    model = lamina.Sequential(
        [
            layers.Input((5,)),
            layers.Dense(8, activation="tanh", dtype=layer_dtype),
            layers.Dropout(0.25, dtype=layer_dtype),
            layers.BatchNormalization(dtype=layer_dtype),
            layers.Dense(1, activation="sigmoid", dtype=layer_dtype),
        ]
    )
    model.compile(
        optimizer=OPTIMIZERS[optimizer](),
        loss="binary_crossentropy",
        metrics=["accuracy", lamina.metrics.AUC(num_thresholds=20), PositiveCount()],
    )
    backup = callbacks.BackupAndRestore(backup_dir, save_freq=save_freq, **backup_options)
    x, y = _data()
    history = model.fit(
        x, y, batch_size=8, epochs=epochs, shuffle=True, verbose=0, callbacks=[backup, *extra]
    )
    return model, history


@pytest.fixture(autouse=True)
def one_torch_thread():
    """These models are tiny: a second intra-op thread only adds waiting (BatchNorm's CPU kernel
    always goes parallel, ~70 ms per call on a loaded 2-core machine against 0.01 ms on one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


RESUME_CASES = [
    ("sgd-momentum", 3),
    ("sgd-momentum", 7),  # the backup falls on an epoch's last batch
    ("sgd-momentum", "epoch"),
    ("rmsprop-centered", 3),
    ("adam-ema-schedule", "epoch"),
    ("adamw-accumulate", 3),  # backed up in the middle of an accumulation window
    ("sgd-momentum-schedule", 3),
    ("muon", 3),
    ("loss-scale", 3),
    ("schedule-free", 3),
    ("multi", 3),
]


@pytest.mark.parametrize(
    "optimizer, save_freq", RESUME_CASES, ids=[f"{o}-save_freq={f}" for o, f in RESUME_CASES]
)
def test_interrupted_fit_resumes_exactly(tmp_path, optimizer, save_freq):
    reference, reference_history = _train(optimizer, tmp_path / "reference", save_freq=save_freq)
    with pytest.raises(Interrupt):  # 7 batches per epoch: global batch 11 is epoch 1, batch 4
        _train(optimizer, tmp_path / "run", [RaiseAt(11)], save_freq=save_freq)
    assert (tmp_path / "run" / "training_state.h5").exists()
    resumed, history = _train(optimizer, tmp_path / "run", save_freq=save_freq)
    for mine, theirs in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)
    assert resumed.optimizer.iterations == reference.optimizer.iterations
    # save_freq=7 backed up after the last batch of epoch 0: the resumed run skips all of that
    # epoch's batches and ends it (logs from the restored metric totals) before going on.
    first = 0 if save_freq == 7 else 1
    assert history.epoch == list(range(first, 3))
    for key, values in history.history.items():
        assert values == reference_history.history[key][first:], key
    assert not (tmp_path / "run").exists()


def test_a_model_rebuilt_in_the_same_process_resumes_exactly(tmp_path):
    # A notebook cell run again after a crash builds the model anew: its layers are `dense_2`,
    # `dropout_1`, ... where the backup says `dense`, `dropout`. Keras restores by structure.
    reference, reference_history = _train("sgd-momentum", tmp_path / "reference")
    with pytest.raises(Interrupt):
        _train("sgd-momentum", tmp_path / "run", [RaiseAt(11)])
    resumed, history = _train("sgd-momentum", tmp_path / "run", clear_session=False)
    assert resumed.layers[0].name != reference.layers[0].name
    for mine, theirs in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)  # the Dropout's seed generator came back too
    assert history.history["loss"] == reference_history.history["loss"][1:]


class LossScaleLog(callbacks.Callback):
    """The LossScaleOptimizer's (scale, good steps since the last change) before each batch."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        self.seen.append((float(optimizer.dynamic_scale), int(optimizer.step_counter)))


def test_loss_scale_resumes_where_it_was(tmp_path):
    # Power-of-two scales give the same updates, so equal weights do not show that the scale
    # came back: the scale and its counter before each resumed batch must be the reference's.
    reference_log, resumed_log = LossScaleLog(), LossScaleLog()
    _train("loss-scale", tmp_path / "reference", [reference_log])
    with pytest.raises(Interrupt):
        _train("loss-scale", tmp_path / "run", [RaiseAt(11)])
    _train("loss-scale", tmp_path / "run", [resumed_log])
    assert len(set(reference_log.seen)) > 3  # the scale moved (steps overflowed and regrew)
    assert resumed_log.seen == reference_log.seen[-len(resumed_log.seen) :]


def test_bfloat16_model_resumes_exactly(tmp_path):
    # bfloat16 weights, Adam moments and EMA copies go into the backup as Keras stores bfloat16
    # (torch's .numpy() refuses them) and come back bit for bit.
    reference, reference_history = _train(
        "adam-ema-schedule", tmp_path / "reference", layer_dtype="bfloat16"
    )
    assert reference.layers[0].kernel.dtype == torch.bfloat16
    with pytest.raises(Interrupt):
        _train("adam-ema-schedule", tmp_path / "run", [RaiseAt(11)], layer_dtype="bfloat16")
    resumed, history = _train("adam-ema-schedule", tmp_path / "run", layer_dtype="bfloat16")
    for mine, theirs in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)
    assert history.epoch == [1, 2]
    for key, values in history.history.items():
        assert values == reference_history.history[key][1:], key


def test_delete_checkpoint_false_keeps_the_final_backup(tmp_path):
    model, _ = _train("sgd-momentum", tmp_path / "kept", save_freq="epoch", delete_checkpoint=False)
    state = training_state.read(tmp_path / "kept" / "training_state.h5", model)
    assert (state["epoch"], state["step"], state["batches_seen"]) == (3, 0, 21)
    # Starting again with that backup trains nothing more: it records the run as complete.
    again, history = _train("sgd-momentum", tmp_path / "kept", save_freq="epoch")
    assert history.epoch == []
    for mine, theirs in zip(again.get_weights(), model.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    folder = tmp_path / "double"
    with pytest.raises(Interrupt):
        _train("sgd-momentum", folder, [RaiseAt(11)], save_freq=3, double_checkpoint=True)
    latest, previous = folder / "training_state.h5", folder / "training_state.previous.h5"
    assert latest.exists() and previous.exists()
    latest.write_bytes(latest.read_bytes()[:300])  # a damaged latest backup
    reference, _ = _train("sgd-momentum", tmp_path / "reference", save_freq=3)
    with pytest.warns(UserWarning, match="could not read .*restoring the previous backup"):
        resumed, history = _train("sgd-momentum", folder, save_freq=3, double_checkpoint=True)
    assert history.epoch == [0, 1, 2]  # the previous backup was taken in epoch 0 (after batch 6)
    for mine, theirs in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)


def test_damaged_backup_without_fallback_raises(tmp_path):
    folder = tmp_path / "single"
    folder.mkdir()
    (folder / "training_state.h5").write_bytes(b"\x89HDF\r\n" + b"\0" * 100)
    with pytest.raises(FileFormatError, match="not a readable HDF5 file"):
        _train("sgd-momentum", folder)


def test_backup_of_another_model_is_refused(tmp_path):
    with pytest.raises(Interrupt):
        _train("sgd-momentum", tmp_path, [RaiseAt(4)])
    other = lamina.Sequential([layers.Input((5,)), layers.Dense(1)])
    other.compile(optimizer="sgd", loss="mse")
    with pytest.raises(FileFormatError, match="different model.*new backup_dir"):
        other.fit(*_data(), epochs=1, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path)])


@pytest.mark.parametrize("save_freq", [0, -2, "batch", True, 1.5])
def test_invalid_save_freq(save_freq, tmp_path):
    with pytest.raises(
        ValueError, match="Invalid value for argument `save_freq`: .*positive integer"
    ):
        callbacks.BackupAndRestore(tmp_path, save_freq=save_freq)


def test_rng_states_round_trip_bit_for_bit(tmp_path):
    import random

    model = lamina.Sequential([layers.Input((2,)), layers.Dense(1)])
    random.gauss(0, 1)  # leaves a cached Gaussian in Python's state
    np.random.normal()
    torch.rand(3)
    state = backend.get_rng_state()
    training_state.write(
        tmp_path / "s.h5", model, epoch=0, step=0, batches_seen=0, epoch_start_rng=state, rng=state
    )
    restored = training_state.read(tmp_path / "s.h5", model)["rng"]
    assert restored["python"] == state["python"]
    for mine, theirs in zip(restored["numpy"], state["numpy"], strict=True):
        assert np.array_equal(mine, theirs)
    assert torch.equal(restored["torch"], state["torch"])
    expected = (random.random(), random.gauss(0, 1), np.random.normal(), torch.rand(2))
    backend.set_rng_state(restored)
    drawn = (random.random(), random.gauss(0, 1), np.random.normal(), torch.rand(2))
    assert expected[:3] == drawn[:3] and torch.equal(expected[3], drawn[3])


def test_empty_backup_dir():
    # Keras's opening words, then lamina's
    with pytest.raises(ValueError, match="Empty `backup_dir` argument passed: BackupAndRestore"):
        callbacks.BackupAndRestore("")
