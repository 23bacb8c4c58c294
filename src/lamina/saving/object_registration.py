"""Custom objects by name: `register_keras_serializable`, `custom_object_scope` and lookups.

A registered class is known as `"<package>><name>"` (Keras's `"Custom>MyLayer"`), the name saved
as `registered_name` in model configs, so a `.keras` file written by Keras or lamina finds it
again on loading without `custom_objects=`.

Examples:
    >>> @lamina.saving.register_keras_serializable(package="demo")
    ... class Scale(lamina.layers.Layer):
    ...     pass
    >>> lamina.saving.get_registered_name(Scale)
    'demo>Scale'
"""

from __future__ import annotations

import inspect
import threading

_GLOBAL_CUSTOM_OBJECTS: dict = {}
_GLOBAL_CUSTOM_NAMES: dict = {}
_scopes = threading.local()


def _scope_stack() -> list:
    if not hasattr(_scopes, "stack"):
        _scopes.stack = []
    return _scopes.stack


def get_custom_objects() -> dict:
    """The global `{registered name: object}` dict; editing it registers objects too.

    Examples:
        >>> lamina.saving.get_custom_objects()["MyLayer"] = MyLayer  # doctest: +SKIP
    """
    return _GLOBAL_CUSTOM_OBJECTS


def active_custom_objects() -> dict:
    """Global custom objects overlaid with those of every open `custom_object_scope`."""
    merged = dict(_GLOBAL_CUSTOM_OBJECTS)
    for scope in _scope_stack():
        merged.update(scope)
    return merged


def register_keras_serializable(package="Custom", name=None):
    """A class decorator registering a class (or function) as `"<package>><name>"`.

    Args:
        package: the registration's namespace (default "Custom").
        name: the name inside it (default the object's `__name__`).

    Returns:
        A decorator returning the object unchanged.

    Examples:
        >>> @register_keras_serializable(package="my_package")
        ... class MyDense(lamina.layers.Dense):
        ...     pass
    """

    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered_name = f"{package}>{class_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError(
                f"Cannot register {arg.__name__}: a class registered as serializable must "
                "implement `get_config()`."
            )
        _GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj) -> str:
    """The name `obj` is registered under, or its `__name__` when it is not registered.

    Args:
        obj: a class or function.

    Examples:
        >>> get_registered_name(lamina.layers.Dense)
        'Dense'
    """
    if obj in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[obj]
    return obj.__name__


def registered_function_config(fn) -> dict | None:
    """Keras's serialized form of a function registered with `register_keras_serializable`
    (its registered name as the config), or None for a function that is not registered.

    Args:
        fn: a function.

    Examples:
        >>> registered_function_config(len) is None
        True
    """
    if fn not in _GLOBAL_CUSTOM_NAMES:
        return None
    return {
        "module": "builtins",
        "class_name": "function",
        "config": _GLOBAL_CUSTOM_NAMES[fn],
        "registered_name": "function",
    }


