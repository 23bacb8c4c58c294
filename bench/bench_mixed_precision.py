"""Step time of the seeds' CNN under each dtype policy: float32 against mixed precision.

    python bench/bench_mixed_precision.py                      # CPU: float32, mixed_bfloat16
    python bench/bench_mixed_precision.py --device cuda \
        --policies float32,mixed_bfloat16,mixed_float16

The workload is bench_training.py's `cnn` (Conv32-BN-Pool-Dropout, Conv64-BN-Pool-Dropout,
Dense128, Dense10 on 4096 synthetic 32x32x3 images, batch 64, Adam, sparse CE, accuracy); under a
mixed policy its final softmax is a separate `Activation("softmax", dtype="float32")`, as Keras's
mixed-precision guide advises. Each policy runs in its own process (the global policy and torch's
autocast caches start clean); one warm-up epoch, then the median of the timed epochs, reported as
seconds per epoch and milliseconds per step, with the ratio to float32.
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

sys.path.insert(0, str(Path(__file__).parent))
from training_workloads import SIZES, make_data, seeds_cnn_body  # noqa: E402

N, BATCH = SIZES["cpu"]["cnn"]  # 4096 images, batch 64 (the sizes the docstring names)


def build_model(lamina, policy: str):
    layers = lamina.layers
    lamina.mixed_precision.set_global_policy(policy)
    return lamina.Sequential(
        [
            lamina.Input((32, 32, 3)),
            *seeds_cnn_body(layers),
            layers.Dense(10),
            layers.Activation("softmax", dtype="float32"),
        ]
    )


def child(policy: str, device: str, epochs: int) -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    import lamina

    lamina.backend.set_default_device(device)
    x, y = make_data("cnn", N)
    model = build_model(lamina, policy)
    model.compile(
        optimizer=lamina.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    times: list[float] = []

    class Timer(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - self.start)

    history = model.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=epochs + 1,
        shuffle=True,
        verbose=0,
        callbacks=[Timer()],
    )
    result = {
        "policy": policy,
        "times": times[1:],
        "loss": history.history["loss"],
        "accuracy": history.history["accuracy"][-1],
        "optimizer": type(model.optimizer).__name__,
    }
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up)")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.device, args.epochs)
        return
    steps = -(-N // BATCH)
    results, baseline = [], None
    print(f"cnn, {steps} steps/epoch, device {args.device}; median of {args.epochs} epochs")
    print(f"{'policy':<16}{'s/epoch':>9}{'ms/step':>9}{'x f32':>7}{'loss':>8}{'acc':>7}  optimizer")
    for policy in args.policies.split(","):
        command = [
            sys.executable,
            __file__,
            "--child",
            policy,
            "--device",
            args.device,
            "--epochs",
            str(args.epochs),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            print(f"{policy:<16} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        result = json.loads(lines[-1][len("RESULT ") :])
        median = statistics.median(result["times"])
        baseline = baseline or (median if policy == "float32" else None)
        ratio = f"{median / baseline:7.2f}" if baseline else f"{'-':>7}"
        print(
            f"{policy:<16}{median:9.2f}{1000 * median / steps:9.1f}{ratio}"
            f"{result['loss'][-1]:8.4f}{result['accuracy']:7.3f}  {result['optimizer']}"
        )
        results.append(result)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
