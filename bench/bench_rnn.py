"""Epoch time of the seeds' LSTM workloads: lamina vs a hand-written torch.nn.LSTM loop vs Keras 3
on its torch backend.

    PYTHONPATH=src python bench/bench_rnn.py [--epochs 6] [--rounds 3] [--threads 2]
        [--only lstm,stacked] [--stacks lamina,torch,keras]

Workloads (the data of ../shared/peer-bench/common.py `lstm`: x (1000, 10, 5) float32, a learnable
0/1 label; batch 32, Adam(1e-3), binary cross-entropy, shuffled every epoch):

    lstm      LSTM(64) -> Dense(32, relu) -> Dropout(0.3) -> Dense(1, sigmoid)   (seed 02 / W3)
    stacked   LSTM(64, return_sequences=True) -> LSTM(64) -> the same head

Each (stack, workload) runs in its own process; the first epoch is a warm-up, the figure is the
median wall-clock seconds of the other epochs. Rounds interleave the stacks so that all of them
see the same machine load; the table gives the median over rounds and lamina's ratio to the
hand-written torch loop (target <= 1.2) and to Keras.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = ("lstm", "stacked")
STACKS = ("lamina", "torch", "keras")


def make_data():
    import numpy as np

    rng = np.random.RandomState(7)  # peer-bench common.make_data("lstm")
    x = rng.randn(1000, 10, 5).astype(np.float32)
    y = (x[:, :, 0].mean(axis=1) + 0.3 * x[:, -1, 1] > 0).astype(np.float32)
    return x, y.reshape(-1, 1)


def run_keras_like(api, workload, epochs):
    layers = api.layers
    api.utils.set_random_seed(0)
    recurrent = [layers.LSTM(64)]
    if workload == "stacked":
        recurrent = [layers.LSTM(64, return_sequences=True), layers.LSTM(64)]
    model = api.Sequential(
        [
            api.Input(shape=(10, 5)),
            *recurrent,
            layers.Dense(32, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=api.optimizers.Adam(1e-3), loss="binary_crossentropy")
    times = []

    class EpochTimer(api.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    x, y = make_data()
    history = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[EpochTimer()])
    return times, float(history.history["loss"][-1])


def run_torch(workload, epochs):
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(
                5, 64, batch_first=True, num_layers=2 if workload == "stacked" else 1
            )
            self.head = nn.Sequential(
                nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 1), nn.Sigmoid()
            )

        def forward(self, inputs):
            _, (hidden, _) = self.lstm(inputs)
            return self.head(hidden[-1])

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.BCELoss()
    x_np, y_np = make_data()
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    times, loss = [], None
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x))
        total = torch.zeros(())
        for begin in range(0, len(x), 32):
            index = order[begin : begin + 32]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            total += loss.detach()
        loss = float(total) / -(-len(x) // 32)
        times.append(time.perf_counter() - start)
    return times, loss


def child(stack, workload, epochs, threads):
    import torch

    torch.set_num_threads(threads)
    if stack == "torch":
        times, loss = run_torch(workload, epochs)
    elif stack == "keras":
        os.environ["KERAS_BACKEND"] = "torch"
        import keras

        times, loss = run_keras_like(keras, workload, epochs)
    else:
        import lamina

        times, loss = run_keras_like(lamina, workload, epochs)
    print("RESULT " + json.dumps({"epoch_s": statistics.median(times[1:]), "loss": loss}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--stacks", default=",".join(STACKS))
    parser.add_argument("--child", nargs=2, metavar=("STACK", "WORKLOAD"))
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.epochs, args.threads)
        return
    stacks = args.stacks.split(",")
    results = {}
    for workload in args.only.split(","):
        for _ in range(args.rounds):
            for stack in stacks:
                output = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        stack,
                        workload,
                        "--epochs",
                        str(args.epochs),
                        "--threads",
                        str(args.threads),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                line = next(li for li in output.splitlines() if li.startswith("RESULT "))
                results.setdefault((workload, stack), []).append(json.loads(line[7:]))
    print(f"| workload | {' | '.join(stacks)} | lamina / torch | lamina / keras |")
    print("|---" * (len(stacks) + 3) + "|")
    for workload in args.only.split(","):
        medians = {
            s: statistics.median(r["epoch_s"] for r in results[(workload, s)]) for s in stacks
        }
        cells = " | ".join(f"{medians[s] * 1e3:.1f} ms" for s in stacks)
        ratio_torch = medians["lamina"] / medians["torch"] if "torch" in medians else float("nan")
        ratio_keras = medians["lamina"] / medians["keras"] if "keras" in medians else float("nan")
        print(f"| {workload} | {cells} | {ratio_torch:.2f}x | {ratio_keras:.2f}x |")


if __name__ == "__main__":
    main()
