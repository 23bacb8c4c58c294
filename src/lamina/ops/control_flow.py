"""Control flow (Keras's `cond`, `switch`, `scan`, `while_loop`, ... in `ops`), run eagerly.

On torch these are Python control flow around the user's functions (torch records the autograd
graph through them), with Keras's argument conventions and return structures. On symbolic
`KerasTensor`s (a functional model's inputs) `cond`, `switch`, `map`, `scan`, `associative_scan`
and `vectorized_map` record a node whose output shapes come from running the functions on probe
tensors, as Keras infers them from the functions' output specs; `while_loop`'s node keeps the
shapes of its loop variables, as Keras's. Nested inputs
(tuples, lists, dicts of tensors) are walked with `torch.utils._pytree`.
"""

from __future__ import annotations

import builtins
import functools
import re

import torch
from torch.utils import _pytree as pytree

from lamina import backend, tree
from lamina.engine.symbolic import KerasTensor, OpLayer, OutputSpec, call_on_symbolic
from lamina.ops.core import symbolic_op, tensor


def _tensors(tree):
    return pytree.tree_map(lambda v: v if v is None else tensor(v), tree)


@symbolic_op("cond")
def cond(pred, true_fn, false_fn):
    """Call `true_fn()` if `pred` holds, else `false_fn()`.

    Runs eagerly: only the chosen branch is called, and its result is returned as is.

    Args:
        pred: a boolean scalar (tensor or Python bool).
        true_fn: a function of no arguments, called when `pred` is True.
        false_fn: a function of no arguments, called when `pred` is False.

    Returns:
        The result of the branch that ran.

    Example:
        >>> x = torch.tensor([1.0, -2.0])
        >>> lamina.ops.cond(x.sum() > 0, lambda: x * 2, lambda: -x)
        tensor([-1.,  2.])
    """
    if isinstance(pred, torch.Tensor) and pred.is_meta:
        # A symbolic `pred` (probed on the meta device): either branch may run, so both are
        # traced and must agree, as Keras checks its branches' output specs.
        return _agreeing_branches(true_fn(), false_fn())
    return true_fn() if bool(tensor(pred)) else false_fn()


def _agreeing_branches(true_out, false_out):
    """`true_out`, once it has `false_out`'s structure and each leaf's shape and dtype."""

    def spec(leaf):
        if leaf is None or not hasattr(leaf, "shape"):
            return leaf
        return tuple(leaf.shape), backend.dtype_name(leaf.dtype)

    true_spec, false_spec = tree.map_structure(spec, true_out), tree.map_structure(spec, false_out)
    try:
        tree.assert_same_structure(true_spec, false_spec)
        agree = tree.flatten(true_spec) == tree.flatten(false_spec)
    except (ValueError, TypeError):
        agree = False
    if not agree:
        raise ValueError(
            "cond(): true_fn and false_fn must return the same structure of tensors with the "
            f"same shapes and dtypes; true_fn gave {true_spec} and false_fn {false_spec} "
            "(shape, dtype). Make both branches return matching outputs (cast or reshape one)."
        )
    return true_out


