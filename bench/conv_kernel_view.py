r"""What a convolution's Keras-shaped kernel costs per training step, and what storing it in
torch's layout would save (issue 13, the conv kernel's layout).

    PYTHONPATH=src python bench/conv_kernel_view.py     # counts and copies, cnn and resnet
    PYTHONPATH=src valgrind --tool=callgrind --instr-atstart=no \
        $(python -c "import sys; print(sys.executable)") \
        bench/conv_kernel_view.py --callgrind keras resnet      # then torch; cnn

(valgrind on the interpreter itself: a pyenv shim would hide it.)

A Conv kernel is a Keras-shaped Parameter over memory in torch's order (`spatial.kernel_weight`):
each call convolves with `permute(...)`, a view, and its backward permutes the gradient back. No
kernel is copied for it (the copies listed are torch's own, which the hand-written loop pays as
well: its CPU convolution backward converts a channels_last kernel's gradient, its CPU fused Adam
copies a non-contiguous gradient); what the view costs is host time, two more autograd nodes per
convolution, and no kernel launch on a GPU (cuDNN takes the channels_last view as it is, the
gradient comes back in the kernel's strides, CUDA's fused Adam walks any dense layout: read from
torch's source, not run on a GPU).

`torch` is a stand-in for the other design (each Conv's registered kernel swapped for a
torch-layout Parameter over the same memory, convolved without the view). It trains the same
numbers to the bit, but its weights API is not Keras's: a timing stand-in only. Per train step of
bench_host_overhead's tiny workloads (batch 4, the fused BatchNorm a GPU takes) this prints the
aten ops, the permutes, the Python and C calls and the 4-D copies the profiler sees (by the op
they run under) for lamina, the stand-in and the hand-written loop, and whether the stand-in ends
5 seeded steps with lamina's losses and weights. `--callgrind` runs 5 steps with callgrind's
instrumentation on: its `Collected` count is theirs, steady on a shared machine where wall time
is not.

Measured 2026-12-06 (torch 2.13 CPU): the ResNet's step is 236 aten ops (30 of them the kernels'
permutes) and 20.34 M instructions, the stand-in's 206 ops and 19.48 M (-4.2 %); the CNN's 94
ops (4 permutes) and 4.44 M, the stand-in's 90 and 4.32 M (-2.6 %). Losses and weights equal to
the bit. The whole saving needs `weights`, `v.value.grad`, `optimizer.variables`, files,
constraints and LoRA to present Keras's shape over a torch-shaped Parameter: BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import types

import bench_host_overhead  # bench/ is the script's own folder
import torch
from count_step_ops import CountOps
from torch.profiler import profile

import lamina
from lamina import backend
from lamina.layers import convolutional, normalization

STEPS = 5


def _torch_layout_convolve(self, x):
    """The stand-in's call: its registered kernel is already torch's (out, in/groups, *k)."""
    x, padding = self._pad(x)
    return convolutional.CONV_FUNCTIONS[self.rank](
        x,
        self._parameters["kernel"],
        self._parameters.get("bias"),
        self._torch_strides,
        padding,
        self._torch_dilation,
        self.groups,
    )


def lamina_step(workload: str, layout: str):
    """A compiled tiny model's `train_step` on one batch, with kernels in `layout`."""
    torch.manual_seed(0)
    x, y = bench_host_overhead.make_data(workload)
    model = bench_host_overhead.lamina_model(workload)
    if layout == "torch":
        for layer in model.layers:
            if isinstance(layer, convolutional._Conv) and layer.rank > 1:
                keras_kernel = layer._parameters["kernel"].detach()
                torch_kernel = keras_kernel.permute(layer._kernel_from_keras)  # same memory
                layer._parameters["kernel"] = torch.nn.Parameter(torch_kernel)
                layer._convolve = types.MethodType(_torch_layout_convolve, layer)
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    batch = (torch.as_tensor(x[:4]), torch.as_tensor(y[:4]))
    return model, lambda: model.train_step(batch)


