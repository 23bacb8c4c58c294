"""Nested structures (lists, tuples, namedtuples, dicts, deques), walked as `keras.tree` does.

A structure's nodes are lists, tuples, namedtuples, dicts (of any `dict` subclass) and deques;
everything else, `None`, strings and arrays included, is a leaf. A dict's children are visited in
sorted-key order, an `OrderedDict`'s in insertion order, so `flatten` and `pack_sequence_as` agree
with Keras's on every structure. Rebuilt structures keep their type (a namedtuple stays that
namedtuple, a `defaultdict` keeps its factory, a deque its `maxlen`). As in Keras, `map_structure`
and `map_structure_up_to` keep a dict's key order, while `pack_sequence_as`, `traverse`,
`lists_to_tuples` and `map_shape_structure` rebuild a dict in sorted-key order.

Examples:
    >>> from lamina import tree
    >>> tree.flatten({"b": [1, 2], "a": 3})
    [3, 1, 2]
    >>> tree.map_structure(lambda x: x * 10, {"b": [1, 2], "a": 3})
    {'b': [10, 20], 'a': 30}
"""

from __future__ import annotations

import collections

__all__ = [
    "MAP_TO_NONE",
    "assert_same_paths",
    "assert_same_structure",
    "flatten",
    "flatten_with_path",
    "is_nested",
    "lists_to_tuples",
    "map_shape_structure",
    "map_structure",
    "map_structure_up_to",
    "pack_sequence_as",
    "traverse",
]


class MAP_TO_NONE:  # noqa: N801 - Keras's name
    """Returned by a `traverse` function to replace a sub-structure with `None`.

    Examples:
        >>> traverse(lambda x: MAP_TO_NONE if isinstance(x, list) else None, {"a": [1, 2], "b": 3})
        {'a': None, 'b': 3}
    """


# --------------------------------------------------------------------------------------------------
# What a node is, its children in canonical order, and how it is rebuilt from new children.


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def is_nested(structure) -> bool:
    """Whether `structure` is a node (list, tuple, namedtuple, dict or deque) rather than a leaf.

    Args:
        structure: any Python object.

    Returns:
        `True` for lists, tuples, namedtuples, dicts and deques (even empty), `False` otherwise.

    Examples:
        >>> is_nested({"a": 1}), is_nested("text"), is_nested(None)
        (True, False, False)
    """
    return isinstance(structure, (list, tuple, dict, collections.deque))


def _keys(node) -> list:
    """A dict's keys in visiting order: insertion order for OrderedDict, else sorted."""
    if isinstance(node, collections.OrderedDict):
        return list(node)
    try:
        return sorted(node)
    except TypeError:
        raise TypeError(
            f"lamina.tree visits a dict's values in sorted-key order; the keys {list(node)!r} "
            "cannot be sorted. Hint: use keys of one sortable type, or an OrderedDict."
        ) from None


def _children(node) -> list:
    """The node's children in visiting order."""
    if isinstance(node, dict):
        return [node[key] for key in _keys(node)]
    return list(node)


def _children_like(reference, node) -> list:
    """`node`'s children in `reference`'s visiting order: two dicts pair up by key (an
    OrderedDict's insertion order against a dict's sorted keys), as Keras's do."""
    if isinstance(reference, dict) and isinstance(node, dict):
        return [node[key] for key in _keys(reference)]
    return _children(node)


def _child_paths(node) -> list:
    """The path component of each child: a dict key, else a position (namedtuples too)."""
    if isinstance(node, dict):
        return _keys(node)
    return list(range(len(node)))


def _rebuild(node, children: list, keep_order: bool = False):
    """A node of `node`'s type holding `children` (given in visiting order). A dict's keys come
    in visiting order (sorted, as Keras's `pack_sequence_as` and `traverse` rebuild them), or in
    the original order with `keep_order` (as Keras's `map_structure` keeps them)."""
    if isinstance(node, dict):
        ordered = list(zip(_keys(node), children, strict=True))
        if keep_order:
            values = dict(ordered)
            ordered = [(key, values[key]) for key in node]
        if isinstance(node, collections.defaultdict):
            return type(node)(node.default_factory, ordered)
        return type(node)(ordered)
    if _is_namedtuple(node):
        return type(node)(*children)
    if isinstance(node, collections.deque):
        return type(node)(children, maxlen=node.maxlen)
    if isinstance(node, tuple):
        return tuple(children) if type(node) is tuple else type(node)(children)
    return type(node)(children) if type(node) is not list else list(children)


def _same_node_kind(a, b) -> bool:
    """Two nodes match when of one type; any two dicts match when their keys do."""
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b)
    return type(a) is type(b) and len(a) == len(b)


def _mismatch(a, b, path) -> ValueError:
    where = f" at path {path}" if path else ""
    return ValueError(
        f"The two structures don't have the same nested structure{where}: "
        f"{_describe(a)} vs {_describe(b)}."
    )


