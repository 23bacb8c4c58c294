"""What the ModelParallel tests train, on the launched ranks and in one process alike.

`python -m torch.distributed.run --nproc_per_node 2 tests/distribution/model_parallel_scenarios.py
OUT` runs `main()` on each rank: an Embedding -> Conv1D -> Dense model fit on a mesh of shape
(1, 2) (kernels split over "model") and of shape (2, 1) (batches split over "batch"), each rank
pickling its findings to OUT/rank<r>.pkl; tests/distribution/test_model_parallel.py compares them
with `train(None)`, the same run in one process. `... --nproc_per_node 4 ... OUT four` runs
`main_four` (tests/distribution/test_model_parallel_four.py).
"""

from __future__ import annotations

import os
import pickle
import sys

import numpy as np

SAMPLES = 75  # global batch 16: four full batches and one of 11 (6 + 5 over two ranks)
LENGTH = 5
VOCABULARY = 11
CLASSES = 3
SEED = 3
MESH_SHAPES = ((1, 2), (2, 1))

# Split over "model": the embedding table and the first Dense kernel by columns, the last Dense
# kernel by rows; the convolution's weights stay replicated (DTensor convolves whole kernels).
LAYOUTS = {
    ".*embedding/embeddings": (None, "model"),
    ".*dense/kernel": (None, "model"),
    ".*dense_1/kernel": ("model", None),
}


def data(samples=SAMPLES):
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCABULARY, size=(samples, LENGTH)).astype("int64")
    y = (x.sum(axis=1) % CLASSES).astype("int64")
    return x, y


