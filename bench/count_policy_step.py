"""Host work of one `train_step` under each dtype policy: aten ops and Python calls.

    PYTHONPATH=src python bench/count_policy_step.py
    PYTHONPATH=src python bench/count_policy_step.py --policies mixed_bfloat16 --workloads resnet
    PYTHONPATH=src python bench/count_policy_step.py --time     # also CPU us per step

The models are bench_host_overhead.py's tiny cnn and ResNet (the GPU workloads' layer graphs at
tiny widths, batch 4), built under the policy and trained by `train_step` with Adam on the CPU,
where bfloat16 autocast runs. On a GPU every aten op is a kernel launch and every Python call is
host time paid before the device sees the step, so these counts are the host work a mixed
precision GPU step pays, measured deterministically. Each (policy, workload) runs in its own
process: a mixed policy, once created, marks the process (`dtype_policies.policy.mixed_in_use`).
The counts are of the third step (two warm up); BatchNormalization takes torch's fused kernel,
the CUDA path, as in bench_host_overhead.py. `--time` adds the median CPU time
(`time.process_time`, one thread) of a step over rounds of 100 steps: at these widths, host time.
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
import torch
from count_step_ops import CountOps, python_calls  # bench/ is the script's own folder

POLICIES = ("float32", "mixed_bfloat16")
WORKLOADS = ("cnn", "resnet")


def step_time(step, rounds: int = 5, steps: int = 100) -> float:
    """Median CPU microseconds of `step()` over `rounds` rounds of `steps` calls."""
    per_round = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(steps):
            step()
        per_round.append((time.process_time() - start) / steps * 1e6)
    return statistics.median(per_round)


def child(policy: str, workload: str, timed: bool) -> dict:
    torch.set_num_threads(1)
    import bench_host_overhead

    import lamina
    from lamina.layers import normalization

    normalization._fused_kernel_is_accurate = lambda inputs, axis: True
    lamina.mixed_precision.set_global_policy(policy)
    model = bench_host_overhead.lamina_model(workload)
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    x, y = bench_host_overhead.make_data(workload)
    batch = (torch.as_tensor(x[:4]), torch.as_tensor(np.asarray(y[:4])))
    model.train_step(batch)
    model.train_step(batch)
    calls = python_calls(lambda: model.train_step(batch))
    with CountOps() as counted:
        model.train_step(batch)
    us = step_time(lambda: model.train_step(batch)) if timed else None
    return {
        "policy": policy,
        "workload": workload,
        "aten_ops": sum(counted.counts.values()),
        "permutes": counted.counts["permute"],
        "python_calls": calls,
        "us_per_step": us,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--time", action="store_true", help="also time 5 x 100 steps")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(*args.child, args.time)))
        return
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    header = f"{'workload':<9}{'policy':<16}{'aten ops':>9}{'permutes':>9}{'py calls':>9}"
    print(header + (f"{'us/step':>9}" if args.time else ""))
    for workload in args.workloads.split(","):
        for policy in args.policies.split(","):
            command = [sys.executable, __file__, "--child", policy, workload]
            if args.time:
                command.append("--time")
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            line = next((s for s in done.stdout.splitlines() if s.startswith("RESULT ")), None)
            if line is None:
                print(f"{workload}/{policy} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            r = json.loads(line[len("RESULT ") :])
            timed = f"{r['us_per_step']:>9.0f}" if args.time else ""
            print(
                f"{workload:<9}{policy:<16}{r['aten_ops']:>9}{r['permutes']:>9}"
                f"{r['python_calls']:>9}{timed}"
            )


if __name__ == "__main__":
    main()
