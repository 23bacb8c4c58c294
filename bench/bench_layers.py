"""Micro-benchmark: forward + backward of each convolutional-family layer against the same op
written directly in torch, on the same channels-last shapes.

    PYTHONPATH=src python bench/bench_layers.py [--threads 2] [--repeats 9] [--clock wall|cpu]
        [--only Conv2D,...]

For each family it prints lamina's time, torch's time and their ratio (target: <= 1.15). Both
sides get the same input (channels-last, requires_grad) and the same random cotangent; times are
the median over `repeats` rounds of the mean of `iterations` steps, the two sides interleaved
(alternating which goes first) so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from lamina import backend, layers


def _cases():
    """(family, lamina layer, torch function of (x, layer), input shape)."""

    def conv(rank):
        def direct(x, layer):
            # Hand-written torch: the channels-first view, the op, the view back; the kernel is
            # torch's view of the layer's Keras-shaped one (the same memory).
            function = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
            pad = layer.kernel_size[0] // 2
            kernel = backend.conv_kernel_from_keras(layer.kernel)
            return function(x.movedim(-1, 1), kernel, layer.bias, 1, pad).movedim(1, -1)

        return direct

    def conv_transpose(x, layer):
        kernel = backend.conv_kernel_from_keras(layer.kernel)
        return F.conv_transpose2d(x.movedim(-1, 1), kernel, layer.bias, 2, 1).movedim(1, -1)

    def depthwise(x, layer):
        kernel = backend.depthwise_kernel_from_keras(layer.kernel)
        y = F.conv2d(x.movedim(-1, 1), kernel, layer.bias, 1, 1, 1, x.shape[-1])
        return y.movedim(1, -1)

    def separable(x, layer):
        depthwise_kernel = backend.depthwise_kernel_from_keras(layer.depthwise_kernel)
        pointwise_kernel = backend.conv_kernel_from_keras(layer.pointwise_kernel)
        y = F.conv2d(x.movedim(-1, 1), depthwise_kernel, None, 1, 1, 1, x.shape[-1])
        return F.conv2d(y, pointwise_kernel, layer.bias).movedim(1, -1)

    def batch_norm(x, layer):
        y = F.batch_norm(
            x.movedim(-1, 1),
            layer.moving_mean.clone(),
            layer.moving_variance.clone(),
            layer.gamma,
            layer.beta,
            True,
            0.01,
            layer.epsilon,
        )
        return y.movedim(1, -1)

    def layer_norm(x, layer):
        return F.layer_norm(x, x.shape[-1:], layer.gamma, layer.beta, layer.epsilon)

    def group_norm(x, layer):
        return F.group_norm(x.movedim(-1, 1), 8, layer.gamma, layer.beta, layer.epsilon).movedim(
            1, -1
        )

    image = (32, 32, 32, 32)
    return [
        ("Conv1D", layers.Conv1D(64, 3, padding="same"), conv(1), (32, 256, 64)),
        ("Conv2D", layers.Conv2D(32, 3, padding="same"), conv(2), image),
        ("Conv3D", layers.Conv3D(16, 3, padding="same"), conv(3), (8, 16, 16, 16, 16)),
        (
            "Conv2DTranspose",
            layers.Conv2DTranspose(32, 4, strides=2, padding="same"),
            conv_transpose,
            (32, 16, 16, 32),
        ),
        ("DepthwiseConv2D", layers.DepthwiseConv2D(3, padding="same"), depthwise, image),
        ("SeparableConv2D", layers.SeparableConv2D(32, 3, padding="same"), separable, image),
        (
            "MaxPooling1D",
            layers.MaxPooling1D(2),
            lambda x, _: F.max_pool1d(x.movedim(-1, 1), 2).movedim(1, -1),
            (32, 256, 64),
        ),
        (
            "MaxPooling2D",
            layers.MaxPooling2D(2),
            lambda x, _: F.max_pool2d(x.movedim(-1, 1), 2).movedim(1, -1),
            image,
        ),
        (
            "AveragePooling2D",
            layers.AveragePooling2D(2),
            lambda x, _: F.avg_pool2d(x.movedim(-1, 1), 2).movedim(1, -1),
            image,
        ),
        (
            "GlobalAveragePooling2D",
            layers.GlobalAveragePooling2D(),
            lambda x, _: x.mean(dim=(1, 2)),
            image,
        ),
        ("BatchNormalization", layers.BatchNormalization(), batch_norm, image),
        ("LayerNormalization", layers.LayerNormalization(), layer_norm, (32, 128, 256)),
        ("GroupNormalization", layers.GroupNormalization(8), group_norm, image),
        (
            "UpSampling2D",
            layers.UpSampling2D(2),
            lambda x, _: F.interpolate(x.movedim(-1, 1), scale_factor=2, mode="nearest").movedim(
                1, -1
            ),
            image,
        ),
        (
            "ZeroPadding2D",
            layers.ZeroPadding2D(1),
            lambda x, _: F.pad(x.movedim(-1, 1), (1, 1, 1, 1)).movedim(1, -1),
            image,
        ),
        ("Cropping2D", layers.Cropping2D(2), lambda x, _: x[:, 2:-2, 2:-2, :], image),
    ]


def _step(function, x, cotangent):
    x.grad = None
    y = function(x)
    y.backward(cotangent)


_CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def _time(function, x, cotangent, iterations):
    start = _clock()
    for _ in range(iterations):
        _step(function, x, cotangent)
    return (_clock() - start) / iterations


def run(repeats: int, only: set[str] | None, budget_s: float = 0.15):
    rows = []
    for family, layer, direct, shape in _cases():
        if only and family not in only:
            continue
        x = torch.randn(shape, requires_grad=True)
        training = {"training": True} if family == "BatchNormalization" else {}
        out = layer(x, **training)  # builds
        cotangent = torch.randn(out.shape)
        ours = lambda x, layer=layer, training=training: layer(x, **training)  # noqa: E731
        theirs = lambda x, layer=layer, direct=direct: direct(x, layer)  # noqa: E731
        if family != "BatchNormalization":  # same numbers, or the timing compares nothing
            torch.testing.assert_close(theirs(x).detach(), ours(x).detach(), atol=1e-4, rtol=1e-4)
        for function in (ours, theirs):  # warm-up (and one-off kernel selection)
            _step(function, x, cotangent)
        once = _time(ours, x, cotangent, 1)
        iterations = max(1, int(budget_s / max(once, 1e-6)))
        lamina_times, torch_times = [], []
        for round_index in range(repeats):
            # Alternate which side goes first: on a shared machine the load drifts.
            if round_index % 2:
                lamina_times.append(_time(ours, x, cotangent, iterations))
                torch_times.append(_time(theirs, x, cotangent, iterations))
            else:
                torch_times.append(_time(theirs, x, cotangent, iterations))
                lamina_times.append(_time(ours, x, cotangent, iterations))
        lamina_ms = statistics.median(lamina_times) * 1e3
        torch_ms = statistics.median(torch_times) * 1e3
        rows.append((family, shape, lamina_ms, torch_ms, lamina_ms / torch_ms))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--only", default="")
    parser.add_argument(
        "--clock",
        choices=sorted(_CLOCK),
        default="wall",
        help="'cpu' (process time) is steadier on a shared machine; use it with --threads 1",
    )
    args = parser.parse_args()
    global _clock
    _clock = _CLOCK[args.clock]
    torch.set_num_threads(args.threads)
    only = set(args.only.split(",")) if args.only else None
    rows = run(args.repeats, only)
    print(
        f"torch {torch.__version__}, {args.threads} threads, {args.clock} clock, forward + "
        f"backward, median of {args.repeats} rounds"
    )
    print(f"| {'family':<24} | {'input shape':<20} | lamina ms | torch ms | ratio |")
    print(f"|{'-' * 26}|{'-' * 22}|-----------|----------|-------|")
    for family, shape, ours, theirs, ratio in rows:
        print(f"| {family:<24} | {str(shape):<20} | {ours:9.3f} | {theirs:8.3f} | {ratio:5.2f} |")
    worst = max(rows, key=lambda r: r[4])
    print(f"worst ratio: {worst[0]} {worst[4]:.2f} (target <= 1.15)")


if __name__ == "__main__":
    main()