def _describe(value) -> str:
    if isinstance(value, dict):
        return f"{type(value).__name__} with keys {sorted(map(str, value))}"
    if is_nested(value):
        return f"{type(value).__name__} of length {len(value)}"
    return f"leaf {type(value).__name__}"


# --------------------------------------------------------------------------------------------------
# The public functions.


def flatten(structure) -> list:
    """The leaves of a nested structure, in order (dict values by sorted key).

    Args:
        structure: an arbitrarily nested structure; a leaf flattens to `[leaf]`.

    Returns:
        A flat list of the leaves; `None` counts as a leaf.

    Examples:
        >>> flatten([[1, 2, 3], [4, [5], [[6]]]])
        [1, 2, 3, 4, 5, 6]
        >>> flatten({100: "world!", 6: "Hello"})
        ['Hello', 'world!']
    """
    leaves = []
    stack = [structure]
    while stack:
        item = stack.pop()
        if is_nested(item):
            stack.extend(reversed(_children(item)))
        else:
            leaves.append(item)
    return leaves


def flatten_with_path(structure) -> list:
    """`(path, leaf)` pairs: a path is the tuple of dict keys and positions leading to the leaf.

    Args:
        structure: an arbitrarily nested structure.

    Returns:
        A list of `(path, leaf)` in `flatten`'s order; a namedtuple's fields are positions.

    Examples:
        >>> flatten_with_path([{"foo": 42}])
        [((0, 'foo'), 42)]
    """
    pairs = []

    def visit(item, path):
        if not is_nested(item):
            pairs.append((path, item))
            return
        for key, child in zip(_child_paths(item), _children(item), strict=True):
            visit(child, (*path, key))

    visit(structure, ())
    return pairs


def pack_sequence_as(structure, flat_sequence):
    """`flat_sequence` given `structure`'s shape: the inverse of `flatten`.

    Args:
        structure: the nested structure to imitate (its leaves are ignored).
        flat_sequence: a sequence with one item per leaf of `structure`.

    Returns:
        A structure like `structure` whose leaves are `flat_sequence`'s items, in order.

    Examples:
        >>> pack_sequence_as({"b": 0, "a": [0, 0]}, [1, 2, 3])
        {'a': [1, 2], 'b': 3}
    """
    flat = list(flat_sequence)
    expected = len(flatten(structure))
    if len(flat) != expected:
        raise ValueError(
            f"pack_sequence_as() needs one item per leaf: the structure holds {expected} "
            f"leaves; received a flat_sequence of {len(flat)} items."
        )
    position = 0

    def build(item):
        nonlocal position
        if not is_nested(item):
            position += 1
            return flat[position - 1]
        return _rebuild(item, [build(child) for child in _children(item)])

    return build(structure)


def assert_same_structure(a, b, check_types=None) -> None:
    """Raise `ValueError` unless `a` and `b` nest the same way (leaves may differ).

    Lists, tuples, deques and each namedtuple type are distinct kinds of node; any two dicts
    match when their keys do.

    Args:
        a: a nested structure.
        b: another nested structure.
        check_types: ignored (deprecated in Keras too); kept for signature compatibility.

    Examples:
        >>> assert_same_structure([(0, 1)], [(2, 3)])
    """
    del check_types

    def check(x, y, path):
        if is_nested(x) != is_nested(y) or (is_nested(x) and not _same_node_kind(x, y)):
            raise _mismatch(x, y, path)
        if is_nested(x):
            for key, cx, cy in zip(_child_paths(x), _children(x), _children(y), strict=True):
                check(cx, cy, (*path, key))

    check(a, b, ())


def assert_same_paths(a, b) -> None:
    """Raise `ValueError` unless `a` and `b` have the same leaf paths (node types may differ).

    Args:
        a: a nested structure.
        b: another nested structure.

    Examples:
        >>> assert_same_paths([0, 1], (2, 3))
    """
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        message = "`a` and `b` don't have the same paths."
        if paths_a - paths_b:
            message += f"\nPaths in `a` missing in `b`:\n{paths_a - paths_b}"
        if paths_b - paths_a:
            message += f"\nPaths in `b` missing in `a`:\n{paths_b - paths_a}"
        raise ValueError(message)


