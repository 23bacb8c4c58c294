"""What the distributed tests train, shared by the launched ranks and the one-process references.

`python -m torch.distributed.run --nproc_per_node 2 tests/distribution/scenarios.py OUT main`
runs `main()` on each rank and pickles its findings to OUT/rank<r>.pkl; the tests compare them
with the same functions run in one process (tests/distribution/test_data_parallel.py).
"""

from __future__ import annotations

import atexit
import os
import pickle
import sys
import time

import numpy as np

SAMPLES = 203  # global batch 64: 64, 64, 64 and a last batch of 11 (6 + 5 over two ranks)
FEATURES = 6
CLASSES = 3
SEED = 7


def data(samples=SAMPLES, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, FEATURES)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    return x, y


def build_model(batchnorm=False):
    import lamina
    from lamina import layers

    lamina.backend.clear_session()  # the same layer names in every run: backups match
    lamina.utils.set_random_seed(SEED)
    model = lamina.Sequential(
        [
            layers.Input((FEATURES,)),
            layers.Dense(16, activation="relu"),
            *([layers.BatchNormalization()] if batchnorm else []),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.SGD(0.1, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def weights(model):
    return [w.detach().cpu().numpy().copy() for w in model.weights]


def train(epochs, backup_dir=None, batchnorm=False, callbacks=()):
    """Global batch 64, shuffled, with validation: the run every test compares."""
    import lamina

    x, y = data()
    xv, yv = data(41, seed=1)
    model = build_model(batchnorm)
    extra = (
        []
        if backup_dir is None
        else [lamina.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)]
    )
    history = model.fit(
        x,
        y,
        batch_size=64,
        epochs=epochs,
        shuffle=True,
        validation_data=(xv, yv),
        verbose=0,
        callbacks=[*callbacks, *extra],
    )
    return model, history.history


def shard_ids():
    """Which samples each rank trains on in one epoch: arrays, a Dataset, a generator."""
    import lamina
    from lamina import distribution
    from lamina.engine import data_adapter

    ids = np.arange(SAMPLES, dtype="float32")[:, None]
    seen = {}
    arrays = distribution.shard(
        data_adapter.ArrayData(ids, ids, batch_size=64, shuffle=True), "train"
    )
    seen["arrays"] = [b[0][:, 0].tolist() for b in arrays]
    dataset = lamina.data.Dataset.from_tensor_slices((ids, ids)).shuffle(500).batch(16)
    iterable = distribution.shard(data_adapter.IterableData(dataset), "train")
    seen["dataset"] = [b[0][:, 0].tolist() for b in iterable]

    def generator():
        for start in range(0, 200, 20):
            yield ids[start : start + 20], ids[start : start + 20]

    stream = distribution.shard(data_adapter.IterableData(generator()), "train")
    seen["generator"] = [b[0][:, 0].tolist() for b in stream]
    evaluation = distribution.shard(data_adapter.ArrayData(ids, ids, batch_size=64), "evaluate")
    seen["evaluate"] = [b[0][:, 0].tolist() for b in evaluation]
    return seen


class CountingCSVLogger:
    """A CSVLogger that also counts the epochs it wrote (made lazily: lamina imports late)."""

    @staticmethod
    def make(path):
        import lamina

        class Counting(lamina.callbacks.CSVLogger):
            written = 0

            def on_epoch_end(self, epoch, logs=None):
                type(self).written += 1
                super().on_epoch_end(epoch, logs)

        return Counting(path)


def main(out):
    """The 2-process run: equivalence, logs, sharding, writers, resume in both directions."""
    import lamina

    rank = lamina.distribution.rank()
    atexit.register(_write_threads, os.path.join(out, f"threads_at_exit_{rank}.txt"))
    found = {
        "world": lamina.distribution.world_size(),
        "devices": lamina.distribution.list_devices(),
    }
    found["shards"] = shard_ids()
    csv = CountingCSVLogger.make(os.path.join(out, "log.csv"))
    model, history = train(2, backup_dir=os.path.join(out, "backup_2p"), callbacks=[csv])
    found["weights"], found["history"], found["csv_epochs"] = weights(model), history, csv.written
    xv, yv = data(41, seed=1)
    found["evaluate"] = model.evaluate(xv, yv, batch_size=16, verbose=0, return_dict=True)
    found["predict"] = model.predict(xv, batch_size=16, verbose=0)
    model.save(os.path.join(out, f"saved_by_{rank}.keras"))
    # A backup written by one process (the test, beforehand), resumed here on two.
    resumed, _ = train(4, backup_dir=os.path.join(out, "backup_1p"))
    found["resumed_weights"] = weights(resumed)
    lamina.distribution.set_distribution(lamina.distribution.DataParallel(sync_batchnorm=True))
    bn_model, bn_history = train(1, batchnorm=True)
    found["batchnorm_weights"], found["batchnorm_loss"] = weights(bn_model), bn_history["loss"]
    with open(os.path.join(out, f"rank{rank}.pkl"), "wb") as handle:
        pickle.dump(found, handle)


def die(out):
    """Rank 1 exits mid-epoch; rank 0 must fail with a clear message, not hang."""
    import lamina

    class Die(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if lamina.distribution.rank() == 1 and batch == 1:
                os._exit(3)

    x, y = data()
    model = build_model()
    start = time.monotonic()
    try:
        model.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[Die()])
    except RuntimeError as error:  # from backward: torch wraps the RankFailureError's message
        with open(os.path.join(out, "failure.txt"), "w") as handle:
            handle.write(f"{time.monotonic() - start:.1f}\n{error}")
        raise


def exit_during_collective(out):
    """The script ends while a gloo worker thread still runs a collective's Python callback.

    A widened version of a window a loaded machine opens now and then: the worker that ran a
    collective needs the GIL once more after the caller has its result (to free the tensors made
    in Python), and the interpreter may be finalizing by then. Rank 0's callback holds its worker
    for 2 s; rank 1 joins the collective 1 s late, so the callback is attached before the
    collective can complete and runs on the worker, not inline. OUT/threads_at_exit.txt gets the
    threads rank 0 still has after lamina's teardown.
    """
    import threading

    import torch
    import torch.distributed as dist

    import lamina

    rank = lamina.distribution.rank()
    if rank == 0:
        atexit.register(_write_threads, os.path.join(out, "threads_at_exit.txt"))
    x, y = data()
    train_model = build_model()
    train_model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    if rank == 1:
        time.sleep(1.0)
        dist.all_reduce(torch.ones(1))
        return
    work = dist.all_reduce(torch.ones(1), async_op=True)
    if work.is_completed():
        raise RuntimeError("premise: the collective completed before rank 1 joined it")

    def hold_worker(future):
        if threading.current_thread() is threading.main_thread():
            raise RuntimeError("premise: the callback ran on the main thread")
        time.sleep(2.0)
        return future.value()

    work.get_future().then(hold_worker)


def _write_threads(path):
    """This process's thread names (Linux), as an atexit handler registered before lamina's."""
    names = []
    for task in sorted(os.listdir("/proc/self/task")):
        with open(f"/proc/self/task/{task}/comm") as comm:
            names.append(comm.read().strip())
    with open(path, "w") as handle:
        handle.write("\n".join(names))


if __name__ == "__main__":
    globals()[sys.argv[2]](sys.argv[1])
