"""lamina in the shared peer harness (`../shared/peer-bench/`), stacks alternated over rounds.

    python bench/peer_rounds.py --workloads mlp,lstm --rounds 3 \
        --stacks torch,lamina,lamina-jit,keras-jax --keras-python /work/peers/bin/python

The harness's own runners time every stack on the same data and the same rules (one process per
stack and workload, a warm-up epoch, the median of the timed epochs): `torch_peer.py` is the
hand-written PyTorch loop, `keras_peer.py` runs one Keras-API program on Keras 3 or, with
`--keras-module lamina`, on lamina. On a shared 2-core machine a burst of other work can slow one
child by 1.5-2x, so the stacks take turns, round after round, and the table shows the median of
the rounds' medians and its ratio to the hand-written loop.

Stacks: `torch` (eager, channels_last for the CNN), `lamina`, `lamina-jit`
(`compile(jit_compile=True)`), `keras-jax`, `keras-torch` (Keras 3 on that backend: needs
`--keras-python`, a Python with keras and jax installed, since Keras is not lamina's dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT.parent / "shared" / "peer-bench"


def command(stack: str, workload: str, keras_python: str) -> tuple[list[str], dict]:
    """The runner's command line and extra environment for one stack."""
    if stack == "torch":
        return [sys.executable, "torch_peer.py", "--workload", workload, "--channels-last"], {}
    if stack in ("lamina", "lamina-jit"):
        jit = "true" if stack == "lamina-jit" else "false"
        arguments = ["--keras-module", "lamina", "--jit-compile", jit]
        runner = [sys.executable, "keras_peer.py", "--workload", workload, *arguments]
        return runner, {"PYTHONPATH": str(ROOT / "src")}
    backend = stack.removeprefix("keras-")
    blocked = ",".join(b for b in ("torch", "jax", "tensorflow") if b != backend)
    runner = [keras_python, "keras_peer.py", "--workload", workload, "--block-import", blocked]
    return runner, {"KERAS_BACKEND": backend}


def run(stack: str, workload: str, keras_python: str) -> float | None:
    """One child's median seconds per epoch (per call for predict), or None if it failed."""
    arguments, extra = command(stack, workload, keras_python)
    result = subprocess.run(
        arguments, cwd=HARNESS, env={**os.environ, **extra}, capture_output=True, text=True
    )
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))["median_s"]
    print(f"  {stack} {workload} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="mlp,lstm,predict,cnn")
    parser.add_argument("--stacks", default="torch,lamina,lamina-jit,keras-jax")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keras-python", default=sys.executable)
    args = parser.parse_args()
    if not HARNESS.is_dir():
        sys.exit(f"the peer harness is not at {HARNESS} (lamina's checkout beside ../shared)")
    stacks = args.stacks.split(",")
    print(f"{'workload':9} {'stack':12} {'median':>10} {'vs torch':>9}  rounds")
    for workload in args.workloads.split(","):
        times: dict[str, list[float]] = {stack: [] for stack in stacks}
        for _ in range(args.rounds):
            for stack in stacks:
                median = run(stack, workload, args.keras_python)
                if median is not None:
                    times[stack].append(median)
        reference = statistics.median(times["torch"]) if times.get("torch") else None
        for stack, values in times.items():
            if not values:
                continue
            median = statistics.median(values)
            ratio = f"{median / reference:8.2f}x" if reference else " " * 9
            rounds = ", ".join(f"{v * 1000:.1f}" for v in values)
            print(f"{workload:9} {stack:12} {median * 1000:8.2f}ms {ratio}  [{rounds}]")


if __name__ == "__main__":
    main()
