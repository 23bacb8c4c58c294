"""Training and predict speed: lamina against a hand-written PyTorch loop and Keras 3 (torch).

    python bench/bench_training.py                    # every CPU stack, cnn and mlp, one table
    python bench/bench_training.py --workloads mlp --epochs 10
    python bench/bench_training.py --workloads predict --stacks torch,torch+heap,lamina,keras
    python bench/bench_training.py --device cuda      # the GPU workloads of issue 13 (GPU sizes)
    python bench/bench_training.py --size tiny --workloads resnet,lstm --epochs 1   # a smoke test

Workloads (identical NumPy data in every stack, fixed seeds; n and batch per `--size`, see SIZES):
  cnn  the seeds' CIFAR-style CNN (Conv32-BN-Pool-Dropout, Conv64-BN-Pool-Dropout, Dense128,
       Dense10), synthetic learnable 32x32x3 images, Adam, sparse CE, accuracy;
  resnet  a CIFAR ResNet: a Conv64-BN-ReLU stem, 3 stages x 2 basic blocks (conv3x3-BN-ReLU-
       conv3x3-BN plus the shortcut, a 1x1 conv + BN when the shape changes, stride 2 at stages 2
       and 3), 64-128-256 channels, global average pooling, Dense10; same images and loss;
  lstm  LSTM(128) -> Dense(1, sigmoid) on learnable (n, 50, 32) sequences, binary cross-entropy;
  mlp  the seeds' make_moons MLP (Dense16-Dense8-Dense1), 800 points, batch 32, Adam, BCE;
  predict  `model.predict` of the CNN on the images (a timed "epoch" is one call).
The data and models live in training_workloads.py.
Sizes: `cpu` (the default on the CPU: cnn 4096 images at batch 64), `gpu` (the default with
`--device cuda`, issue 13's: cnn and predict 50,000 images at batch 128 / 1,024, resnet and lstm
20,000 at batch 128), `tiny` (a few hundred samples, 32 images for the
resnet: to check the script itself).
Each (stack, workload) runs in its own process; one warm-up epoch, then the median of the timed
epochs. The driver prints each median and the ratio to the hand-written loop of the same precision
(`torch` for float32 stacks, `torch-bf16` for the `*-bf16` ones); with `--device cuda` also each
child's peak GPU memory (`torch.cuda.max_memory_allocated`).

Stacks: `torch` (the hand-written loop: data resident on the device, randperm per epoch,
channels_last, logits, fused Adam on CUDA, loss and accuracy summed on the device and read once
per epoch), `torch+heap` (the same loop with glibc told to keep freed blocks in the heap through
MALLOC_* variables: the setting `import lamina` makes, see src/lamina/allocator.py, so that its
share of lamina's speed is visible), `lamina` (NumPy arrays given to `fit` as a user gives them),
`lamina-jit` (the same Keras-API code compiled with `jit_compile=True`: the captured train step
of src/lamina/engine/captured_step.py; its compile happens in the untimed warm-up epoch), `keras`;
and bf16 variants: `torch-bf16` (the loop under `torch.autocast(device, dtype=torch.bfloat16)`),
`lamina-bf16`, `lamina-jit-bf16`, `keras-bf16` (the "mixed_bfloat16" global policy).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from training_workloads import (
    PARAMETERS,
    SIZES,
    WORKLOADS,
    keras_like_model,
    make_data,
    torch_model,
    torch_parameter_count,
    torch_predict,
    torch_train_epoch,
)

DEFAULT_EPOCHS = {"cnn": 3, "resnet": 2, "lstm": 3, "mlp": 10, "predict": 10}
STACKS = (
    "torch",
    "torch+heap",
    "torch-bf16",
    "lamina",
    "lamina-bf16",
    "lamina-jit",
    "lamina-jit-bf16",
    "keras",
    "keras-bf16",
)
DEFAULT_STACKS = {
    "cpu": "torch,torch+heap,lamina,lamina-jit,keras",
    "cuda": "torch,torch-bf16,lamina,lamina-bf16,lamina-jit,lamina-jit-bf16,keras",
}
DEFAULT_WORKLOADS = {"cpu": "cnn,mlp", "cuda": "cnn,resnet,lstm,predict"}
# What lamina's allocator.py sets with mallopt, as glibc's environment variables.
KEEP_HEAP_ENV = {"MALLOC_MMAP_THRESHOLD_": str(2**31 - 1), "MALLOC_TRIM_THRESHOLD_": str(2**31 - 1)}


# --------------------------------------------------------------------------------------------------
# The Keras-API stacks: lamina and Keras run the very same code (inside a child process)


def run_keras_api(stack: str, workload: str, n: int, batch: int, epochs: int, device):
    """(timed seconds per epoch, final accuracy) of `fit` or `predict`, timed by a callback."""
    import torch

    module_name = stack.split("-")[0]
    if module_name == "keras":
        os.environ["KERAS_BACKEND"] = "torch"
    framework = __import__(module_name)
    if module_name == "lamina":
        framework.backend.set_default_device(device)
    if stack.endswith("-bf16"):
        framework.mixed_precision.set_global_policy("mixed_bfloat16")
    x, y = make_data(workload, n)
    model = keras_like_model(framework.layers, framework, workload)
    count = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert count == PARAMETERS[workload], f"{stack} {workload}: {count} trainable parameters"
    loss = (
        "binary_crossentropy" if workload in ("mlp", "lstm") else "sparse_categorical_crossentropy"
    )
    model.compile(
        optimizer=framework.optimizers.Adam(1e-3),
        loss=loss,
        metrics=["accuracy"],
        jit_compile=True if "-jit" in stack else "auto",
    )

    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize()

    times: list[float] = []
    if workload == "predict":
        # The images resident on the device, as the hand-written loop has them (issue 13's
        # setting): otherwise every call would time one host-to-device copy of the whole set.
        inputs = torch.from_numpy(x).to(device) if device.type == "cuda" else x
        for _ in range(epochs + 1):
            synchronize()
            start = time.perf_counter()
            model.predict(inputs, batch_size=batch, verbose=0)
            times.append(time.perf_counter() - start)
        return times[1:], None

    class Timer(framework.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            synchronize()
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            synchronize()
            times.append(time.perf_counter() - self.start)

    history = model.fit(
        x, y, batch_size=batch, epochs=epochs + 1, shuffle=True, verbose=0, callbacks=[Timer()]
    )
    return times[1:], float(history.history["accuracy"][-1])


# --------------------------------------------------------------------------------------------------
# The hand-written torch loop (inside a child process)


def run_torch(stack: str, workload: str, n: int, batch: int, epochs: int, device):
    """What a PyTorch user writes by hand: tensors resident on the device, randperm per epoch,
    channels_last, logits, loss and accuracy summed on the device and read once per epoch."""
    import torch
    from torch import nn

    x_np, y_np = make_data(workload, n)
    model = torch_model(workload).to(device)
    count = torch_parameter_count(model)
    assert count == PARAMETERS[workload], f"{stack} {workload}: {count} trainable parameters"
    x = torch.from_numpy(x_np).to(device)
    y = torch.from_numpy(y_np).to(device)
    if workload in ("cnn", "resnet", "predict"):
        model = model.to(memory_format=torch.channels_last)
        x = x.permute(0, 3, 1, 2)  # an NHWC buffer seen as channels_last NCHW
    binary = workload in ("mlp", "lstm")
    loss_fn = nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss()
    bf16 = stack.endswith("-bf16")

    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize()

    times = []
    if workload == "predict":
        for _ in range(epochs + 1):
            synchronize()
            start = time.perf_counter()
            torch_predict(model, x, batch, bf16)
            times.append(time.perf_counter() - start)
        return times[1:], None
    optimizer = torch.optim.Adam(
        model.parameters(), lr=1e-3, eps=1e-7, fused=True if device.type == "cuda" else None
    )
    accuracy = None
    for _ in range(epochs + 1):
        synchronize()
        start = time.perf_counter()
        total_loss, correct = torch_train_epoch(
            model, optimizer, loss_fn, x, y, batch, binary, bf16
        )
        synchronize()
        _ = float(total_loss)  # read once per epoch, as a progress bar would
        accuracy = float(correct) / n
        times.append(time.perf_counter() - start)
    return times[1:], accuracy


def child(stack: str, workload: str, size: str, epochs: int, device_name: str) -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    device = torch.device(device_name)
    n, batch = SIZES[size][workload]
    run = run_torch if stack.startswith("torch") else run_keras_api
    times, accuracy = run(stack, workload, n, batch, epochs, device)
    if accuracy is not None:
        print(f"final accuracy {accuracy:.3f}", file=sys.stderr)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    result = {"times": times, "accuracy": accuracy, "peak_gpu_bytes": peak}
    print("RESULT " + json.dumps({"stack": stack, "workload": workload, **result}))


# --------------------------------------------------------------------------------------------------
# The driver


def available(stack: str) -> bool:
    if not stack.startswith("keras"):
        return True
    return (
        subprocess.run(
            [sys.executable, "-c", "import keras"],
            capture_output=True,
            env={**os.environ, "KERAS_BACKEND": "torch"},
        ).returncode
        == 0
    )


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--size", choices=tuple(SIZES), help="data sizes (default gpu with cuda, else cpu)"
    )
    parser.add_argument("--workloads", help="default cnn,mlp (cpu); cnn,resnet,lstm,predict (cuda)")
    parser.add_argument("--stacks", help=f"default {DEFAULT_STACKS['cpu']} (cpu)")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="timed epochs (default cnn 3, resnet 2, lstm 3, mlp 10, predict 10 calls)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every child, alternating stacks"
    )
    parser.add_argument("--timeout", type=float, help="seconds a child may run (default: no limit)")
    parser.add_argument("--child", nargs=2, metavar=("STACK", "WORKLOAD"), help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the raw results here (after every child)")
    args = parser.parse_args(argv)
    args.size = args.size or ("gpu" if args.device == "cuda" else "cpu")
    args.workloads = (args.workloads or DEFAULT_WORKLOADS[args.device]).split(",")
    args.stacks = (args.stacks or DEFAULT_STACKS[args.device]).split(",")
    for kind, names, known in (
        ("workload", args.workloads, WORKLOADS),
        ("stack", args.stacks, STACKS),
    ):
        unknown = [name for name in names if name not in known]
        if unknown:
            parser.error(f"unknown {kind} {', '.join(unknown)}; choose from {', '.join(known)}")
    if args.device == "cuda" and not args.child:
        import torch

        if not torch.cuda.is_available():
            parser.error(
                f"--device cuda, but torch {torch.__version__} sees no CUDA device "
                "(torch.cuda.is_available() is False): run on a GPU machine or use --device cpu"
            )
    return args


def run_child(args, stack: str, workload: str, env: dict) -> dict | None:
    """One (stack, workload) in its own process: its RESULT, or None (the failure on stderr)."""
    command = [sys.executable, __file__, "--child", stack, workload]
    command += ["--device", args.device, "--size", args.size]
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    child_env = {**env, **KEEP_HEAP_ENV} if stack == "torch+heap" else env
    if args.device == "cpu":
        child_env = {**child_env, "CUDA_VISIBLE_DEVICES": ""}  # Keras would take a GPU if any
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=child_env, timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        print(f"{stack}/{workload} ran past --timeout {args.timeout:g} s", file=sys.stderr)
        return None
    line = next((out for out in done.stdout.splitlines() if out.startswith("RESULT ")), None)
    if line is None:
        print(f"{stack}/{workload} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(line[7:])


def keep(results: dict, result: dict) -> None:
    """Add a child's RESULT to the run's results (its times to those of earlier rounds)."""
    kept = results.setdefault((result["stack"], result["workload"]), {"times": []})
    kept["times"] += result["times"]
    kept["accuracy"] = result["accuracy"]
    peaks = [kept.get("peak_gpu_bytes"), result["peak_gpu_bytes"]]
    kept["peak_gpu_bytes"] = max((p for p in peaks if p is not None), default=None)


def baseline_of(stack: str) -> str:
    """The hand-written loop a stack is compared with: the one of the same precision."""
    return "torch-bf16" if stack.endswith("-bf16") else "torch"


def table_row(args, width: int, stack: str, workload: str, results: dict) -> str:
    median = statistics.median(results[stack, workload]["times"])
    base = results.get((baseline_of(stack), workload))
    ratio = median / statistics.median(base["times"]) if base else float("nan")
    row = f"{workload:<8} {stack:<{width}} {median:>15.4f} {ratio:>8.2f}x"
    if args.device == "cuda":
        row += f" {results[stack, workload]['peak_gpu_bytes'] / 2**30:>9.2f}"
    return row


def print_table(args, stacks: list[str], results: dict) -> None:
    width = max([10, *map(len, stacks)])
    header = f"{'workload':<8} {'stack':<{width}} {'median s/epoch':>15} {'vs torch':>9}"
    print(header + (f" {'peak GiB':>9}" if args.device == "cuda" else ""))
    for workload in args.workloads:
        for stack in stacks:
            if (stack, workload) in results:
                print(table_row(args, width, stack, workload, results))


def main(argv=None) -> None:
    args = parse_arguments(argv)
    if args.child:
        stack, workload = args.child
        epochs = args.epochs or DEFAULT_EPOCHS[workload]
        child(stack, workload, args.size, epochs, args.device)
        return

    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    stacks = [s for s in args.stacks if available(s)]
    width = max([10, *map(len, stacks)])
    results: dict[tuple[str, str], dict] = {}
    # `timeout` (bench/gpu_check.sh) ends a run with SIGTERM: what ran is still printed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        for _ in range(args.rounds):
            for workload in args.workloads:
                for stack in stacks:
                    start = time.perf_counter()
                    result = run_child(args, stack, workload, env)
                    if result is None:
                        continue
                    keep(results, result)
                    row = table_row(args, width, stack, workload, results)
                    seconds = time.perf_counter() - start
                    print(f"{row}  (child {seconds:.0f} s)", file=sys.stderr, flush=True)
                    if args.json:
                        run = {"device": args.device, "size": args.size, "sizes": SIZES[args.size]}
                        rows = {f"{s}/{w}": r for (s, w), r in results.items()}
                        Path(args.json).write_text(json.dumps({**run, "results": rows}, indent=1))
    finally:
        print_table(args, stacks, results)


if __name__ == "__main__":
    main()
