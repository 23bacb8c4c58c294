"""A training program for the resume kill test (run as a subprocess by test_backup_and_restore.py).

    python resume_run.py BACKUP_DIR OUT.npz SAVE_FREQ KILL_AT [CASE]

Trains a small Dropout + BatchNormalization classifier with shuffling and BackupAndRestore. On its
first run (no marker file in BACKUP_DIR's parent) it SIGKILLs itself when global batch KILL_AT
begins; run again with the same arguments, it resumes from the backup. KILL_AT = -1 never kills.
At the end it writes the final weights and the epoch logs of this process to OUT.npz.

CASE picks what else keeps a state across epochs (each must be restored for an exact resume):
    arrays     arrays shuffled by fit (the default)
    dataset    a `Dataset.from_tensor_slices(...).shuffle(N).batch(16)` (its pass counter)
    plateau    arrays, and a ReduceLROnPlateau that lowers the rate at most epoch ends
    pydataset  a PyDataset that reshuffles its order with np.random in `on_epoch_end`
"""

import os
import signal
import sys

import numpy as np

import lamina
from lamina import layers

backup_dir, out_path, save_freq, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
case = sys.argv[5] if len(sys.argv) > 5 else "arrays"
save_freq = save_freq if save_freq == "epoch" else int(save_freq)
marker = os.path.join(os.path.dirname(os.path.abspath(out_path)), "killed-once")

lamina.utils.set_random_seed(1234)
data = np.random.RandomState(0)
x = data.normal(size=(120, 6)).astype("float32")
y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype("int64") + (x[:, 3] > 1).astype("int64")

model = lamina.Sequential(
    [
        layers.Input((6,)),
        layers.Dense(16, activation="relu"),
        layers.BatchNormalization(),
        layers.Dropout(0.3),
        layers.Dense(3, activation="softmax"),
    ]
)
model.compile(
    optimizer=lamina.optimizers.Adam(0.01),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)


class KillAt(lamina.callbacks.Callback):
    """SIGKILL this process as global batch `kill_at` begins, on the first run only."""

    def __init__(self):
        super().__init__()
        self.seen = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.seen == kill_at and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        self.seen += 1


class Reshuffled(lamina.utils.PyDataset):
    """Batches of 16 in an order that `on_epoch_end` reshuffles with NumPy's global generator."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y
        self.order = np.arange(len(x))

    def __len__(self):
        return -(-len(self.x) // 16)

    def __getitem__(self, index):
        rows = self.order[index * 16 : (index + 1) * 16]
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        np.random.shuffle(self.order)


backup = lamina.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq)
callbacks = [backup, KillAt()]
inputs = {"x": x, "y": y, "batch_size": 16, "shuffle": True, "validation_split": 0.2}
if case == "dataset":
    train = lamina.data.Dataset.from_tensor_slices((x[:96], y[:96])).shuffle(96).batch(16)
    inputs = {"x": train, "validation_data": (x[96:], y[96:])}
elif case == "pydataset":
    inputs = {"x": Reshuffled(x[:96], y[:96]), "validation_data": (x[96:], y[96:])}
elif case == "plateau":
    # min_delta=10: only the first epoch counts as an improvement, so with patience 1 the rate is
    # halved at the end of epochs 1, 2, 3. Listed after BackupAndRestore on purpose.
    callbacks.append(
        lamina.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=1, min_delta=10)
    )
history = model.fit(**inputs, epochs=4, verbose=0, callbacks=callbacks)
logs = {f"log_{k}": np.asarray(v) for k, v in history.history.items()}
np.savez(out_path, *model.get_weights(), epochs=np.asarray(history.epoch), **logs)
