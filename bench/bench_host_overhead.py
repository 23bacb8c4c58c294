"""Host time per training step: the GPU workloads' layer structure at tiny widths, on the CPU.

    python bench/bench_host_overhead.py                       # cnn, resnet, lstm, predict
    python bench/bench_host_overhead.py --workloads resnet --rounds 5
    python bench/bench_host_overhead.py --cpu-batchnorm       # lamina's CPU BatchNorm path

On a GPU, issue 13's workloads are bound by host work: the Python, dispatch and kernel launches of
every op, paid before the device sees the step. No GPU is needed to measure that part: the same
layer graphs at tiny widths (4x4 images, 2-8 channels; LSTM(4) over 5 steps; batch 4) leave the
kernels next to no work, so a step's CPU time is its host time. Each stack runs in its own
process on one thread and is timed with `time.process_time` (steadier than wall time on a shared
machine); the figure is the median over epochs of 200 steps after a warm-up epoch, in
microseconds per step (per batch for predict).

Stacks: `torch`, the hand-written loop of bench_training.py (channels_last, fused Adam, logits,
loss and accuracy summed on the device); `lamina`, `fit` on NumPy arrays as a user gives them
(`predict` for the predict workload).

lamina's CPU BatchNormalization takes an accurate column-sum path that a CUDA device does not
(layers/batch_statistics.py). By default this script makes lamina take torch's fused kernel, the
CUDA path, so the figure is the one a GPU's host pays; `--cpu-batchnorm` keeps the CPU path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import training_workloads  # bench/ is the script's own folder
from training_workloads import keras_like_model, torch_predict, torch_train_epoch

WORKLOADS = ("cnn", "resnet", "lstm", "predict")
STACKS = ("torch", "lamina")
BATCH, STEPS, EPOCHS = 4, 200, 6
# bench_training.py's models (training_workloads.py) at tiny widths: the ResNet's channels at 1/32.
TINY = training_workloads.Widths(
    side=4,
    cnn=(2, 2, 4),
    resnet_stem=2,
    resnet_blocks=((2, 1), (2, 1), (4, 2), (4, 1), (8, 2), (8, 1)),
    lstm=(5, 3, 4),
)


def make_data(workload: str):
    rng = np.random.default_rng(0)
    n = BATCH * STEPS
    if workload == "lstm":
        steps, features, _ = TINY.lstm
        x = rng.standard_normal((n, steps, features), dtype=np.float32)
        return x, rng.integers(0, 2, (n, 1)).astype(np.float32)
    x = rng.standard_normal((n, TINY.side, TINY.side, 3), dtype=np.float32)
    return x, rng.integers(0, 10, n)


def lamina_model(workload: str):
    import lamina

    return keras_like_model(lamina.layers, lamina, workload, TINY)


def torch_model(workload: str):
    return training_workloads.torch_model(workload, TINY)


def run_torch(workload: str) -> list[float]:
    """Seconds of CPU time per epoch (per predict call) of the hand-written loop."""
    import torch

    x_np, y_np = make_data(workload)
    model = torch_model(workload)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    if workload != "lstm":
        model = model.to(memory_format=torch.channels_last)
        x = x.permute(0, 3, 1, 2)
    times = []
    if workload == "predict":
        for _ in range(EPOCHS):
            start = time.process_time()
            torch_predict(model, x, BATCH)
            times.append(time.process_time() - start)
        return times
    binary = workload == "lstm"
    loss_fn = torch.nn.BCEWithLogitsLoss() if binary else torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, eps=1e-7, fused=True)
    for _ in range(EPOCHS):
        start = time.process_time()
        total_loss, _ = torch_train_epoch(model, optimizer, loss_fn, x, y, BATCH, binary)
        float(total_loss)
        times.append(time.process_time() - start)
    return times


def run_lamina(workload: str, cpu_batchnorm: bool) -> list[float]:
    import lamina

    if not cpu_batchnorm:  # take the fused kernel, as on CUDA (see the module's docstring)
        from lamina.layers import normalization

        normalization._fused_kernel_is_accurate = lambda inputs, axis: True
    x, y = make_data(workload)
    model = lamina_model(workload)
    times = []
    if workload == "predict":
        for _ in range(EPOCHS):
            start = time.process_time()
            model.predict(x, batch_size=BATCH, verbose=0)
            times.append(time.process_time() - start)
        return times
    model.compile(
        optimizer=lamina.optimizers.Adam(1e-3),
        loss="binary_crossentropy" if workload == "lstm" else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    class Timer(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.process_time() - self.start)

    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, callbacks=[Timer()])
    return times


def child(stack: str, workload: str, cpu_batchnorm: bool) -> None:
    import torch

    torch.set_num_threads(1)
    times = run_torch(workload) if stack == "torch" else run_lamina(workload, cpu_batchnorm)
    per_step = [t / STEPS * 1e6 for t in times[1:]]  # the first epoch warms up
    print("RESULT " + json.dumps({"stack": stack, "workload": workload, "us": per_step}))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of every stack")
    parser.add_argument("--cpu-batchnorm", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, args.cpu_batchnorm)
        return
    workloads = args.workloads.split(",")
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    env["CUDA_VISIBLE_DEVICES"] = ""
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for workload in workloads:
            for stack in STACKS:
                command = [sys.executable, __file__, "--child", stack, workload]
                if args.cpu_batchnorm:
                    command.append("--cpu-batchnorm")
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                line = next((s for s in done.stdout.splitlines() if s.startswith("RESULT ")), None)
                if line is None:
                    print(f"{stack}/{workload} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                    continue
                results.setdefault((stack, workload), []).extend(json.loads(line[7:])["us"])
    print(f"{'workload':<9} {'torch us/step':>14} {'lamina us/step':>15} {'ratio':>7}")
    for workload in workloads:
        if ("torch", workload) not in results or ("lamina", workload) not in results:
            continue
        mine = statistics.median(results["lamina", workload])
        theirs = statistics.median(results["torch", workload])
        print(f"{workload:<9} {theirs:>14.1f} {mine:>15.1f} {mine / theirs:>6.2f}x")


if __name__ == "__main__":
    main()
