"""Code a layer's config refers to, a Lambda's functions and a wrapped torch module, written
as Keras writes them where it can and read back without running anything the file holds.

A named function is written as Keras writes one, `{"module", "class_name": "function", "config":
name, "registered_name"}`, and found again by name among `custom_objects`, the open
`custom_object_scope`s and the registered objects (lamina's and Keras's own functions by their
module); lamina never imports the module a file names. An anonymous function (`lambda x: x * 2`)
is written as Keras writes it, `{"class_name": "__lambda__", ...}` with its marshalled bytecode,
so Keras can load the file with `safe_mode=False`. lamina never unmarshals that code, whatever
`safe_mode` says: the loader gives the function in `custom_objects` under the layer's name.
Keras 2's `.h5` configs (a name, or a `[code, defaults, closure]` triple, beside a
`function_type`) are read the same way.

A `TorchModuleWrapper`'s module is code too (Keras pickles it into the config). lamina writes
only its class and its printed form, and the loader gives a module of the same structure under
the layer's name; the file's weights are then loaded into it.
"""

from __future__ import annotations

import codecs
import marshal
import types

import torch

from lamina.saving.keras_entry import serialize_keras_object
from lamina.saving.object_registration import active_custom_objects, get_registered_object
from lamina.saving.object_serialization import deserialize_keras_object

LAMBDA_CLASS = "__lambda__"
TORCH_MODULE_CLASS = "torch_module"


class CodeNotGivenError(ValueError):
    """Code a config refers to (a Lambda's function, a wrapped torch module) that the loader
    did not give and that is not one of lamina's own."""


def function_entry(function) -> dict:
    """`function` as Keras's Lambda config holds it.

    Args:
        function: the callable (a named function, a lambda, or a callable object).

    Example:
        >>> def double(x):
        ...     return x * 2
        >>> function_entry(double)["config"]
        'double'
        >>> function_entry(lambda x: x)["class_name"]
        '__lambda__'
    """
    if isinstance(function, types.LambdaType) and function.__name__ == "<lambda>":
        return {"class_name": LAMBDA_CLASS, "config": _marshalled(function)}
    try:
        return serialize_keras_object(function)
    except TypeError:  # a callable with no name or config (`functools.partial(f, k=2)`)
        return {
            "class_name": LAMBDA_CLASS,
            "config": {"code": None, "defaults": None, "closure": None},
        }


def _marshalled(function) -> dict:
    """Keras's `__lambda__` config: base64 bytecode, defaults and closure values. Written for
    Keras's sake only; defaults or closure values JSON cannot hold leave the code out (Keras
    then refuses the layer rather than loading a function missing its values)."""
    closure = tuple(cell.cell_contents for cell in function.__closure__ or ())
    defaults = function.__defaults__
    if not _plain(defaults) or not _plain(closure):
        return {"code": None, "defaults": None, "closure": None}
    code = codecs.encode(marshal.dumps(function.__code__), "base64").decode("ascii")
    return {"code": code, "defaults": defaults, "closure": closure or None}


def _plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    return False


def holds_code(entry, function_type=None) -> bool:
    """Whether a config's function entry is code (Keras's `__lambda__`, or Keras 2's triple).

    Args:
        entry: the value under `function`, `output_shape` or `mask` in a Lambda's config.
        function_type: Keras 2's `function_type` / `output_shape_type` beside it, if any.

    Example:
        >>> holds_code({"class_name": "__lambda__", "config": {}})
        True
        >>> holds_code("double")
        False
    """
    if isinstance(entry, dict):
        return entry.get("class_name") == LAMBDA_CLASS
    return function_type == "lambda"


