"""Training and predict speed: lamina against a hand-written PyTorch loop and Keras 3 (torch).

    python bench/bench_training.py                    # every stack and workload, one table
    python bench/bench_training.py --workloads mlp --epochs 10
    python bench/bench_training.py --workloads predict --stacks torch,torch+heap,lamina,keras

Workloads (identical NumPy data in every stack, fixed seeds):
  cnn  the seeds' CIFAR-style CNN (Conv32-BN-Pool-Dropout, Conv64-BN-Pool-Dropout, Dense128,
       Dense10), 4096 synthetic learnable 32x32x3 images, batch 64, Adam, sparse CE, accuracy;
  mlp  the seeds' make_moons MLP (Dense16-Dense8-Dense1), 800 points, batch 32, Adam, BCE, accuracy;
  predict  `model.predict` of the CNN on the 4096 images, batch 256 (a timed "epoch" is one call).
Each (stack, workload) runs in its own process; one warm-up epoch, then the median of the timed
epochs. The driver prints each median and the ratio to the hand-written loop.

Stacks: `torch` (the hand-written loop), `torch+heap` (the same loop with glibc told to keep freed
blocks in the heap through MALLOC_* variables: the setting `import lamina` makes, see
src/lamina/allocator.py, so that its share of lamina's speed is visible), `lamina`, `lamina-jit`
(the same Keras-API code compiled with `jit_compile=True`: the captured train step of
src/lamina/engine/captured_step.py; its compile, seconds on a CPU, happens in the untimed warm-up
epoch), `keras`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

WORKLOADS = {
    "cnn": {"n": 4096, "batch": 64},
    "mlp": {"n": 800, "batch": 32},
    "predict": {"n": 4096, "batch": 256},
}
STACKS = ("torch", "torch+heap", "lamina", "lamina-jit", "keras")
# What lamina's allocator.py sets with mallopt, as glibc's environment variables.
KEEP_HEAP_ENV = {"MALLOC_MMAP_THRESHOLD_": str(2**31 - 1), "MALLOC_TRIM_THRESHOLD_": str(2**31 - 1)}


def make_data(workload: str):
    if workload in ("cnn", "predict"):
        rng = np.random.RandomState(1234)
        n = WORKLOADS["cnn"]["n"]
        y = rng.randint(0, 10, size=n).astype(np.int64)
        templates = np.repeat(np.repeat(rng.randn(10, 4, 4, 3), 8, axis=1), 8, axis=2)
        x = rng.randn(n, 32, 32, 3) + 0.3 * templates[y]
        return x.astype(np.float32), y
    rng = np.random.RandomState(42)
    n = WORKLOADS["mlp"]["n"]
    half = n // 2
    t = np.linspace(0, np.pi, half)
    x = np.vstack(
        [np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)]
    )
    y = np.hstack([np.zeros(half), np.ones(half)])
    order = rng.permutation(n)
    x = x[order] + rng.normal(scale=0.1, size=(n, 2))
    return x.astype(np.float32), y[order].astype(np.float32).reshape(-1, 1)


# --------------------------------------------------------------------------------------------------
# The stacks (run inside a child process)


def keras_like_model(L, M, workload):
    if workload in ("cnn", "predict"):
        return M.Sequential(
            [
                L.Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(32, 32, 3)),
                L.BatchNormalization(),
                L.MaxPooling2D((2, 2)),
                L.Dropout(0.25),
                L.Conv2D(64, (3, 3), padding="same", activation="relu"),
                L.BatchNormalization(),
                L.MaxPooling2D((2, 2)),
                L.Dropout(0.25),
                L.Flatten(),
                L.Dense(128, activation="relu"),
                L.Dropout(0.5),
                L.Dense(10, activation="softmax"),
            ]
        )
    return M.Sequential(
        [
            L.Dense(16, activation="relu", input_shape=(2,)),
            L.Dense(8, activation="relu"),
            L.Dense(1, activation="sigmoid"),
        ]
    )


def run_keras_api(module_name: str, workload: str, epochs: int, jit_compile="auto") -> list[float]:
    """lamina and Keras run the very same Keras-API code; an epoch is timed by a callback."""
    if module_name == "keras":
        os.environ["KERAS_BACKEND"] = "torch"
    framework = __import__(module_name)
    x, y = make_data(workload)
    model = keras_like_model(framework.layers, framework, workload)
    loss = "binary_crossentropy" if workload == "mlp" else "sparse_categorical_crossentropy"
    model.compile(
        optimizer=framework.optimizers.Adam(1e-3),
        loss=loss,
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    times: list[float] = []
    if workload == "predict":
        for _ in range(epochs + 1):
            start = time.perf_counter()
            model.predict(x, batch_size=WORKLOADS[workload]["batch"], verbose=0)
            times.append(time.perf_counter() - start)
        return times[1:]

    class Timer(framework.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    history = model.fit(
        x,
        y,
        batch_size=WORKLOADS[workload]["batch"],
        epochs=epochs + 1,
        shuffle=True,
        verbose=0,
        callbacks=[Timer()],
    )
    print(f"final accuracy {history.history['accuracy'][-1]:.3f}", file=sys.stderr)
    return times[1:]


def run_torch(workload: str, epochs: int) -> list[float]:
    """What a PyTorch user writes by hand: tensors in memory, randperm, channels_last, logits and
    cross-entropy."""
    import torch
    from torch import nn

    x_np, y_np = make_data(workload)
    batch = WORKLOADS[workload]["batch"]
    if workload in ("cnn", "predict"):
        model = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.ReLU(),
            nn.BatchNorm2d(32, eps=1e-3, momentum=0.01),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.BatchNorm2d(64, eps=1e-3, momentum=0.01),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
            nn.Flatten(),
            nn.Linear(4096, 128),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, 10),
        ).to(memory_format=torch.channels_last)
        x = torch.from_numpy(x_np).permute(0, 3, 1, 2)  # an NHWC buffer seen as channels_last NCHW
        y = torch.from_numpy(y_np)
        loss_fn = nn.CrossEntropyLoss()
    else:
        model = nn.Sequential(
            nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1)
        )
        x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
        loss_fn = nn.BCEWithLogitsLoss()
    times = []
    n = len(x)
    if workload == "predict":
        model.eval()
        for _ in range(epochs + 1):
            start = time.perf_counter()
            with torch.no_grad():
                outputs = [
                    torch.softmax(model(x[first : first + batch]), -1)
                    for first in range(0, n, batch)
                ]
            torch.cat(outputs).numpy()
            times.append(time.perf_counter() - start)
        return times[1:]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    for _ in range(epochs + 1):
        start = time.perf_counter()
        model.train()
        permutation = torch.randperm(n)
        total_loss = torch.zeros(())
        correct = torch.zeros(())
        for first in range(0, n, batch):
            index = permutation[first : first + batch]
            xb, yb = x[index], y[index]
            optimizer.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                total_loss += loss.detach() * len(index)
                predicted = out.argmax(1) if workload == "cnn" else (out > 0).float()
                correct += (predicted == yb).sum()
        _ = float(total_loss), float(correct)  # read once per epoch, as a progress bar would
        times.append(time.perf_counter() - start)
    return times[1:]


def child(stack: str, workload: str, epochs: int) -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    if stack.startswith("torch"):
        times = run_torch(workload, epochs)
    elif stack == "lamina-jit":
        times = run_keras_api("lamina", workload, epochs, jit_compile=True)
    else:
        times = run_keras_api(stack, workload, epochs)
    print("RESULT " + json.dumps({"stack": stack, "workload": workload, "times": times}))


# --------------------------------------------------------------------------------------------------
# The driver


def available(stack: str) -> bool:
    if stack != "keras":
        return True
    return (
        subprocess.run(
            [sys.executable, "-c", "import keras"],
            capture_output=True,
            env={**os.environ, "KERAS_BACKEND": "torch"},
        ).returncode
        == 0
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", default="cnn,mlp")
    parser.add_argument("--stacks", default=",".join(STACKS))
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="timed epochs (default cnn 3, mlp 10, predict 10 calls)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every child, alternating stacks"
    )
    parser.add_argument("--child", nargs=2, metavar=("STACK", "WORKLOAD"), help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    if args.child:
        stack, workload = args.child
        child(stack, workload, args.epochs or (3 if workload == "cnn" else 10))
        return

    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    stacks = [s for s in args.stacks.split(",") if available(s)]
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for workload in args.workloads.split(","):
            for stack in stacks:
                command = [sys.executable, __file__, "--child", stack, workload]
                if args.epochs:
                    command += ["--epochs", str(args.epochs)]
                child_env = {**env, **KEEP_HEAP_ENV} if stack == "torch+heap" else env
                done = subprocess.run(command, capture_output=True, text=True, env=child_env)
                line = next(
                    (out for out in done.stdout.splitlines() if out.startswith("RESULT ")), None
                )
                if line is None:
                    print(f"{stack}/{workload} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                    continue
                results.setdefault((stack, workload), []).extend(json.loads(line[7:])["times"])
    print(f"{'workload':<8} {'stack':<10} {'median s/epoch':>15} {'vs torch':>9}")
    for workload in args.workloads.split(","):
        base = results.get(("torch", workload))
        for stack in stacks:
            times = results.get((stack, workload))
            if not times:
                continue
            median = statistics.median(times)
            ratio = median / statistics.median(base) if base else float("nan")
            print(f"{workload:<8} {stack:<10} {median:>15.4f} {ratio:>8.2f}x")
    if args.json:
        Path(args.json).write_text(
            json.dumps({f"{s}/{w}": t for (s, w), t in results.items()}, indent=1)
        )


if __name__ == "__main__":
    main()
