"""Control flow (Keras's `cond`, `switch`, `scan`, `while_loop`, ... in `ops`), run eagerly.

On torch these are Python control flow around the user's functions (torch records the autograd
graph through them), with Keras's argument conventions and return structures. Nested inputs
(tuples, lists, dicts of tensors) are walked with `torch.utils._pytree`.
"""

from __future__ import annotations

import builtins
import re

import torch
from torch.utils import _pytree as pytree

from lamina.ops.core import tensor


def _tensors(tree):
    return pytree.tree_map(lambda v: v if v is None else tensor(v), tree)


def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()`.

    Examples:
        >>> cond(torch.tensor(True), lambda: 1, lambda: 2)
        1
    """
    return true_fn() if bool(tensor(pred)) else false_fn()


def switch(index, branches, *operands):
    """`branches[index](*operands)`, `index` clamped to the valid range as Keras does."""
    position = builtins.min(builtins.max(int(tensor(index)), 0), len(branches) - 1)
    return branches[position](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for `i` in `[lower, upper)`; returns the final `val`."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` (at most
    `maximum_iterations` times); a single, non-tuple `loop_vars` is passed and returned as is.
    """
    single = not isinstance(loop_vars, (tuple, list))
    state = (loop_vars,) if single else tuple(loop_vars)
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and bool(tensor(cond(*state))):
        out = body(*state)
        state = (out,) if single else tuple(out)
        steps += 1
    if single:
        return state[0]
    return list(state) if isinstance(loop_vars, list) else state


def _stack(results):
    return pytree.tree_map(lambda *leaves: torch.stack([tensor(v) for v in leaves]), *results)


def map(f, xs):  # noqa: A001 - Keras's name
    """`f` applied to each slice of `xs` along its first axis, the results stacked."""
    leaves, spec = pytree.tree_flatten(_tensors(xs))
    length = leaves[0].shape[0]
    outputs = [f(pytree.tree_unflatten([leaf[i] for leaf in leaves], spec)) for i in range(length)]
    return _stack(outputs)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop `carry, y = f(carry, x)` over the slices of `xs` (or `length` times with x=None).

    Args:
        f: `(carry, x) -> (carry, y)`.
        init: the first carry.
        xs: tensors (or a nest of them) scanned along their first axis.
        length: the number of steps when `xs` is None.
        reverse: scan from the last slice to the first (the ys keep the input order).
        unroll: accepted for Keras compatibility (the loop runs eagerly).

    Returns: `(final carry, stacked ys)`.
    """
    if xs is None:
        leaves, spec, steps = [], None, int(length)
    else:
        leaves, spec = pytree.tree_flatten(_tensors(xs))
        steps = leaves[0].shape[0]
    carry, ys = init, []
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    for i in order:
        x = None if spec is None else pytree.tree_unflatten([leaf[i] for leaf in leaves], spec)
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or builtins.all(y is None for y in ys):
        return carry, None
    return carry, _stack(ys)


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive prefix scan with an associative `f` (e.g. `add`): element i combines 0..i.

    `f(a, b)` receives blocks of slices along `axis` (earlier ones first) and must work on
    them element-wise; the scan takes log2(n) calls (Hillis-Steele).
    """
    leaves, spec = pytree.tree_flatten(_tensors(elems))
    if reverse:
        leaves = [torch.flip(leaf, (axis,)) for leaf in leaves]
    n = leaves[0].shape[axis]
    offset = 1
    while offset < n:
        earlier = pytree.tree_unflatten([leaf.narrow(axis, 0, n - offset) for leaf in leaves], spec)
        later = pytree.tree_unflatten(
            [leaf.narrow(axis, offset, n - offset) for leaf in leaves], spec
        )
        combined = pytree.tree_leaves(f(earlier, later))
        leaves = [
            torch.cat([leaf.narrow(axis, 0, offset), tensor(new)], dim=axis)
            for leaf, new in zip(leaves, combined, strict=True)
        ]
        offset *= 2
    if reverse:
        leaves = [torch.flip(leaf, (axis,)) for leaf in leaves]
    return pytree.tree_unflatten(leaves, spec)


def vectorized_map(function, elements):
    """`function` over the first axis of `elements`, batched with `torch.vmap`."""
    return torch.vmap(function)(_tensors(elements))


def custom_gradient(f):
    """Decorate `f(*args) -> (output, grad_fn)` so backpropagation uses `grad_fn(upstream)`.

    Examples:
        >>> @custom_gradient
        ... def clip_gradient(x):
        ...     return x, lambda upstream: upstream.clamp(-1, 1)
    """

    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            with torch.enable_grad():
                output, grad_fn = f(*args)
            ctx.grad_fn = grad_fn
            return output.detach() if isinstance(output, torch.Tensor) else output

        @staticmethod
        def backward(ctx, *upstream):
            grads = ctx.grad_fn(*upstream)
            return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)

    def wrapped(*args):
        return _Function.apply(*[tensor(a) for a in args])

    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapped.__doc__ = f.__doc__
    return wrapped


_CORE = re.compile(r"\(([^()]*)\)")


def vectorize(pyfunc, *, excluded=None, signature=None):
    """NumPy's `vectorize`: `pyfunc` over broadcast elements (or core shapes, by `signature`).

    Args:
        pyfunc: a function of tensors.
        excluded: positions or names of arguments passed through unchanged.
        signature: e.g. `"(n),(n)->()"`: each input's core axes (trailing); the rest broadcast.
    """
    excluded = set(excluded or ())

    def vectorized(*args, **kwargs):
        mapped = [i for i in range(len(args)) if i not in excluded]
        cores = [0] * len(args)
        if signature is not None:
            inputs = signature.split("->")[0]
            dims = [len([d for d in g.split(",") if d.strip()]) for g in _CORE.findall(inputs)]
            for position, i in enumerate(mapped):
                cores[i] = dims[position]
        values = [tensor(a) if i in mapped else a for i, a in enumerate(args)]
        loop_shapes = [values[i].shape[: values[i].dim() - cores[i]] for i in mapped]
        loop = torch.broadcast_shapes(*loop_shapes)
        for i in mapped:
            core = values[i].shape[values[i].dim() - cores[i] :]
            values[i] = values[i].expand(*loop, *core).reshape(-1, *core)

        def one(*mapped_values):
            call = list(values)
            for i, v in zip(mapped, mapped_values, strict=True):
                call[i] = v
            return pyfunc(*call, **kwargs)

        out = torch.vmap(one)(*[values[i] for i in mapped])
        return pytree.tree_map(lambda o: o.reshape(*loop, *o.shape[1:]), out)

    return vectorized
