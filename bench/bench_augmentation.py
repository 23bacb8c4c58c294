"""Epoch time of the seeds' CIFAR-style CNN with and without the seeds' augmentation.

    PYTHONPATH=src python bench/bench_augmentation.py [--samples 2048] [--epochs 2] [--threads 2]
        [--clock wall|cpu] [--only none,layers,...] [--keras] [--rounds 3]

The model is seed 01's (Conv32-BN-Pool-Dropout, Conv64-BN-Pool-Dropout, Flatten, Dense128,
Dropout, Dense10) on synthetic 32x32x3 images in [0, 1], batch 64, Adam. The augmentation is seed
21's: RandomFlip("horizontal"), RandomRotation(0.1), RandomZoom(0.1), RandomBrightness(0.2,
value_range=(0, 1)), RandomContrast(0.2), fed in four ways:

    none        plain arrays, no augmentation (the reference epoch)
    layers      the augmentation layers inside the model (a)
    map         Dataset.map per image, as seed 21 writes it (b), AUTOTUNE + batch + prefetch
    map_batch   Dataset.map after batch: the same layers on whole batches (b')
    generator   ImageDataGenerator(rotation 36 deg, zoom 0.1, horizontal flip, brightness
                0.8-1.2).flow (c): its own options, the nearest it has to the layers above

With --keras the `none` and `layers` cases also run on Keras 3 (torch backend, same CNN, same
layers in the model). Each framework's cases are built in one process and their epochs timed in
turns (case A epoch, case B epoch, ...), so a slow spell of a shared machine lands on every case
alike; --rounds N repeats that process N times. The first epoch of each case (warm-up) is not
timed; the time printed is the median of all timed epochs' seconds: wall-clock, or with
`--clock cpu` the CPU seconds of the whole process (every thread: the training loop, torch's
pool and the data workers), the total work an epoch costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from training_workloads import seeds_cnn_body  # bench/ is the script's own folder

CASES = ("none", "layers", "map", "map_batch", "generator")


def run_cases(cases, framework, samples, epochs, threads, clock="wall"):
    """Build every case in this one process, then time their epochs in turns: a slow spell of a
    shared machine lands on all cases alike. Returns {case: [seconds of each timed epoch]}."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    if framework == "keras":
        os.environ["KERAS_BACKEND"] = "torch"
        import keras as api
    else:
        import lamina as api
    api.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (samples, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, samples)
    built = {case: build_case(case, api, x, y) for case in cases}
    now = time.process_time if clock == "cpu" else time.perf_counter
    times = {case: [] for case in cases}
    for epoch in range(epochs + 1):
        for case, (model, data) in built.items():
            start = now()
            model.fit(**data(), epochs=1, verbose=0)
            if epoch:  # the first epoch of each case (warm-up) is not timed
                times[case].append(now() - start)
    return times


def build_case(case, api, x, y):
    """(compiled model, a function returning fit's data arguments for one epoch)."""
    layers = api.layers

    def augmentation():
        return [
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.1),
            layers.RandomBrightness(0.2, value_range=(0, 1)),
            layers.RandomContrast(0.2),
        ]

    head = [*seeds_cnn_body(layers), layers.Dense(10, activation="softmax")]
    in_model = augmentation() if case == "layers" else []
    model = api.Sequential([layers.Input((32, 32, 3)), *in_model, *head])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    pipeline = augmentation()

    def augment(images, labels):
        for layer in pipeline:
            images = layer(images, training=True)
        return images, labels

    def data():
        if case in ("none", "layers"):
            return {"x": x, "y": y, "batch_size": 64}
        if case == "generator":
            from lamina.preprocessing.image import ImageDataGenerator

            generator = ImageDataGenerator(
                rotation_range=36, zoom_range=0.1, horizontal_flip=True, brightness_range=(0.8, 1.2)
            )
            return {"x": generator.flow(x, y, batch_size=64, seed=0)}
        from lamina.data import AUTOTUNE, Dataset

        dataset = Dataset.from_tensor_slices((x, y)).shuffle(len(x))
        if case == "map":
            dataset = dataset.map(augment, num_parallel_calls=AUTOTUNE).batch(64)
        else:
            dataset = dataset.batch(64).map(augment, num_parallel_calls=AUTOTUNE)
        return {"x": dataset.prefetch(AUTOTUNE)}

    return model, data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--keras", action="store_true")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    parser.add_argument("--framework", default="lamina", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cases:
        print(
            json.dumps(
                run_cases(
                    args.cases.split(","),
                    args.framework,
                    args.samples,
                    args.epochs,
                    args.threads,
                    args.clock,
                )
            )
        )
        return
    groups = {"lamina": args.only.split(",")}
    if args.keras:
        groups["keras"] = ["none", "layers"]
    epoch_times = {(framework, case): [] for framework, cases in groups.items() for case in cases}
    for _ in range(args.rounds):
        for framework, cases in groups.items():
            command = [
                sys.executable,
                __file__,
                "--cases",
                ",".join(cases),
                "--framework",
                framework,
                "--samples",
                str(args.samples),
                "--epochs",
                str(args.epochs),
                "--threads",
                str(args.threads),
                "--clock",
                args.clock,
            ]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            for case, times in json.loads(output.strip().splitlines()[-1]).items():
                epoch_times[(framework, case)] += times
    results = {run: statistics.median(times) for run, times in epoch_times.items()}
    print(f"{'framework':<9} {'case':<10} {args.clock + ' s':>8} {'vs none':>8}")
    for (framework, case), seconds in results.items():
        reference = results.get((framework, "none"))
        ratio = f"{seconds / reference:8.2f}" if reference else f"{'':>8}"
        print(f"{framework:<9} {case:<10} {seconds:8.2f} {ratio}")


if __name__ == "__main__":
    main()
