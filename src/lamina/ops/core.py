"""The core of `lamina.ops`: conversion, dtypes, shapes, and the rule that makes every op symbolic.

Every public op is wrapped by `symbolic_op`: on torch tensors (or NumPy arrays, or Python numbers)
it computes at once; when any argument is a `KerasTensor` (inside a functional graph) it records an
op node instead, whose output shape is inferred on the meta device like any layer's.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
import torch

from lamina import backend
from lamina.engine.symbolic import KerasTensor, apply_op, register_operation
from lamina.engine.variable_base import VariableBase

# Keras's default dtypes for Python numbers: int32 and float32 (NumPy arrays keep their dtype).
_PYTHON_DEFAULTS = {bool: torch.bool, int: torch.int32, float: torch.float32}


def symbolic_op(name: str, shape_rule=None, text=None, broadcasts=False, unifies=False):
    """Decorate a torch implementation so it also records a node when given KerasTensors.

    The decorated function computes at once on torch tensors, NumPy arrays and Python numbers; if
    any
    argument is a symbolic `KerasTensor`, it records an op node of the functional graph instead,
    whose output shape is inferred on the meta device.

    Args:
        name: the op's name, shown in the graph.
        shape_rule: optional `rule(*args, **kwargs)` giving the output shape from the symbolic
            arguments (None where the probe should decide), for an op whose shape a probe size
            cannot stand in for.
        text: for an op that only moves elements (expand_dims, reshape), the NumPy function
            that does it to text (lamina's string tensors are NumPy arrays), called with the
            same arguments; the op then takes string Inputs too.
        broadcasts: whether the op broadcasts its tensor arguments against each other
            (`add`, `less`, `where`): where a probe size cannot stand for an unknown size (it
            meets a known one), the unknown sizes then take the known sizes they broadcast
            against, as Keras's static rule gives them (`(None, 3)` and `(2, None)`: `(2, 3)`).
        unifies: whether an unknown size of one argument may have to equal a known size of
            another (the contracted axes of `matmul`, `dot`, `einsum`; `take_along_axis`):
            where a probe fails, it is retried with one unknown size set to one of the known
            sizes in turn, as Keras's rules accept `(None,) . (3,)`.

    Returns:
        A decorator for the implementation function.

    Example:
        >>> @symbolic_op("double")
        ... def double(x):
        ...     return tensor(x) * 2
        >>> double(np.array([1, 2]))
        tensor([2, 4])
    """

    def wrap(fn):
        run = fn if text is None else _on_text_too(fn, text)
        if broadcasts:
            run.broadcasts = True  # read by shape inference on the op node's function
        if unifies:
            run.unifies = True

        @functools.wraps(fn)
        def op(*args, **kwargs):
            if _holds_variable(args) or (kwargs and _holds_variable(kwargs.values())):
                args, kwargs = _values_of(args), {k: _values_of(v) for k, v in kwargs.items()}
            return apply_op(run, *args, name=name, shape_rule=shape_rule, **kwargs)

        if text is not None:
            op.moves_text = True  # a graph rebuilt from a file records the public op
        register_operation(name, op)  # a saved graph's `name` node is rebuilt with it
        return op

    return wrap


def _on_text_too(fn, text):
    """`fn`, except on text (a NumPy str / bytes / object array), which NumPy's `text` moves.

    Marked `moves_text`: shape inference then probes it with bytes standing in for the text."""

    @functools.wraps(fn)
    def run(x, *args, **kwargs):
        if isinstance(x, (str, bytes, np.str_, np.bytes_)):  # one string: `text_batch[0]`
            x = np.asarray(x)
        if isinstance(x, np.ndarray) and x.dtype.kind in "USO":
            return text(x, *args, **kwargs)
        return fn(x, *args, **kwargs)

    run.moves_text = True
    return run


def _holds_variable(args) -> bool:
    """Whether a `Variable` is among the arguments (or one level down, in a list of them)."""
    for arg in args:
        if isinstance(arg, VariableBase):
            return True
        if isinstance(arg, (list, tuple)) and any(isinstance(a, VariableBase) for a in arg):
            return True
    return False


def _values_of(x):
    """Variables replaced by their current values (ops compute on tensors)."""
    if isinstance(x, VariableBase):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_values_of(item) for item in x)
    return x


def to_dtype(dtype) -> torch.dtype:
    """Convert a Keras dtype name, NumPy dtype or torch dtype to a torch dtype.

    Args:
        dtype: a name such as `"int32"`, `"bool"` or `"float32"`, a NumPy dtype or a torch dtype.

    Returns:
        The `torch.dtype`.

    Example:
        >>> to_dtype("int32")
        torch.int32
        >>> to_dtype(np.float64)
        torch.float64
    """
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        dtype = np.dtype(dtype).name
    return backend.to_torch_dtype(dtype)


def _target_device() -> torch.device:
    # Inside output-shape inference torch's default device is "meta": new tensors must be meta too.
    default = torch.get_default_device()
    return default if default.type == "meta" else backend.default_device()


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None) -> torch.Tensor | np.ndarray:
    """Convert a tensor, NumPy array, list or Python number to a torch tensor on lamina's device.

    Python floats (and lists of them) become float32, Python ints int32 and Python complex
    numbers complex64, as in Keras; NumPy arrays keep their dtype; tensors pass through (cast if
    `dtype` is given). Text (str or bytes) stays a NumPy array, lamina's form of a string tensor.

    Args:
        x: the value to convert; a symbolic `KerasTensor` raises a `TypeError`.
        dtype: dtype of the result (default None: inferred as above).
        sparse: accepted for Keras compatibility; tensors are always dense.
        ragged: accepted for Keras compatibility (default None); True raises, as ragged tensors
            are TensorFlow's.

    Returns:
        A torch tensor (a NumPy array for text).

    Example:
        >>> lamina.ops.convert_to_tensor([1.0, 2.0])
        tensor([1., 2.])
        >>> lamina.ops.convert_to_tensor(np.array([1, 2]), dtype="float16")
        tensor([1., 2.], dtype=torch.float16)
    """
    if ragged:
        raise ValueError(
            "convert_to_tensor() expects ragged=None or False; received ragged=True. Hint: "
            "ragged tensors exist in Keras's TensorFlow backend only."
        )
    wants_text = dtype == "string"
    torch_dtype = None if dtype is None or wants_text else to_dtype(dtype)
    if isinstance(x, VariableBase):
        x = x.value
    if isinstance(x, torch.Tensor):
        return x if torch_dtype is None else x.to(torch_dtype)
    if isinstance(x, KerasTensor):
        raise TypeError(
            "convert_to_tensor() received a symbolic KerasTensor; symbolic tensors have no values. "
            "Hint: call it inside a layer's call(), or on the model's predictions."
        )
    if isinstance(x, (bool, int, float)) and torch_dtype is None:
        # By kind, not exact type: NumPy's float64 scalar is a float (`phi / 180.0 * np.pi`),
        # and Keras makes it floatx too. NumPy's int64 and bool_ scalars are no int or bool.
        kind = bool if isinstance(x, bool) else int if isinstance(x, int) else float
        torch_dtype = _PYTHON_DEFAULTS[kind]
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        # Straight to the dtype: no float64 intermediate (a float64 constant under torch.export)
        return torch.tensor(x, dtype=torch_dtype, device=_target_device())
    array = np.asarray(x)
    if array.dtype.kind in "US":
        if torch_dtype is None:
            # torch has no string tensors: text stays a NumPy array, the form lamina's data
            # pipeline, string Inputs and lookup layers take (Keras's TensorFlow backend gives a
            # tf.string tensor). Bytes are decoded as UTF-8, so text reads one way.
            return np.char.decode(array, "utf-8") if array.dtype.kind == "S" else array
        raise ValueError(
            f"convert_to_tensor() cannot convert text to dtype {dtype}; received an array of dtype "
            f"{array.dtype}, shape {array.shape}. Hint: map text to numbers with StringLookup or "
            "TextVectorization, or pass dtype='string'."
        )
    if wants_text:
        raise TypeError(
            f"convert_to_tensor() with dtype='string' expects text; received an array of dtype "
            f"{array.dtype}, shape {array.shape}. Hint: convert numbers with str() first."
        )
    from_python = not isinstance(x, (np.ndarray, np.generic))  # NumPy scalars keep their dtype
    if array.dtype == np.float64 and from_python and torch_dtype is None:
        torch_dtype = torch.float32  # Python lists of floats, as Keras: floatx
    if array.dtype == np.int64 and from_python and torch_dtype is None:
        torch_dtype = torch.int32
    # NumPy's complex128 scalar is a Python complex, as its float64 scalar is a float.
    python_complex = from_python or isinstance(x, complex)
    if array.dtype == np.complex128 and python_complex and torch_dtype is None:
        torch_dtype = torch.complex64  # as Keras: floatx's complex type
    if not array.flags.writeable:  # pandas' or a memory map's read-only view, as fit copies it:
        array = array.copy()  # torch would share it and warn that writes are undefined
    if array.dtype.name == "bfloat16":  # ml_dtypes.bfloat16, as convert_to_numpy gives it
        tensor = backend.from_numpy(array).to(_target_device())
    else:
        tensor = torch.as_tensor(array, device=_target_device())
    return tensor if torch_dtype is None else tensor.to(torch_dtype)


def convert_to_numpy(x) -> np.ndarray:
    """Convert a tensor (detached, copied to the host) or anything array-like to a NumPy array.

    Args:
        x: a torch tensor or array-like value; a symbolic `KerasTensor` raises a `TypeError`.

    Returns:
        A NumPy array.

    Example:
        >>> lamina.ops.convert_to_numpy(torch.tensor([1.0, 2.0]))
        array([1., 2.], dtype=float32)
    """
    if isinstance(x, torch.Tensor):
        return backend.as_numpy(x)
    if isinstance(x, KerasTensor):
        raise TypeError("convert_to_numpy() received a symbolic KerasTensor, which has no values.")
    if callable(getattr(x, "numpy", None)):  # variables, `optimizer.iterations`: their dtype
        return np.asarray(x.numpy())
    return np.asarray(x)


def tensor(x):
    """The argument as a torch tensor: tensors pass through untouched, the rest is converted.

    Args:
        x: a tensor, NumPy array, list or Python number (see `convert_to_tensor`).

    Returns:
        A torch tensor.

    Example:
        >>> tensor(3)
        tensor(3, dtype=torch.int32)
    """
    if isinstance(x, torch.Tensor):
        return x
    converted = convert_to_tensor(x)
    if isinstance(converted, np.ndarray):  # text: lamina's string tensors are NumPy arrays
        raise TypeError(
            f"lamina.ops computes on numbers; received text (a {converted.dtype} array of shape "
            f"{converted.shape}). Hint: map text to ids first with StringLookup (expand_dims, "
            "reshape and squeeze do take text)."
        )
    return converted


def operands(x1, x2):
    """Convert the two operands of a binary op to tensors, keeping a Python number's value exact.

    A Python number next to a tensor or array takes its dtype when this keeps its value (an int
    next
    to anything, a float next to a floating tensor); a float next to an integer tensor becomes
    float32.

    Args:
        x1: the first operand.
        x2: the second operand.

    Returns:
        A pair of tensors.

    Example:
        >>> operands(torch.tensor([1, 2], dtype=torch.int8), 3)
        (tensor([1, 2], dtype=torch.int8), tensor(3, dtype=torch.int8))
        >>> operands(torch.tensor([1, 2]), 0.5)
        (tensor([1, 2]), tensor(0.5000))
    """
    # A NumPy array next to a Python number is a tensor like any other (float16 / 2.5 is float16).
    if _is_number(x2) and not isinstance(x1, (int, float, bool)):
        x1 = tensor(x1)
        return x1, _scalar_like(x2, x1)
    if _is_number(x1) and not isinstance(x2, (int, float, bool)):
        x2 = tensor(x2)
        return _scalar_like(x1, x2), x2
    return tensor(x1), tensor(x2)


def booleans_as_int32(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two operands that promote to bool, cast to int32 (Keras's dtype for arithmetic on them).

    Args:
        a: the first operand.
        b: the second operand.

    Returns:
        `a` and `b`, as int32 when both are boolean.

    Example:
        >>> booleans_as_int32(torch.tensor([True]), torch.tensor([True]))[0].dtype
        torch.int32
    """
    if torch.promote_types(a.dtype, b.dtype) == torch.bool:
        return a.to(torch.int32), b.to(torch.int32)
    return a, b


def _is_integer_dtype(dtype: torch.dtype) -> bool:
    return not (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool)


def _fits(value: int, dtype: torch.dtype) -> bool:
    info = torch.iinfo(dtype)
    return info.min <= value <= info.max


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scalar_like(value, other: torch.Tensor) -> torch.Tensor:
    keeps_value = other.is_floating_point() or isinstance(value, int)
    dtype = other.dtype if keeps_value else torch.float32
    if isinstance(value, int) and _is_integer_dtype(dtype) and not _fits(value, dtype):
        # -1 next to uint8: a 0-d int64 keeps the value and still leaves uint8 to the result
        # (as torch does with the Python number itself), where uint8 would wrap it to 255
        dtype = torch.int64
    if other.dtype == torch.bool:  # booleans hold no number: Keras's int32 / float32 for it
        dtype = torch.int32 if isinstance(value, int) else torch.float32
    return torch.tensor(value, dtype=dtype, device=other.device)


def floating_operands(x1, x2) -> tuple[torch.Tensor, torch.Tensor]:
    """The two operands of a float-valued binary op, in their common floating dtype (Keras's rule).

    The dtypes are promoted first and the result made float32 only if it is not floating, so an
    integer next to a float16 tensor stays float16 (casting each side to float first would give
    float32).

    Args:
        x1: the first operand.
        x2: the second operand.

    Returns:
        A pair of tensors of one floating (or complex) dtype.

    Example:
        >>> a, b = floating_operands(torch.tensor([1.0], dtype=torch.float16), torch.tensor([2]))
        >>> a.dtype, b.dtype
        (torch.float16, torch.float16)
    """
    a, b = operands(x1, x2)
    common = torch.promote_types(a.dtype, b.dtype)
    if not (common.is_floating_point or common.is_complex):
        common = torch.float32
    return a.to(common), b.to(common)


def floating(x: torch.Tensor) -> torch.Tensor:
    """`x` itself when floating or complex, else `x` cast to float32 (Keras's rule for integers).

    Args:
        x: a torch tensor.

    Returns:
        A floating or complex tensor.

    Example:
        >>> floating(torch.tensor([1, 2]))
        tensor([1., 2.])
    """
    return x if x.is_floating_point() or x.is_complex() else x.to(torch.float32)


def boolean_product(torch_fn, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`torch_fn(a, b)` for a matrix-style product, booleans included (NumPy: any of the ANDs).

    torch's product kernels reject booleans; two boolean operands multiply as float32 counts,
    and the result is whether the count is positive. They also want one dtype: mixed operands
    are promoted first (int8 by float16 gives float16, as Keras).

    Args:
        torch_fn: the product, e.g. `torch.matmul`.
        a: the left operand.
        b: the right operand.

    Returns:
        The product; boolean when both operands are.

    Example:
        >>> boolean_product(torch.matmul, torch.tensor([True, False]), torch.tensor([False, True]))
        tensor(False)
    """
    if a.dtype == torch.bool and b.dtype == torch.bool:
        return torch_fn(a.to(torch.float32), b.to(torch.float32)) > 0
    if a.dtype != b.dtype:
        common = torch.promote_types(a.dtype, b.dtype)
        a, b = a.to(common), b.to(common)
    return torch_fn(a, b)


def sum_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype Keras gives a sum or product of `dtype` values: int32 for booleans and small ints.

    Args:
        dtype: the input's torch dtype.

    Returns:
        int32 for bool, int8, int16 and uint8 (torch has no uint32); `dtype` itself otherwise
        (torch's own sums would give int64 for every integer).

    Example:
        >>> sum_dtype(torch.bool), sum_dtype(torch.int32), sum_dtype(torch.float16)
        (torch.int32, torch.int32, torch.float16)
    """
    small = (torch.bool, torch.int8, torch.int16, torch.uint8, torch.uint16)
    return torch.int32 if dtype in small else dtype


_NARROWER = {
    torch.float64: torch.float32,
    torch.int64: torch.int32,
    torch.complex128: torch.complex64,
}


def narrows_64_bits(fn):
    """`fn` with a 64-bit tensor result narrowed to 32 bits.

    For the ops whose result dtype Keras takes from its promotion rule (`backend.result_type`,
    which narrows 64-bit dtypes): `var`, `median`, `maximum`, `hypot`, ... of float64 arrays give
    float32 there, where `sum` or `add` keep float64.

    Args:
        fn: a function returning a tensor or a tuple of tensors (anything else passes through).

    Returns:
        The wrapped function.

    Example:
        >>> narrows_64_bits(torch.maximum)(torch.ones(2, dtype=torch.float64), torch.zeros(2)).dtype
        torch.float32
    """

    def narrow(out):
        if isinstance(out, torch.Tensor) and out.dtype in _NARROWER:
            return out.to(_NARROWER[out.dtype])
        if isinstance(out, tuple):  # unravel_index: one tensor per axis
            return tuple(narrow(item) for item in out)
        return out

    @functools.wraps(fn)
    def narrowing(*args, **kwargs):
        return narrow(fn(*args, **kwargs))

    return narrowing


def cumulative_dtype(dtype: torch.dtype, requested=None) -> torch.dtype:
    """The dtype Keras gives a cumulative sum or product of `dtype` values.

    Keras applies its promotion rule to the requested dtype (else the input's): 64-bit dtypes are
    narrowed to 32 bits, and booleans are counted in int32.

    Args:
        dtype: the input's torch dtype.
        requested: the `dtype` argument of the op (default None: none).

    Returns:
        The torch dtype of the result.

    Example:
        >>> cumulative_dtype(torch.bool), cumulative_dtype(torch.int64, "float64")
        (torch.int32, torch.float32)
    """
    name = backend.result_type(dtype if requested is None else requested)
    return torch.int32 if name == "bool" else to_dtype(name)


def axis_arg(axis):
    """An axis argument in the form torch takes: a list becomes a tuple, anything else is unchanged.

    Args:
        axis: None, an int, or a list or tuple of ints.

    Returns:
        None, an int or a tuple of ints.

    Example:
        >>> axis_arg([0, 2])
        (0, 2)
    """
    return tuple(axis) if isinstance(axis, list) else axis


def reduces_no_axis_when_empty(fn):
    """Decorate a reduction `fn(x, axis, ...)` so `axis=()` reduces no axis, as NumPy's.

    torch reads an empty `dim` as every axis; NumPy (and Keras) read it as none, which makes the
    reduction element-wise (`sum(x, axis=())` is `x`, `var(x, axis=())` is zeros). That is the
    reduction over a new axis of size 1, which is how it is computed here.

    Args:
        fn: a reduction whose first two parameters are `x` and `axis`.

    Returns:
        The decorated reduction.

    Example:
        >>> lamina.ops.sum(np.array([[1, 2], [3, 4]]), axis=())
        tensor([[1, 2],
                [3, 4]])
    """

    parameters = list(inspect.signature(fn).parameters)
    keepdims_at = parameters.index("keepdims") - 2 if "keepdims" in parameters else None

    @functools.wraps(fn)
    def reduce(x, axis=None, *args, **kwargs):
        if isinstance(axis, (tuple, list)) and not axis:
            # keepdims makes no difference when no axis goes: the new axis goes in any case.
            if "keepdims" in kwargs:
                kwargs["keepdims"] = False
            elif keepdims_at is not None and len(args) > keepdims_at:
                args = (*args[:keepdims_at], False, *args[keepdims_at + 1 :])
            return fn(tensor(x).unsqueeze(-1), -1, *args, **kwargs)
        return fn(x, axis, *args, **kwargs)

    return reduce


def is_tensor(x) -> bool:
    """Whether `x` is a torch tensor.

    Args:
        x: any value.

    Returns:
        A Python bool.

    Example:
        >>> lamina.ops.is_tensor(torch.zeros(2)), lamina.ops.is_tensor(np.zeros(2))
        (True, False)
    """
    return isinstance(x, torch.Tensor)


def _is_text_list(x) -> bool:
    """Whether a (nested) list holds strings, read from its first element."""
    while isinstance(x, (list, tuple)) and x:
        x = x[0]
    return isinstance(x, str)


def shape(x) -> tuple:
    """The shape of a tensor as a tuple of ints.

    A symbolic `KerasTensor` gives its shape, with None for unknown sizes (such as the batch).

    Args:
        x: a tensor, NumPy array, list or `KerasTensor`.

    Returns:
        A tuple.

    Example:
        >>> lamina.ops.shape(np.zeros((2, 3)))
        (2, 3)
        >>> lamina.ops.shape(np.array(["el gato", "la casa"]))
        (2,)
    """
    if isinstance(x, KerasTensor):
        return x.shape
    if isinstance(x, (list, tuple)) and _is_text_list(x):
        x = np.asarray(x)
    if isinstance(x, np.ndarray):  # text too (a batch of sentences), whose shape Keras reads
        return tuple(int(d) for d in x.shape)
    return tuple(int(d) for d in tensor(x).shape)


def ndim(x) -> int:
    """The number of axes of a tensor.

    Args:
        x: a tensor, NumPy array, list or `KerasTensor`.

    Returns:
        A Python int.

    Example:
        >>> lamina.ops.ndim(np.zeros((2, 3)))
        2
    """
    return len(shape(x))


def size(x) -> int:
    """The number of elements of a tensor.

    Args:
        x: a tensor, NumPy array or list.

    Returns:
        A Python int.

    Example:
        >>> lamina.ops.size(np.zeros((2, 3)))
        6
    """
    return int(np.prod(shape(x)))


@symbolic_op("cast")
def cast(x, dtype):
    """Convert a tensor to another dtype.

    Floats cast to integers are truncated toward zero; values out of the target's range are not
    clipped (`saturate_cast` clips them).

    Args:
        x: input tensor.
        dtype: the target dtype: a Keras name such as `"int32"`, `"bool"`, `"float32"`, or a torch
            or NumPy dtype.

    Returns:
        A tensor shaped like `x`, of `dtype`.

    Example:
        >>> lamina.ops.cast(torch.tensor([1.7, -1.7]), "int32")
        tensor([ 1, -1], dtype=torch.int32)
    """
    return tensor(x).to(to_dtype(dtype))


@symbolic_op("stop_gradient")
def stop_gradient(variable):
    """The same values, cut off from the autograd graph: no gradient flows back through it.

    Args:
        variable: input tensor (or variable).

    Returns:
        A tensor equal to `x`, detached.

    Example:
        >>> x = torch.tensor([2.0], requires_grad=True)
        >>> (x * lamina.ops.stop_gradient(x)).sum().backward()
        >>> x.grad
        tensor([2.])
    """
    return tensor(variable).detach()


def dtype(x) -> str:
    """The Keras name of a tensor's dtype.

    Args:
        x: a tensor, NumPy array, Python number or `KerasTensor`.

    Returns:
        A string such as `"float32"`.

    Example:
        >>> lamina.ops.dtype(torch.zeros(2, dtype=torch.int64))
        'int64'
        >>> lamina.ops.dtype(1.0)
        'float32'
    """
    if isinstance(x, KerasTensor):
        return x.dtype
    return backend.dtype_name(tensor(x).dtype)


@symbolic_op("saturate_cast")
def saturate_cast(x, dtype):
    """Convert a tensor to another dtype, clipping values to the target's range first.

    Unlike `cast`, values out of range become the target's extreme values instead of wrapping
    around.

    Args:
        x: input tensor.
        dtype: the target dtype name (or torch/NumPy dtype).

    Returns:
        A tensor shaped like `x`, of `dtype`.

    Example:
        >>> lamina.ops.saturate_cast(np.array([-5, 100, 300]), "uint8")
        tensor([  0, 100, 255], dtype=torch.uint8)
    """
    x = tensor(x)
    target = to_dtype(dtype)
    if target == torch.bool or x.dtype == torch.bool or x.is_complex():
        return x.to(target)
    source_lo, source_hi = _value_range(x.dtype)
    target_lo, target_hi = _value_range(target)
    # The bounds are the tighter of the two ranges, so each is a value of `x`'s own dtype.
    lo, hi = max(source_lo, target_lo), min(source_hi, target_hi)
    if not x.is_floating_point():
        fits = (lo, hi) == (source_lo, source_hi)
        return x.to(target) if fits else x.clamp(int(lo), int(hi)).to(target)
    bounds = torch.tensor([lo, hi], dtype=x.dtype, device=x.device)
    if not target.is_floating_point and int(bounds[1]) > hi:
        # the float nearest the integer bound rounded past it
        bounds[1] = torch.nextafter(bounds[1], torch.zeros_like(bounds[1]))
    return torch.minimum(torch.maximum(x, bounds[0]), bounds[1]).to(target)


def _value_range(dtype: torch.dtype):
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    return info.min, info.max


@symbolic_op("view")
def view(x, dtype=None):
    """Reinterpret the bytes of a tensor as another dtype, as NumPy's `view`.

    When the item sizes differ, the last axis scales by their ratio.

    Args:
        x: input tensor.
        dtype: the dtype to read the bytes as (default None: `x` unchanged).

    Returns:
        A tensor sharing `x`'s memory.

    Example:
        >>> lamina.ops.view(np.array([1.0], dtype="float32"), "int32")
        tensor([1065353216], dtype=torch.int32)
        >>> lamina.ops.view(np.array([1], dtype="int32"), "int16")
        tensor([1, 0], dtype=torch.int16)
    """
    x = tensor(x)
    return x if dtype is None else x.view(to_dtype(dtype))
