"""Optimizer step time: lamina's Keras-exact rules (optimizers/keras_rules.py) against torch.optim's
own RMSprop and Adagrad, on the seeds' CIFAR-style CNN parameter set.

    PYTHONPATH=src python bench/bench_optimizer_step.py            # 1 torch thread
    BENCH_THREADS=2 PYTHONPATH=src python bench/bench_optimizer_step.py

The parameters are those of bench_training.py's `cnn` model built by lamina (545,290 weights in 12
tensors, in lamina's layouts, Dropout having none); the gradients cycle through 8 fixed random
sets (one repeated gradient drives centered RMSprop's v - a^2 into subnormal numbers, which are
slow on a CPU and no real workload's). Each round times `--steps` optimizer steps of every
implementation in turn (interleaved, so machine noise hits all alike); the table gives the median
over rounds, in microseconds per step (the `.grad` assignment included, the same for all).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import lamina
from lamina import layers
from lamina.optimizers import keras_rules


def cnn_parameters() -> list[torch.Tensor]:
    model = lamina.Sequential(
        [
            layers.Input((32, 32, 3)),
            layers.Conv2D(32, (3, 3), padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    return [p for p in model.parameters() if p.requires_grad]


def contenders(lr: float):
    return {
        "RMSprop  torch.optim (for-loop)": lambda ps: torch.optim.RMSprop(
            ps, lr=lr, alpha=0.9, eps=1e-7, foreach=False
        ),
        "RMSprop  torch.optim (foreach)": lambda ps: torch.optim.RMSprop(
            ps, lr=lr, alpha=0.9, eps=1e-7, foreach=True
        ),
        "RMSprop  keras_rules": lambda ps: keras_rules.RMSprop(ps, lr=lr, rho=0.9, eps=1e-7),
        "RMSprop+momentum+centered  torch.optim (for-loop)": lambda ps: torch.optim.RMSprop(
            ps, lr=lr, alpha=0.9, eps=1e-7, momentum=0.5, centered=True, foreach=False
        ),
        "RMSprop+momentum+centered  torch.optim (foreach)": lambda ps: torch.optim.RMSprop(
            ps, lr=lr, alpha=0.9, eps=1e-7, momentum=0.5, centered=True, foreach=True
        ),
        "RMSprop+momentum+centered  keras_rules": lambda ps: keras_rules.RMSprop(
            ps, lr=lr, rho=0.9, eps=1e-7, momentum=0.5, centered=True
        ),
        "Adagrad  torch.optim (for-loop)": lambda ps: torch.optim.Adagrad(
            ps, lr=lr, initial_accumulator_value=0.1, eps=1e-7, foreach=False
        ),
        "Adagrad  torch.optim (foreach)": lambda ps: torch.optim.Adagrad(
            ps, lr=lr, initial_accumulator_value=0.1, eps=1e-7, foreach=True
        ),
        "Adagrad  keras_rules": lambda ps: keras_rules.Adagrad(ps, lr=lr, eps=1e-7),
        "Adamax  torch.optim (for-loop)": lambda ps: torch.optim.Adamax(
            ps, lr=lr, eps=1e-7, foreach=False
        ),
        "Adamax  torch.optim (foreach)": lambda ps: torch.optim.Adamax(
            ps, lr=lr, eps=1e-7, foreach=True
        ),
        "Adamax  keras_rules": lambda ps: keras_rules.Adamax(ps, lr=lr, eps=1e-7),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    template = cnn_parameters()
    generator = torch.Generator().manual_seed(0)
    gradient_sets = [
        [torch.randn(p.shape, generator=generator) * 1e-2 for p in template] for _ in range(8)
    ]
    runs = {}
    for name, make in contenders(1e-4).items():
        params = [p.detach().clone().requires_grad_() for p in template]
        for p, g in zip(params, gradient_sets[0], strict=True):
            p.grad = g
        optimizer = make(params)
        optimizer.step()  # state created outside the timing
        runs[name] = (optimizer, params, [])
    for _ in range(args.rounds):
        for optimizer, params, times in runs.values():
            start = time.perf_counter()
            for step in range(args.steps):
                for p, g in zip(params, gradient_sets[step % 8], strict=True):
                    p.grad = g
                optimizer.step()
            times.append((time.perf_counter() - start) / args.steps)
    count = sum(p.numel() for p in template)
    print(f"{count:,} weights in {len(template)} tensors, {torch.get_num_threads()} thread(s)")
    for name, (_, _, times) in runs.items():
        print(f"{name:52s} {statistics.median(times) * 1e6:9.1f} us/step")


if __name__ == "__main__":
    main()
