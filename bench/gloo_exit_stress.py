"""Launch a 2-rank gloo job many times and count the ranks that abort at exit.

Not part of the suite: a reproduction tool for the exit-time abort of a gloo rank
("terminate called without an active exception", SIGABRT) after its work is done.

    PYTHONPATH=src python bench/gloo_exit_stress.py --launches 40 --load 1

Each launch runs this file's `job` under `torchrun --nproc-per-node 2`: lamina's data-parallel
`fit` of a tiny model, then a normal interpreter exit (lamina's atexit teardown). `--load N` keeps
N busy-loop processes running meanwhile, so the ranks are descheduled at unlucky moments. Cores
(with `ulimit -c unlimited` in the calling shell) and each aborted launch's stderr stay in
`--keep`.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXIT_ABORT = "terminate called without an active exception"


def job() -> None:
    """One rank: a tiny data-parallel fit, then the ordinary end of a script."""
    import numpy as np

    import lamina
    from lamina import layers

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    _widen_windows()


def _widen_windows() -> None:
    """GLOO_STRESS_NO_BARRIER=1 drops lamina's exit barrier, which hides the window most of the
    time: the ranks reach the interpreter's end right after their last collective."""
    import torch.distributed as dist

    if os.environ.get("GLOO_STRESS_NO_BARRIER"):
        dist.monitored_barrier = lambda *args, **kwargs: None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _launch(folder: Path, src: str, extra_env: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONFAULTHANDLER="1", **extra_env)
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(_free_port()),
        __file__,
        "job",
    ]
    return subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, timeout=300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=20)
    parser.add_argument("--load", type=int, default=1, help="busy-loop processes meanwhile")
    parser.add_argument("--keep", default="/tmp/gloo_stress")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the ranks")
    parser.add_argument("--src", default=str(ROOT / "src"), help="the lamina sources to run")
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    keep = Path(args.keep)
    keep.mkdir(parents=True, exist_ok=True)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.load)]
    aborts = failures = 0
    start = time.monotonic()
    try:
        for index in range(args.launches):
            folder = keep / f"launch{index:03d}"
            folder.mkdir(exist_ok=True)
            done = _launch(folder, args.src, extra_env)
            aborted = EXIT_ABORT in done.stderr or "SIGABRT" in done.stderr
            aborts += aborted
            failures += done.returncode != 0 and not aborted
            if done.returncode != 0:
                (folder / "stderr.txt").write_text(done.stderr)
            print(f"launch {index}: rc={done.returncode} abort={aborted}", flush=True)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    print(
        f"{args.launches} launches of {args.src}, load {args.load}, env {extra_env}: "
        f"{aborts} aborts, {failures} other failures, {time.monotonic() - start:.0f} s"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["job"]:
        job()
    else:
        main()