@symbolic_op("switch")
def switch(index, branches, *operands):
    """Call `branches[index](*operands)`.

    An index out of range is clamped to the first or last branch, as Keras does.

    Args:
        index: an integer scalar (tensor or Python int).
        branches: a sequence of functions, each taking `*operands`.
        *operands: the arguments passed to the chosen branch.

    Returns:
        The result of the chosen branch.

    Example:
        >>> branches = [lambda x: x + 1, lambda x: x * 10]
        >>> lamina.ops.switch(1, branches, torch.tensor(3))
        tensor(30)
        >>> lamina.ops.switch(7, branches, torch.tensor(3))
        tensor(30)
    """
    position = builtins.min(builtins.max(int(tensor(index)), 0), len(branches) - 1)
    return branches[position](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    """Run `value = body_fun(i, value)` for `i` from `lower` up to, not including, `upper`.

    Args:
        lower: the first loop index.
        upper: the end of the loop range (not included).
        body_fun: a function `(i, value) -> new value`.
        init_val: the starting value (any structure `body_fun` accepts).

    Returns:
        The value after the last step (`init_val` if the range is empty).

    Example:
        >>> lamina.ops.fori_loop(0, 4, lambda i, total: total + i, torch.tensor(0))
        tensor(6)
    """
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` holds.

    Args:
        cond: a function of the loop variables returning a boolean scalar.
        body: a function of the loop variables returning their new values (same structure).
        loop_vars: a tuple or list of the starting values (converted to tensors, as in Keras); a
            single non-tuple value is passed to `cond` and `body` alone.
        maximum_iterations: the most steps to run (default None: no limit).

    Returns:
        The loop variables after the last step, in the structure of `loop_vars`.

    Example:
        >>> lamina.ops.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2), (0, 1))
        (tensor(3, dtype=torch.int32), tensor(8, dtype=torch.int32))
        >>> lamina.ops.while_loop(lambda x: x < 100, lambda x: x * 2, 1, maximum_iterations=3)
        tensor(8, dtype=torch.int32)
    """
    if any(isinstance(leaf, KerasTensor) for leaf in tree.flatten(loop_vars)):
        return _symbolic_while_loop(cond, body, loop_vars, maximum_iterations)
    single = not isinstance(loop_vars, (tuple, list))
    # Tensors from the start, as Keras: a body may mix the variables with ops' results.
    state = _tensors((loop_vars,) if single else tuple(loop_vars))
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and bool(tensor(cond(*state))):
        out = body(*state)
        state = (out,) if single else tuple(out)
        steps += 1
    if single:
        return state[0]
    return list(state) if isinstance(loop_vars, list) else state


def _symbolic_while_loop(cond, body, loop_vars, maximum_iterations):
    """A graph node running the loop; its outputs are shaped like `loop_vars`, as Keras infers
    them (the loop is not run on probes: its length may depend on the values)."""

    def spec(value):
        if isinstance(value, KerasTensor):
            return OutputSpec(tuple(value.shape), backend.to_torch_dtype(value.dtype))
        value = tensor(value)
        return OutputSpec(tuple(value.shape), value.dtype)

    run = functools.partial(while_loop, cond, body, maximum_iterations=maximum_iterations)
    node = OpLayer(run, name="while_loop")
    return call_on_symbolic(node, (loop_vars,), {}, spec=tree.map_structure(spec, loop_vars))


def _stack(results):
    return pytree.tree_map(lambda *leaves: torch.stack([tensor(v) for v in leaves]), *results)


@symbolic_op("map")
def map(f, xs):  # noqa: A001 - Keras's name
    """Apply `f` to each slice of `xs` along its first axis and stack the results.

    Args:
        f: a function of one slice (of the same structure as `xs`).
        xs: a tensor, or a nest (tuple, list, dict) of tensors sharing the first axis.

    Returns:
        The stacked results of `f`, in the structure `f` returns.

    Example:
        >>> lamina.ops.map(lambda row: row.sum(), np.array([[1, 2], [3, 4]]))
        tensor([3, 7])
    """
    leaves, spec = pytree.tree_flatten(_tensors(xs))
    length = leaves[0].shape[0]
    outputs = [f(pytree.tree_unflatten([leaf[i] for leaf in leaves], spec)) for i in range(length)]
    return _stack(outputs)


@symbolic_op("scan")
def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop `carry, y = f(carry, x)` over the slices of `xs`, collecting the `y`s.

    Args:
        f: a function `(carry, x) -> (new carry, y)`.
        init: the first carry (a tensor or nest, converted to tensors as in Keras).
        xs: a tensor or nest of tensors scanned along their first axis (default None: `x` is None
            at every step, and `length` sets the number of steps).
        length: the number of steps when `xs` is None (default None).
        reverse: whether to scan from the last slice to the first (default False); the `y`s still
            come in the order of `xs`.
        unroll: accepted for Keras compatibility; the loop runs eagerly (default 1).

    Returns:
        A tuple `(final carry, stacked ys)`; the ys are None when `f` returns None for them.

    Example:
        >>> def running_sum(carry, x):
        ...     return carry + x, carry + x
        >>> lamina.ops.scan(running_sum, torch.tensor(0), np.array([1, 2, 3]))
        (tensor(6), tensor([1, 3, 6]))
    """
    if xs is None:
        leaves, spec, steps = [], None, int(length)
    else:
        leaves, spec = pytree.tree_flatten(_tensors(xs))
        steps = leaves[0].shape[0]
    carry, ys = _tensors(init), []
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


@symbolic_op("associative_scan")
def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive prefix scan with an associative function: element `i` combines elements `0..i`.

    `f(a, b)` receives blocks of slices along `axis`, the earlier ones as `a`, and must work on them
    element-wise; the scan takes about `log2(n)` calls.

    Args:
        f: an associative function of two tensors (or nests), such as addition.
        elems: a tensor or nest of tensors, scanned along `axis`.
        reverse: whether to scan from the end backwards (default False).
        axis: the axis to scan along (default 0).

    Returns:
        The scanned values, in the structure of `elems`.

    Example:
        >>> lamina.ops.associative_scan(lambda a, b: a + b, np.array([1, 2, 3, 4]))
        tensor([ 1,  3,  6, 10])
        >>> lamina.ops.associative_scan(torch.maximum, np.array([5, 1, 3, 2]), reverse=True)
        tensor([5, 3, 3, 2])
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


@symbolic_op("vectorized_map")
def vectorized_map(function, elements):
    """Apply `function` to each slice of `elements` along its first axis, batched with `torch.vmap`.

    Unlike `map`, the function is traced once on batched tensors, so it must use torch operations
    (no Python control flow on tensor values).

    Args:
        function: a function of one slice.
        elements: a tensor, or a nest of tensors sharing the first axis.

    Returns:
        The results, stacked along a new first axis.

    Example:
        >>> lamina.ops.vectorized_map(lambda row: row * row.sum(), np.array([[1, 2], [3, 4]]))
        tensor([[ 3,  6],
                [21, 28]])
    """
    return torch.vmap(function)(_tensors(elements))


def custom_gradient(f):
    """Decorate a function so that backpropagation uses a gradient it supplies.

    The decorated `f(*args)` returns `(output, grad_fn)`; `grad_fn(upstream)` returns the gradient
    for each argument (a tensor, or a tuple of them for several arguments).

    Args:
        f: a function of tensors returning `(output, grad_fn)`.

    Returns:
        A function of the same arguments returning `output`.

    Example:
        >>> @lamina.ops.custom_gradient
        ... def clip_gradient(x):
        ...     return x * 1.0, lambda upstream: upstream.clamp(-1, 1)
        >>> x = torch.tensor([2.0], requires_grad=True)
        >>> (5 * clip_gradient(x)).sum().backward()
        >>> x.grad
        tensor([1.])
    """

    class _Function(torch.autograd.Function):
        # setup_context style, so torch.func's transforms apply it; vmap runs f per example.
        generate_vmap_rule = True

        @staticmethod
        def forward(*args):
            with torch.enable_grad():
                output, grad_fn = f(*args)
            return (output.detach() if isinstance(output, torch.Tensor) else output), grad_fn

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.grad_fn = output[1]

        @staticmethod
        def backward(ctx, *upstream):
            grads = ctx.grad_fn(*upstream[:-1])  # the last is grad_fn's (it has none)
            return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)

    def wrapped(*args):
        return _Function.apply(*[tensor(a) for a in args])[0]

    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapped.__doc__ = f.__doc__
    return wrapped


_CORE = re.compile(r"\(([^()]*)\)")


def vectorize(pyfunc, *, excluded=None, signature=None):
    """Vectorize a function over broadcast elements (or core sub-arrays), as NumPy's `vectorize`.

    Each call broadcasts the mapped arguments together and runs `pyfunc` on every element (or on
    each core block given by `signature`), batched with `torch.vmap`.

    Args:
        pyfunc: a function of tensors, using torch operations.
        excluded: positions of arguments passed through unchanged (default None: none).
        signature: the core shapes, such as `"(n),(n)->()"`: each input's core axes are trailing
            and the rest broadcast (default None: all scalars).

    Returns:
        The vectorized function.

    Example:
        >>> clipped = lamina.ops.vectorize(lambda x, y: torch.clamp(x - y, min=0))
        >>> clipped(np.array([[1, 5]]), np.array([2, 2]))
        tensor([[0, 3]])
        >>> dot = lamina.ops.vectorize(lambda a, b: (a * b).sum(), signature="(n),(n)->()")
        >>> dot(np.array([[1, 2], [3, 4]]), np.array([1, 1]))
        tensor([3, 7])
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
