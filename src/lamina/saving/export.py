"""`Model.export`: the model as an inference artifact, in the formats Keras 3 offers on torch.

"torch" writes a `torch.export` ExportedProgram (`.pt2`, loaded by `torch.export.load`), as
Keras on the torch backend does; "onnx" goes through `torch.onnx.export` (which needs the `onnx`
and `onnxscript` packages). Keras's other formats need TensorFlow ("tf_saved_model", "litert")
or OpenVINO ("openvino"), which lamina does not depend on: they raise, naming the package.
"""

from __future__ import annotations

import importlib.util
import inspect
import os

import torch

from lamina import backend, tree
from lamina.engine import errors

FORMATS = ("tf_saved_model", "onnx", "openvino", "litert", "torch")
_NEEDS = {
    "tf_saved_model": "tensorflow",
    "litert": "tensorflow (or litert_torch)",
    "openvino": "openvino",
}


def export(model, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):  # noqa: A002
    """Write `model` to `filepath` as an inference artifact of `format`.

    Args:
        model: a built lamina Model.
        filepath: where to write (a `.pt2` path for "torch").
        format: "torch", "onnx", or Keras's TensorFlow/OpenVINO formats (which raise here).
        verbose: print where the artifact went (default True).
        input_signature: the inputs' shapes and dtypes: `KerasTensor`s, `InputSpec`s or
            tensors, one per positional argument of the call (default: the model's inputs,
            None sizes taken as 1, or 2 when `dynamic_shapes` is given).
        **kwargs: passed to `torch.export.export` ("torch") or `torch.onnx.export` ("onnx").

    Returns:
        The path written.

    Example:
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
        >>> path = export(model, "model.pt2", format="torch")  # doctest: +SKIP
        >>> torch.export.load(path).module()(torch.ones(1, 3)).shape  # doctest: +SKIP
        torch.Size([1, 2])
    """
    if format not in FORMATS:
        raise errors.value_error(
            "export()",
            f"format among {list(FORMATS)}",
            repr(format),
            "lamina writes 'torch' and 'onnx'.",
        )
    if format in _NEEDS:
        raise ImportError(
            f"export(format={format!r}) needs {_NEEDS[format]}, which lamina does not use. Hint: "
            "export with format='torch' (a torch.export ExportedProgram) or format='onnx'."
        )
    filepath = os.fspath(filepath)
    if format == "torch" and not filepath.endswith(".pt2"):
        raise errors.value_error(
            "export(format='torch')", "a filepath ending in '.pt2'", repr(filepath)
        )
    if format == "onnx":
        missing = [
            name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None
        ]
        if missing:
            raise ImportError(
                f"export(format='onnx') needs the package(s) {missing} (torch.onnx.export "
                f"uses them). Hint: pip install {' '.join(missing)}."
            )
    sample = sample_inputs(model, input_signature, dynamic="dynamic_shapes" in kwargs)
    was_training = model.training
    model.eval()
    try:
        if format == "torch":
            _check_arguments(kwargs, torch.export.export, "torch")
            kwargs.setdefault("strict", False)  # lamina's Python-level structure: non-strict
            if kwargs.get("dynamic_shapes") is not None:
                kwargs["dynamic_shapes"] = _per_argument(kwargs["dynamic_shapes"], sample)
            torch.export.save(torch.export.export(model, sample, **kwargs), filepath)
        else:
            _check_arguments(kwargs, torch.onnx.export, "onnx")
            torch.onnx.export(model, sample, filepath, **kwargs)
    finally:
        model.train(was_training)
    if verbose is None or verbose:
        print(f"Saved the {format} artifact at '{filepath}'.")
    return filepath


def sample_inputs(model, input_signature=None, dynamic: bool = False) -> tuple:
    """Zeros shaped like the model's inputs, one per positional argument of its call.

    Example:
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
        >>> [tuple(x.shape) for x in sample_inputs(model)]
        [(1, 3)]
    """
    if input_signature is None:
        if not model.built:
            raise errors.value_error(
                f"Model '{model.name}'",
                "to be built before export()",
                "an unbuilt model",
                "call it once on data, or build it with an Input.",
            )
        if getattr(model, "_graph", None) is not None:
            # A functional model takes its inputs' own structure (a dict stays a dict, keyed
            # as the model reads it), as Keras's export does.
            structure = model.input
        else:
            inputs = getattr(model, "inputs", None)
            if inputs:
                structure = inputs[0] if len(inputs) == 1 else list(inputs)
            else:
                structure = model._build_input_shape
        input_signature = [structure]
    unknown = 2 if dynamic else 1  # torch.export makes a size of 1 a constant

    def zeros(spec):
        if isinstance(spec, torch.Tensor):
            return spec
        shape = getattr(spec, "shape", spec)
        dtype = backend.to_torch_dtype(getattr(spec, "dtype", None) or "float32")
        return torch.zeros(
            [unknown if d is None else d for d in shape],
            dtype=dtype,
            device=backend.default_device(),
        )

    return tuple(tree.map_shape_structure(zeros, spec) for spec in input_signature)


def _per_argument(dynamic_shapes, sample: tuple):
    """Keras's short forms of `dynamic_shapes` as torch.export wants them, one entry per
    positional argument of the call: `{0: Dim}` (a single input's axes) becomes `({0: Dim},)`;
    a list or tuple with one entry per argument becomes a tuple; a spec keyed by argument name
    (or already wrapped) passes as given."""
    if isinstance(dynamic_shapes, dict):
        if len(sample) == 1 and all(isinstance(key, int) for key in dynamic_shapes):
            return (dynamic_shapes,)
        return dynamic_shapes
    if isinstance(dynamic_shapes, list) and len(dynamic_shapes) == len(sample):
        return tuple(dynamic_shapes)
    return dynamic_shapes


def _check_arguments(kwargs, function, format) -> None:  # noqa: A002
    accepted = set(inspect.signature(function).parameters) - {"mod", "model", "args", "f", "kwargs"}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise errors.value_error(
            f"export(format={format!r})",
            f"keyword arguments of {function.__module__}.{function.__name__}",
            f"{unknown}",
            f"it takes {sorted(accepted)}.",
        )