def build_model():
    import lamina
    from lamina import layers

    lamina.backend.clear_session()  # the same layer names (and weight paths) in every run
    lamina.utils.set_random_seed(SEED)
    model = lamina.Sequential(
        [
            layers.Input((LENGTH,), dtype="int64"),
            layers.Embedding(VOCABULARY, 8),
            layers.Conv1D(6, 3, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(8, activation="relu"),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def model_parallel(mesh_shape):
    import lamina

    mesh = lamina.distribution.DeviceMesh(mesh_shape, ("batch", "model"))
    layout_map = lamina.distribution.LayoutMap(mesh)
    for key, axes in LAYOUTS.items():
        layout_map[key] = axes
    return lamina.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")


def train(mesh_shape, folder=None):
    """Fit 2 epochs (shuffled, validated), evaluate, predict: the findings the tests compare."""
    from torch.distributed.tensor import DTensor

    import lamina

    x, y = data()
    lamina.distribution.set_distribution(None if mesh_shape is None else model_parallel(mesh_shape))
    try:
        model = build_model()
        history = model.fit(
            x, y, batch_size=16, epochs=2, validation_data=(x[:20], y[:20]), verbose=0
        )
        parallel = lamina.distribution.distribution()
        found = {
            "batch_split": None if parallel is None else (parallel.world_size, parallel.rank),
            "history": history.history,
            "evaluate": model.evaluate(x, y, batch_size=16, verbose=0),
            "predict": model.predict(x, batch_size=16, verbose=0),
            "call": lamina.backend.as_numpy(model(x[:7])),
            "weights": model.get_weights(),
            "local_shapes": {
                w.path: tuple(w.to_local().shape) for w in model.weights if isinstance(w, DTensor)
            },
        }
        if folder is not None:
            stem = os.path.join(folder, f"model_{mesh_shape[0]}x{mesh_shape[1]}")
            model.save(stem + ".keras")
            model.save_weights(stem + ".weights.h5")
            lamina.distribution.barrier()
        return found
    finally:
        lamina.distribution.set_distribution(None)


def resume(mesh_shape, folder):
    """Fit 1 epoch with the three callbacks that save (each gathers the shards, so every rank
    must run it), then fit on from BackupAndRestore's backup in a new model: the second epoch's
    loss and the weights, which a resumed run gets only if the optimizer's slots came along.
    In one process (`mesh_shape` None) the same two epochs run in one model."""
    import lamina

    x, y = data()
    lamina.distribution.set_distribution(None if mesh_shape is None else model_parallel(mesh_shape))
    try:
        model = build_model()
        savers = []
        if folder is not None:
            savers = [
                lamina.callbacks.ModelCheckpoint(os.path.join(folder, "epoch.keras")),
                lamina.callbacks.OrbaxCheckpoint(os.path.join(folder, "orbax")),
                lamina.callbacks.BackupAndRestore(
                    os.path.join(folder, "backup"), delete_checkpoint=False
                ),
            ]
        first = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=savers)
        found = {"first_weights": model.get_weights(), "first": first.history["loss"]}
        if folder is not None:  # a new run, resumed from the backup
            model = build_model()
            backup = lamina.callbacks.BackupAndRestore(os.path.join(folder, "backup"))
            second = model.fit(
                x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[backup]
            )
        else:
            second = model.fit(
                x, y, batch_size=16, epochs=2, initial_epoch=1, shuffle=False, verbose=0
            )
        found["second"] = second.history["loss"]
        found["weights"] = model.get_weights()
        return found
    finally:
        lamina.distribution.set_distribution(None)


def refusals() -> dict:
    """The messages of what ModelParallel refuses on a mesh of shape (1, 2)."""
    import lamina
    from lamina import layers

    mesh = lamina.distribution.DeviceMesh((1, 2), ("batch", "model"))
    x, y = data(8)
    messages = {}
    for name, key, axes, jit_compile in (
        ("indivisible", ".*dense/kernel", (None, "model"), False),  # 3 units over 2 processes
        ("convolution", ".*conv1d/kernel", (None, None, "model"), False),
        ("jit_compile", None, None, True),
    ):
        layout_map = lamina.distribution.LayoutMap(mesh)
        if key is not None:
            layout_map[key] = axes
        lamina.distribution.set_distribution(
            lamina.distribution.ModelParallel(layout_map=layout_map)
        )
        lamina.backend.clear_session()
        model = lamina.Sequential(
            [
                layers.Input((LENGTH,)),
                layers.Reshape((LENGTH, 1)),
                layers.Conv1D(4, 2),
                layers.Flatten(),
                layers.Dense(3),
            ]
        )
        model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
        try:
            model.fit(x.astype("float32"), y.astype("float32"), epochs=1, verbose=0)
        except ValueError as error:
            messages[name] = str(error)
        finally:
            lamina.distribution.set_distribution(None)
    messages["attention"] = _attention_refusal(mesh)
    return messages


def _attention_refusal(mesh) -> str:
    """MultiHeadAttention with its heads split: DTensor's local view of the transposed heads
    fails inside its dispatch, a RuntimeError that named no layer."""
    import lamina
    from lamina import layers

    layout_map = lamina.distribution.LayoutMap(mesh)
    layout_map[".*(query|key|value)/kernel"] = (None, "model", None)
    lamina.distribution.set_distribution(lamina.distribution.ModelParallel(layout_map=layout_map))
    try:
        lamina.backend.clear_session()
        inputs = layers.Input((6, 8))
        attended = layers.MultiHeadAttention(2, 4, name="attention")(inputs, inputs)
        model = lamina.Model(inputs, layers.GlobalAveragePooling1D()(attended))
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.ones((4, 6, 8), "float32"), np.ones((4, 8), "float32"), verbose=0)
    except ValueError as error:
        return str(error)
    finally:
        lamina.distribution.set_distribution(None)
    return "trained"


# Dense models fit with what the first tests left out, each on a mesh of shape (1, 2) and (2, 1).
HARDENING = (
    "penalty",
    "sgd_global_clipnorm",
    "adam_clipvalue",
    "custom_train_step",
    "adamw",
    "einsum_dense",
)
HARDENING_LAYOUTS = {
    ".*/dense/kernel": (None, "model"),
    ".*/dense_1/kernel": ("model", None),
    ".*einsum_dense/kernel": (None, "model"),
    ".*einsum_dense_1/kernel": ("model", None),
}


def hardening_data(samples=SAMPLES):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(samples, 12)).astype("float32")
    y = (np.abs(x).sum(axis=1) * 3).astype("int64") % CLASSES
    return x, y