def saved_module(obj) -> str | None:
    """The `"module"` a saved entry gives a user's class or function: its module, or None for a
    script's own (`__main__`), as Keras writes it (the name would mean another script on load).

    Args:
        obj: the class or function being serialized.

    Examples:
        >>> saved_module(len)
        'builtins'
    """
    module = getattr(obj, "__module__", None)
    return None if module == "__main__" else module


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered as `name`, or None when nobody knows it.

    Looked up in the open `custom_object_scope`s first, then the global registry, then
    `custom_objects`, then `module_objects`.

    Args:
        name: the registered name (`"package>Name"` for `register_keras_serializable`'s).
        custom_objects: an extra `{name: object}` mapping.
        module_objects: a last `{name: object}` mapping (a module's `globals()`).

    Examples:
        >>> get_registered_object("Custom>Nothing") is None
        True
        >>> get_registered_object("Twice", custom_objects={"Twice": len}) is len
        True
    """
    for scope in reversed(_scope_stack()):
        if name in scope:
            return scope[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def registered_class(kind: str, entry: dict, known):
    """The user's class a Keras entry `{"class_name", "registered_name", ...}` of `kind` names:
    registered, or in an open `custom_object_scope`. Else the unknown-name error, which lists
    the built-in `known` names.

    Args:
        kind: what the entry describes, for the error ("initializer").
        entry: the serialized object.
        known: the built-in names, for the error.

    Examples:
        >>> registered_class("constraint", {"class_name": "Wrong"}, ["MaxNorm"])
        Traceback (most recent call last):
        ...
        ValueError: Unknown constraint 'Wrong'. Valid constraint names: 'MaxNorm'.
    """
    for name in (entry.get("registered_name"), entry.get("class_name")):
        found = get_registered_object(name) if name else None
        if found is not None:
            return found
    from lamina.engine import errors

    raise errors.unknown_name(kind, entry["class_name"], known)


def registered_function(kind: str, entry: dict, known):
    """The user's function a Keras entry `{"class_name": "function", "config": "pkg>name"}` of
    `kind` names (a registered constraint or regularizer function), else the unknown-name error.

    Args:
        kind: what the entry describes, for the error ("constraint").
        entry: the serialized function.
        known: the built-in names, for the error.

    Examples:
        >>> registered_function("constraint", {"class_name": "function", "config": "x>f"}, [])
        Traceback (most recent call last):
        ...
        ValueError: Unknown constraint 'x>f'. Valid constraint names: .
    """
    name = entry.get("config")
    found = get_registered_object(name) if isinstance(name, str) else None
    if found is None or not callable(found):
        from lamina.engine import errors

        raise errors.unknown_name(kind, name, known)
    return found


def with_registered(custom_objects=None) -> dict:
    """`custom_objects` over every registered object, each known by its registered name
    (`"MyPkg>MyLayer"`) and by its bare `__name__`: what loading resolves class names in.

    Args:
        custom_objects: the caller's `{name: object}` (wins over registrations).

    Examples:
        >>> with_registered({"f": len})["f"] is len
        True
    """
    registered = active_custom_objects()
    by_name = {getattr(obj, "__name__", key): obj for key, obj in registered.items()}
    return {**by_name, **registered, **(custom_objects or {})}


class CustomObjectScope:
    """A `with` block in which extra `{name: object}` entries are known to deserialization.

    Args:
        custom_objects: one or more dicts of objects (None entries ignored).

    Examples:
        >>> with CustomObjectScope({"MyLayer": MyLayer}):  # doctest: +SKIP
        ...     model = lamina.models.load_model("model.keras")
    """

    def __init__(self, custom_objects=None, *more):
        self.custom_objects = {}
        for objects in (custom_objects, *more):
            self.custom_objects.update(objects or {})

    def __enter__(self):
        _scope_stack().append(self.custom_objects)
        return self

    def __exit__(self, *exc_info):
        _scope_stack().remove(self.custom_objects)


custom_object_scope = CustomObjectScope


def refuse_registered_name_of_builtin(entry: dict, name: str) -> None:
    """Refuse an entry whose `registered_name` names something else than the built-in `name` its
    class_name resolved to (Keras's rule): a custom class registered as `package>Name` that is
    not registered now must not silently become lamina's built-in of the same class_name.

    Args:
        entry: the `{"class_name", "config", "registered_name", ...}` entry.
        name: the built-in's name the entry resolved to.

    Example:
        >>> refuse_registered_name_of_builtin({"class_name": "Dense", "registered_name": None},
        ...                                   "Dense")
    """
    explicit = entry.get("registered_name")
    if not explicit or explicit in (name, entry.get("class_name"), "function"):
        return
    raise ValueError(
        f"The config's registered_name={explicit!r} names no registered object, and its "
        f"class_name {entry.get('class_name')!r} resolved to the built-in {name!r}; refusing to "
        "substitute the built-in. Hint: register the class or function with "
        "register_keras_serializable(), or pass it in custom_objects={"
        f"{explicit!r}: ...}}."
    )
