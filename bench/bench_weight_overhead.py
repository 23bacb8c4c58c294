"""What lamina's weight classes (`engine/weight.py`) cost per op against a plain `nn.Parameter`.

    python bench/bench_weight_overhead.py

A `TrainableWeight` is an `nn.Parameter` subclass with Keras's variable API. It overrides no
`__torch_function__`, so ops never call back into Python, but torch's argument parser still looks
each subclass argument's `__torch_function__` up, and CPython looks a subclass instance's
attributes up more slowly. This prints, for each kind of weight, one thread, the best of five
repeats: `F.linear(x, kernel, bias)`, the same with its backward, an attribute read (`w.grad`),
and a fused Adam step over 6 weights.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from lamina.engine.weight import TrainableWeight


def best_us(fn, number: int) -> float:
    """The best of five timings of `number` calls, in microseconds per call."""
    for _ in range(number // 10):
        fn()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number * 1e6)
    return min(times)


def measure(kind: type) -> dict[str, float]:
    """The four timings for weights of class `kind`."""
    torch.manual_seed(0)
    kernel, bias = kind(torch.randn(8, 16)), kind(torch.randn(8))
    x = torch.randn(32, 16)

    def forward_backward():
        F.linear(x, kernel, bias).sum().backward()

    weights = [kind(torch.randn(16, 16)) for _ in range(6)]
    for w in weights:
        w.grad = torch.randn_like(w)
    adam = torch.optim.Adam(weights, lr=1e-3, fused=True)
    return {
        "linear": best_us(lambda: F.linear(x, kernel, bias), 20000),
        "linear + backward": best_us(forward_backward, 5000),
        "w.grad": best_us(lambda: kernel.grad, 200000),
        "fused Adam, 6 weights": best_us(adam.step, 5000),
    }


def main() -> None:
    torch.set_num_threads(1)
    rows = {kind.__name__: measure(kind) for kind in (nn.Parameter, TrainableWeight)}
    names = list(next(iter(rows.values())))
    print(f"{'us per call':24s}" + "".join(f"{kind:>18s}" for kind in rows))
    for name in names:
        print(f"{name:24s}" + "".join(f"{row[name]:18.3f}" for row in rows.values()))


if __name__ == "__main__":
    main()