def hardening_model(case):
    import lamina
    from lamina import layers, optimizers

    lamina.backend.clear_session()
    lamina.utils.set_random_seed(SEED)
    regularizer = "l2" if case == "penalty" else None
    middle = {"batch_norm": [layers.BatchNormalization()], "dropout": [layers.Dropout(0.3)]}
    middle = middle.get(case, [])
    stack = [
        layers.Input((12,)),
        layers.Dense(8, activation="relu", kernel_regularizer=regularizer),
        *middle,
        layers.Dense(CLASSES, activation="softmax", kernel_regularizer=regularizer),
    ]
    if case == "einsum_dense":  # column- then row-split einsum kernels around a LayerNorm
        stack = [
            layers.Input((12,)),
            layers.EinsumDense("ab,bc->ac", 8, bias_axes="c", activation="relu"),
            layers.LayerNormalization(),
            layers.EinsumDense("ab,bc->ac", CLASSES, activation="softmax"),
        ]
    model = (_CustomStep if case == "custom_train_step" else lamina.Sequential)(stack)
    optimizer = {
        "sgd_global_clipnorm": lambda: optimizers.SGD(0.5, momentum=0.9, global_clipnorm=0.05),
        "adam_clipvalue": lambda: optimizers.Adam(0.01, clipvalue=0.01),
        "custom_train_step": lambda: optimizers.SGD(0.1),
        "adamw": lambda: optimizers.AdamW(0.01, weight_decay=0.1),
    }.get(case, lambda: optimizers.Adam(0.01))()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _custom_step_class():
    import lamina

    class CustomStep(lamina.Sequential):
        """A Keras-style train_step: the model called with training=True, backward, apply."""

        def train_step(self, data):
            x, y = data
            self.optimizer.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
            loss.backward()
            weights = self.trainable_weights
            self.optimizer.apply([w.grad for w in weights], weights)
            return self.compute_metrics(x, y, y_pred)

    return CustomStep


def _CustomStep(stack):  # noqa: N802 - stands for the class, made when lamina is imported
    return _custom_step_class()(stack)


def harden(mesh_shape) -> dict:
    """Per HARDENING case: the history, predictions and weights of a 2-epoch fit (AdamW's with
    class weights, a validation split and a call before fit), or on a mesh the error's message.
    On a mesh, also "batch_norm" and "dropout": the findings on (1, 2), the refusal's message
    where the batch axis has several processes."""
    import lamina

    x, y = hardening_data()
    found = {}
    cases = HARDENING + (("batch_norm", "dropout") if mesh_shape is not None else ())
    for case in cases:
        parallel = None
        if mesh_shape is not None:
            mesh = lamina.distribution.DeviceMesh(mesh_shape, ("batch", "model"))
            layout_map = lamina.distribution.LayoutMap(mesh)
            for key, axes in HARDENING_LAYOUTS.items():
                layout_map[key] = axes
            parallel = lamina.distribution.ModelParallel(layout_map=layout_map)
        lamina.distribution.set_distribution(parallel)
        try:
            model = hardening_model(case)
            extra, first_call = {}, None
            if case == "adamw":
                extra = {"class_weight": {0: 1.0, 1: 3.0, 2: 0.5}, "validation_split": 0.2}
                first_call = lamina.backend.as_numpy(model(x[:7]))
            history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, **extra)
            found[case] = {
                "history": history.history,
                "predict": model.predict(x, batch_size=16, verbose=0),
                "weights": model.get_weights(),
                "first_call": first_call,
            }
        except Exception as error:  # kept per case: one failure must not end the whole launch
            if mesh_shape is None:
                raise
            found[case] = f"{type(error).__name__}: {error}"
        finally:
            lamina.distribution.set_distribution(None)
    return found


def main(folder):
    import lamina

    rank = lamina.distribution.rank()
    found = {shape: train(shape, folder) for shape in MESH_SHAPES}
    found["refusals"] = refusals()
    found["harden"] = {shape: harden(shape) for shape in MESH_SHAPES}
    found["resume"] = resume((1, 2), folder)
    with open(os.path.join(folder, f"rank{rank}.pkl"), "wb") as file:
        pickle.dump(found, file)


FOUR_MESH_SHAPES = ((2, 2), (1, 4))


def main_four(folder):
    """On 4 processes (tests/distribution/test_model_parallel_four.py): the fit of `train` on
    meshes (2, 2) and (1, 4), and the HARDENING cases on (2, 2)."""
    import lamina

    rank = lamina.distribution.rank()
    found = {shape: train(shape) for shape in FOUR_MESH_SHAPES}
    found["harden"] = harden((2, 2))
    with open(os.path.join(folder, f"rank{rank}.pkl"), "wb") as file:
        pickle.dump(found, file)


if __name__ == "__main__":
    (main_four if sys.argv[2:] == ["four"] else main)(sys.argv[1])