def map_structure(func, *structures, none_is_leaf=True):
    """`func` applied leaf-wise across structures of one layout; the result has that layout.

    Args:
        func: a callable taking one argument per structure.
        *structures: one or more nested structures with the same layout.
        none_is_leaf: when False, `None` leaves are kept as `None` without calling `func`
            (all structures must then hold `None` at that place).

    Returns:
        A structure like `structures[0]` holding `func`'s results.

    Examples:
        >>> map_structure(lambda x, y: x * y, [[1], [2]], [[3], [4]])
        [[3], [8]]
    """
    if not structures:
        raise ValueError("map_structure() needs at least one structure; received none.")
    if not callable(func):
        raise TypeError(f"map_structure() needs a callable func; received {func!r}.")
    for other in structures[1:]:
        assert_same_structure(structures[0], other)

    def apply(*leaves):
        if not none_is_leaf and leaves[0] is None:
            if any(leaf is not None for leaf in leaves):
                raise ValueError(
                    "Structure mismatch: some arguments are None, others are not. "
                    f"Received arguments: {leaves}."
                )
            return None
        return func(*leaves)

    def walk(items):
        if not is_nested(items[0]):
            return apply(*items)
        columns = zip(*(_children_like(items[0], item) for item in items), strict=True)
        return _rebuild(items[0], [walk(column) for column in columns], keep_order=True)

    return walk(structures)


def map_structure_up_to(shallow_structure, func, *structures):
    """`map_structure` that stops at `shallow_structure`'s leaves, passing deeper parts whole.

    Args:
        shallow_structure: a structure whose layout is a prefix of every structure's.
        func: a callable taking one argument per structure.
        *structures: nested structures at least as deep as `shallow_structure`.

    Returns:
        A structure like `shallow_structure` holding `func`'s results.

    Examples:
        >>> map_structure_up_to([None, None], len, [[1, 1], [2, 2]])
        [2, 2]
    """
    if not structures:
        raise ValueError("map_structure_up_to() needs at least one structure; received none.")

    def walk(shallow, items, path):
        if not is_nested(shallow):
            return func(*items)
        for item in items:
            if not is_nested(item) or not _same_node_kind(shallow, item):
                raise _mismatch(shallow, item, path)
        columns = zip(*(_children_like(shallow, item) for item in items), strict=True)
        return _rebuild(
            shallow,
            [
                walk(child, column, (*path, key))
                for key, child, column in zip(
                    _child_paths(shallow), _children(shallow), columns, strict=True
                )
            ],
            keep_order=True,
        )

    return walk(shallow_structure, structures, ())


def traverse(func, structure, top_down=True):
    """Visit every sub-structure (nodes and leaves) depth-first, optionally replacing it.

    Top-down, a parent is visited first: `func(sub) is None` continues into it, any other value
    replaces it without visiting its children. Bottom-up, children are rebuilt first and `func`
    sees the rebuilt node: `None` keeps it, anything else replaces it. Return `MAP_TO_NONE` to
    replace a sub-structure with `None`.

    Args:
        func: a callable of one sub-structure.
        structure: the nested structure to traverse.
        top_down: visit parents before (True) or after (False) their children.

    Returns:
        The structure with the replacements made.

    Examples:
        >>> seen = []
        >>> traverse(seen.append, [(1, 2), [3]])
        [(1, 2), [3]]
        >>> seen
        [[(1, 2), [3]], (1, 2), 1, 2, [3], 3]
    """
    return _traverse(func, structure, top_down)


def _traverse(func, structure, top_down=True, keep_order=False):
    """`traverse`; with `keep_order`, rebuilt dicts keep their key order (lamina.data's elements
    keep the order a user wrote their dict in)."""
    if not callable(func):
        raise TypeError(f"traverse() needs a callable func; received {func!r}.")

    def resolve(result):
        return None if result is MAP_TO_NONE else result

    def walk(item):
        if top_down:
            result = func(item)
            if result is not None:
                return resolve(result)
            if not is_nested(item):
                return item
            return _rebuild(item, [walk(child) for child in _children(item)], keep_order)
        if is_nested(item):
            item = _rebuild(item, [walk(child) for child in _children(item)], keep_order)
        result = func(item)
        return item if result is None else resolve(result)

    return walk(structure)


def lists_to_tuples(structure):
    """The structure with every list turned into a tuple.

    Args:
        structure: a nested structure.

    Returns:
        The same structure with tuples where it had lists.

    Examples:
        >>> lists_to_tuples([1, [2, {"a": [3]}]])
        (1, (2, {'a': (3,)}))
    """
    return traverse(
        lambda item: tuple(item) if isinstance(item, list) else None, structure, top_down=False
    )


def _is_shape(value) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(entry, (int, type(None))) for entry in value
    )


def map_shape_structure(func, structure):
    """`map_structure` whose leaves are shapes: lists or tuples of ints and `None`s.

    Args:
        func: a callable of one shape.
        structure: a nested structure of shapes.

    Returns:
        The structure with `func` applied to each shape.

    Examples:
        >>> map_shape_structure(len, [(1, None), {"a": (2, 3, 4)}])
        [2, {'a': 3}]
    """

    def walk(item):
        if _is_shape(item) or not is_nested(item):
            return func(item)
        return _rebuild(item, [walk(child) for child in _children(item)])

    return walk(structure)
