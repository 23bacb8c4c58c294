"""BatchNormalization in training mode on channels-last CPU tensors: accuracy and speed.

    PYTHONPATH=src python bench/bench_batchnorm.py [--threads 2] [--rounds 15]

Accuracy: the largest error against float64 of the output and of the input, gamma and beta
gradients, on a (16, 32, 32, 32) post-ReLU batch with a random cotangent, for torch's fused
channels-last kernel (what lamina used before issue 15), torch's channels-first kernel on a
contiguous copy, and lamina's layer.
Speed: forward + backward of the layer, before (torch's channels-last kernel plus lamina's
moving-statistics update) and after (lamina's layer), interleaved round by round (alternating which
goes first) so both see the same machine load; the best and the median round are printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lamina import layers
from lamina.engine import moving_statistics

EPSILON = 1e-3


def torch_kernel(x, gamma, beta, channels_first=False):
    view = x.movedim(-1, 1)
    if channels_first:
        view = view.contiguous()
    y, mean, inverse_std = torch.native_batch_norm(
        view, gamma, beta, None, None, True, 0.0, EPSILON
    )
    return y.movedim(1, -1), mean, inverse_std


def make_layer(channels, shape):
    layer = layers.BatchNormalization()
    layer(torch.zeros(shape))
    generator = torch.Generator().manual_seed(1)
    gamma = 1 + 0.1 * torch.randn(channels, generator=generator)
    beta = 0.1 * torch.randn(channels, generator=generator)
    layer.set_weights([gamma.numpy(), beta.numpy(), *layer.get_weights()[2:]])
    return layer


def accuracy():
    shape = (16, 32, 32, 32)
    generator = torch.Generator().manual_seed(0)
    x = torch.relu(torch.randn(shape, generator=generator))
    cotangent = torch.randn(shape, generator=generator)
    layer = make_layer(shape[-1], shape)

    def run(function, dtype):
        inputs = x.to(dtype).clone().requires_grad_()
        gamma = layer.gamma.detach().to(dtype).requires_grad_()
        beta = layer.beta.detach().to(dtype).requires_grad_()
        function(inputs, gamma, beta).backward(cotangent.to(dtype))
        return [inputs.grad, gamma.grad, beta.grad]

    def float64(inputs, gamma, beta):
        mean = inputs.mean((0, 1, 2))
        variance = ((inputs - mean) ** 2).mean((0, 1, 2))
        return (inputs - mean) / torch.sqrt(variance + EPSILON) * gamma + beta

    def with_outputs(function):
        def wrapped(inputs, gamma, beta):
            y = function(inputs, gamma, beta)
            outputs.append(y.detach().double())
            return y

        outputs = []
        return wrapped, outputs

    def lamina_run(dtype):
        inputs = x.to(dtype).clone().requires_grad_()
        y = layer(inputs, training=True)
        y.backward(cotangent.to(dtype))
        grads = [inputs.grad, layer.gamma.grad, layer.beta.grad]
        return [y.detach().double(), *[g.double() for g in grads]]

    reference, reference_out = with_outputs(float64)
    grads = run(reference, torch.float64)
    truth = [reference_out[0], *[g.double() for g in grads]]
    rows = {}
    for name, function in [
        ("torch channels-last kernel (before)", lambda a, g, b: torch_kernel(a, g, b)[0]),
        ("torch channels-first kernel", lambda a, g, b: torch_kernel(a, g, b, True)[0]),
    ]:
        wrapped, outputs = with_outputs(function)
        grads = run(wrapped, torch.float32)
        rows[name] = [outputs[0], *[g.double() for g in grads]]
    layer.gamma.grad = layer.beta.grad = None
    rows["lamina BatchNormalization (after)"] = lamina_run(torch.float32)
    print(f"accuracy vs float64, input {shape} post-ReLU, max abs error")
    print(f"  {'':38s} {'output':>9s} {'d input':>9s} {'d gamma':>9s} {'d beta':>9s}")
    for name, values in rows.items():
        errors = [(v - t).abs().max().item() for v, t in zip(values, truth, strict=True)]
        print(f"  {name:38s} " + " ".join(f"{e:9.1e}" for e in errors))


def speed(shape, rounds):
    generator = torch.Generator().manual_seed(0)
    x = torch.relu(torch.randn(shape, generator=generator)).requires_grad_()
    cotangent = torch.randn(shape, generator=generator)
    layer = make_layer(shape[-1], shape)

    def before():
        y, mean, inverse_std = torch_kernel(x, layer.gamma, layer.beta)
        moving_statistics.update(layer, mean, inverse_std=inverse_std)
        y.backward(cotangent)

    def after():
        layer(x, training=True).backward(cotangent)

    iterations = max(2, int(4e6 / x.numel()))
    times = {"before": [], "after": []}
    cases = [("before", before), ("after", after)]
    for round_index in range(rounds):
        for name, function in cases if round_index % 2 else cases[::-1]:
            function()  # warm
            start = time.perf_counter()
            for _ in range(iterations):
                function()
            times[name].append((time.perf_counter() - start) / iterations * 1e3)
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"  {str(shape):18s} before {best['before']:7.3f} ms (median {median['before']:7.3f})"
        f"   after {best['after']:7.3f} ms (median {median['after']:7.3f})"
        f"   after/before best {best['after'] / best['before']:.2f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    accuracy()
    print(f"forward + backward, {args.threads} threads, {args.rounds} interleaved rounds")
    for shape in [(64, 16, 16, 32), (128, 32, 32, 32), (64, 32, 32, 32), (64, 16, 16, 64)]:
        speed(shape, args.rounds)


if __name__ == "__main__":
    main()
