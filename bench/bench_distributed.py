"""Data-parallel scaling: samples/s of the seeds' CIFAR CNN on 1 process, DDP on 1, DDP on N.

    python bench/bench_distributed.py                   # plain, ddp x1, ddp x2 (CPU: gloo)
    python bench/bench_distributed.py --processes 1,2,4 --epochs 3

The workload is bench_training.py's `cnn` (Conv32-BN-Pool-Dropout, Conv64-BN-Pool-Dropout,
Dense128, Dense10 on 4096 synthetic 32x32x3 images, Adam, sparse CE, accuracy) with a global
batch of 64: every configuration takes the same optimizer steps. Each configuration runs in its
own launch: `plain` is `python` with no distribution; `ddp xN` is
`python -m torch.distributed.run --nproc_per_node N` (DistributedDataParallel, gloo on CPUs,
NCCL with one GPU per process when CUDA is present). One warm-up epoch, then the median of the
timed epochs; samples/s counts the global samples of an epoch.

Threads: torchrun gives each process OMP_NUM_THREADS=1; `plain` and `ddp x1` are run with the
machine's cores (BENCH_THREADS to change), so "ddp x2 vs plain" on a 2-core machine compares the
same cores used two ways.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def child(out: str, epochs: int, ddp: bool) -> None:
    """One configuration, inside its launch: time the epochs, rank 0 writes them."""
    sys.path.insert(0, str(HERE))
    from bench_training import WORKLOADS, keras_like_model, make_data

    import lamina

    if ddp:
        lamina.distribution.set_distribution(lamina.distribution.DataParallel())
    lamina.utils.set_random_seed(0)
    x, y = make_data("cnn")
    model = keras_like_model(lamina.layers, lamina, "cnn")
    model.compile(
        optimizer=lamina.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    times: list[float] = []

    class Timer(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            lamina.distribution.barrier()
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    history = model.fit(
        x,
        y,
        batch_size=WORKLOADS["cnn"]["batch"],
        epochs=epochs + 1,
        shuffle=True,
        verbose=0,
        callbacks=[Timer()],
    )
    if lamina.distribution.is_chief():
        Path(out).write_text(
            json.dumps(
                {
                    "epoch_s": times[1:],
                    "samples": len(x),
                    "accuracy": history.history["accuracy"][-1],
                    "world": lamina.distribution.world_size(),
                    "device": str(lamina.backend.default_device()),
                }
            )
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(name: str, processes: int, epochs: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    if "BENCH_THREADS" in env:
        env["OMP_NUM_THREADS"] = env["BENCH_THREADS"]
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "result.json")
        script = [str(Path(__file__).resolve()), "--child", out, "--epochs", str(epochs)]
        if name == "plain":
            command = [sys.executable, *script]
        else:
            command = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nproc_per_node",
                str(processes),
                "--master_addr",
                "127.0.0.1",
                "--master_port",
                str(_free_port()),
                *script,
                "--ddp",
            ]
            if processes == 1:  # torchrun's one-thread default would not be the plain run's
                env.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))
        subprocess.run(command, env=env, check=True, cwd=ROOT)
        return json.loads(Path(out).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,2", help="DDP world sizes, comma-separated")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs (after 1 warm-up)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--ddp", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.epochs, args.ddp)
        return
    configurations = [("plain", 1)] + [
        (f"ddp x{n}", n) for n in (int(p) for p in args.processes.split(","))
    ]
    rows = []
    for name, processes in configurations:
        result = run(name, processes, args.epochs)
        median = statistics.median(result["epoch_s"])
        rows.append((name, result, median, result["samples"] / median))
        print(
            f"{name}: {median:.3f} s/epoch, {result['samples'] / median:.0f} samples/s", flush=True
        )
    base = rows[0][3]
    print("\n| configuration | device | s/epoch | samples/s | vs plain | final accuracy |")
    print("|---|---|---:|---:|---:|---:|")
    for name, result, median, speed in rows:
        print(
            f"| {name} | {result['device']} | {median:.3f} | {speed:.0f} | {speed / base:.2f}x "
            f"| {result['accuracy']:.3f} |"
        )


if __name__ == "__main__":
    main()