def torch_step(workload: str):
    """The hand-written loop's step (channels_last, fused Adam), as bench_host_overhead runs it."""
    torch.manual_seed(0)
    x, y = bench_host_overhead.make_data(workload)
    model = bench_host_overhead.torch_model(workload).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, eps=1e-7, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.as_tensor(x[:4]).permute(0, 3, 1, 2), torch.as_tensor(y[:4]).long().reshape(-1)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    return step


def _calls(step) -> collections.Counter:
    calls = collections.Counter()

    def count(frame, event, arg):
        calls[event] += 1

    sys.setprofile(count)
    step()
    sys.setprofile(None)
    return calls


def _kernel_copies(step) -> dict:
    """Copies of 4-D tensors in one step, by the op they run under (the profiler sees the
    copies inside torch's kernels, which dispatch modes don't)."""
    with profile(record_shapes=True) as recorded:
        step()
    copies = collections.Counter()
    for event in recorded.events():
        if event.name not in ("aten::clone", "aten::_to_copy"):
            continue
        if not event.input_shapes or len(event.input_shapes[0]) != 4:
            continue
        parent = event.cpu_parent
        while parent is not None and parent.name in ("aten::contiguous", "aten::to"):
            parent = parent.cpu_parent
        copies[parent.name if parent is not None else "(top level)"] += 1
    return dict(copies)


def step_profile(step) -> dict:
    """One step's aten ops, permutes, Python and C calls and 4-D copies (after a warm-up)."""
    for _ in range(3):  # the optimizer's state, the caches of the first calls
        step()
    with CountOps() as counted:
        step()
    calls = _calls(step)
    return {
        "aten ops": sum(counted.counts.values()),
        "permutes": counted.counts["permute"],
        "Python calls": calls["call"],
        "C calls": calls["c_call"],
        "4-D copies": _kernel_copies(step),
    }


def trained(workload: str, layout: str, steps: int = STEPS):
    """The losses of `steps` seeded train steps and the weights after them, in Keras's shapes."""
    model, step = lamina_step(workload, layout)
    torch.manual_seed(1)  # the same Dropout masks for every layout
    losses = [float(step()["loss"]) for _ in range(steps)]
    stand_ins = {
        id(layer._parameters["kernel"]) for layer in model.layers if "_convolve" in layer.__dict__
    }
    weights = [backend.conv_kernel_to_keras(w) if id(w) in stand_ins else w for w in model.weights]
    return losses, weights


def report(workload: str) -> None:
    print(f"{workload}:")
    steps = {
        "lamina (Keras view)": lamina_step(workload, "keras")[1],
        "lamina (torch stand-in)": lamina_step(workload, "torch")[1],
        "hand-written loop": torch_step(workload),
    }
    for name, step in steps.items():
        counts = ", ".join(f"{key} {value}" for key, value in step_profile(step).items())
        print(f"  {name:<24} {counts}")
    keras_losses, keras_weights = trained(workload, "keras")
    torch_losses, torch_weights = trained(workload, "torch")
    same_weights = all(torch.equal(a, b) for a, b in zip(keras_weights, torch_weights, strict=True))
    print(
        f"  {STEPS} seeded steps, Keras view vs torch stand-in: losses equal "
        f"{keras_losses == torch_losses}, weights equal {same_weights}"
    )


def callgrind(layout: str, workload: str) -> None:
    """STEPS steps with callgrind's instrumentation on (the run's `Collected` is their count)."""
    _, step = lamina_step(workload, layout)
    for _ in range(5):
        step()
    control = ["callgrind_control", "-i"]
    subprocess.run([*control, "on", str(os.getpid())], check=True, capture_output=True)
    for _ in range(STEPS):
        step()
    subprocess.run([*control, "off", str(os.getpid())], check=True, capture_output=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", default="cnn,resnet")
    parser.add_argument("--callgrind", nargs=2, metavar=("{keras,torch}", "WORKLOAD"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    # The fused BatchNorm kernel a CUDA device takes (see bench_host_overhead's docstring).
    normalization._fused_kernel_is_accurate = lambda inputs, axis: True
    if args.callgrind:
        layout, workload = args.callgrind
        callgrind(layout, workload)
        return
    for workload in args.workloads.split(","):
        report(workload)


if __name__ == "__main__":
    main()