def resolve(entry, layer_name: str, argument: str, function_type=None):
    """The callable a Lambda config's function entry names, from what the loader provides.

    Args:
        entry: the entry (`function_entry`'s dict, Keras 2's name or triple, or lamina's older
            plain name).
        layer_name: the Lambda's name: code is looked up under it in `custom_objects`.
        argument: which argument the entry is (`function`, `output_shape`, `mask`), for errors.
        function_type: Keras 2's `function_type` beside the entry, if any.

    Example:
        >>> from lamina.saving import custom_object_scope
        >>> with custom_object_scope({"scale_by_two": lambda x: x * 2}):
        ...     resolve({"class_name": "__lambda__", "config": {}}, "scale_by_two", "function")(3)
        6
    """
    if callable(entry):  # an in-memory clone's config holds the function itself
        return entry
    known = active_custom_objects()
    if holds_code(entry, function_type):
        if callable(known.get(layer_name)):
            return known[layer_name]
        raise CodeNotGivenError(
            f"Layer '{layer_name}' (Lambda): its `{argument}` is an anonymous Python function "
            "(a lambda, or a callable with no name), whose code lamina never runs from a file "
            "(safe_mode=False does not change that). Hint: give the function when loading, "
            f"custom_objects={{'{layer_name}': <the function>}}, or make it a named function "
            "the loader passes in custom_objects."
        )
    if isinstance(entry, str):  # lamina's older configs and Keras 2's named functions
        entry = {"class_name": "function", "config": entry, "module": None}
    if not isinstance(entry, dict) or entry.get("class_name") != "function":
        return deserialize_keras_object(entry)
    name, module = entry.get("config"), str(entry.get("module") or "")
    registered = entry.get("registered_name")
    found = None
    if isinstance(registered, str) and registered != "function":
        found = get_registered_object(registered)
    found = found or known.get(name)
    if found is None and (module == "builtins" or module.startswith(("keras", "lamina"))):
        # lamina's and Keras's own functions, which both write under `builtins` (as Keras
        # does, after the loader's own objects); a user's function from another module is
        # never taken for a built-in of the same name.
        try:
            found = deserialize_keras_object(entry)
        except ValueError:
            found = None
    if not callable(found):
        raise CodeNotGivenError(
            f"Layer '{layer_name}' (Lambda): its `{argument}` calls the function {name!r} "
            f"(module {module or 'unknown'!r}), which the loader did not provide; lamina never "
            f"imports code a file names. Hint: pass custom_objects={{'{name}': {name}}}, or "
            "register it with lamina.saving.register_keras_serializable()."
        )
    return found


def module_entry(module) -> dict:
    """What a config says of a wrapped torch module: its class and printed form, no code.

    Args:
        module: the `torch.nn.Module`.

    Example:
        >>> module_entry(torch.nn.Linear(3, 2))["config"]["class"]
        'torch.nn.modules.linear.Linear'
    """
    cls = type(module)
    described = {"class": f"{cls.__module__}.{cls.__qualname__}", "repr": repr(module)}
    return {"class_name": TORCH_MODULE_CLASS, "config": described}


def resolve_module(entry, layer_name: str):
    """The torch module for a wrapper's config: the one the loader gives under the layer's
    name (a module, or a callable making one), never one unpickled from the file.

    Args:
        entry: the config's `module` (`module_entry`'s dict, Keras's pickled string, or the
            module itself in an in-memory clone's config).
        layer_name: the wrapper's name, the key looked up in `custom_objects`.

    Example:
        >>> from lamina.saving import custom_object_scope
        >>> with custom_object_scope({"head": lambda: torch.nn.Linear(3, 2)}):
        ...     resolve_module({"class_name": "torch_module", "config": {}}, "head")
        Linear(in_features=3, out_features=2, bias=True)
    """
    if isinstance(entry, torch.nn.Module):
        return entry
    given = active_custom_objects().get(layer_name)
    if given is not None and not isinstance(given, torch.nn.Module) and callable(given):
        given = given()
    if isinstance(given, torch.nn.Module):
        return given
    described = entry.get("config") if isinstance(entry, dict) else None
    what = described.get("repr") if isinstance(described, dict) else None
    what = what or ("pickled by Keras" if isinstance(entry, str) else "of unknown structure")
    what = " ".join(str(what).split())  # a nested module prints on several lines
    raise CodeNotGivenError(
        f"Layer '{layer_name}' (TorchModuleWrapper) wraps a torch module ({what}); the file "
        "holds its weights but not its code, and lamina never unpickles one. Hint: give a "
        f"module of the same structure when loading, custom_objects={{'{layer_name}': "
        "<the module, or a function making it>}; the file's weights are loaded into it."
    )
