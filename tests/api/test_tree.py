"""lamina.tree against keras.tree: same structures in, same leaves, paths and rebuilds out."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from lamina import tree
from tests.parity.reference import keras

Pair = collections.namedtuple("Pair", ["a", "b"])  # fields in sorted order (see test below)
Point = collections.namedtuple("Point", ["y", "x"])

STRUCTURES = {
    "leaf": 7,
    "none": None,
    "string": "text",
    "array": np.arange(3),
    "flat_list": [1, 2, 3],
    "single": [5],
    "nested_lists": [[1, 2, 3], [4, [5], [[6]]]],
    "none_inside": [1, None, {"b": 2, "a": (3, None)}],
    "dict_sorted": {"c": 1, "a": 2, "b": [3, 4]},
    "int_keys": {100: "world!", 6: "Hello"},
    "ordered_dict": collections.OrderedDict([("b", 1), ("a", 2)]),
    "namedtuple": Pair(1, [2, 3]),
    "deque": collections.deque([1, [2, 3]]),
    "empties": {"a": {}, "b": [], "c": ()},
    "mixed": {"x": [Pair(1, {"k": 2}), (3, None)], "w": collections.OrderedDict(z=4, y=[5])},
}
CASES = list(STRUCTURES.items())
IDS = [name for name, _ in CASES]


def same(a, b):
    """Equal values of equal types, all the way down (arrays compared by value)."""
    assert type(a) is type(b), f"{type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert set(a) == set(b)
        for key in a:
            same(a[key], b[key])
    elif isinstance(a, (list, tuple, collections.deque)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            same(x, y)
    else:
        assert a == b


def key_orders(structure) -> list:
    """Every dict's keys in their order (and each node's type), depth first."""
    if isinstance(structure, dict):
        return [(type(structure), list(structure))] + [
            order for value in structure.values() for order in key_orders(value)
        ]
    if isinstance(structure, (list, tuple, collections.deque)):
        return [(type(structure), None)] + [o for item in structure for o in key_orders(item)]
    return []


def assert_same_key_order(ours, theirs):
    assert key_orders(ours) == key_orders(theirs)


# Dicts whose keys are not in sorted order, inside every kind of node. Not a dict held (at any
# depth) by a plain dict: Keras's torch-backend tree sorts only the outermost such dicts (its
# `_dict_to_ordered_dict` stops at the first dict it sorts), where its optree backend and lamina
# sort every level alike.
UNSORTED = {
    "dict": {"c": 1, "a": 2, "b": [3, 4]},
    "nested_lists": [[{"z": 1, "y": 2}], ({"q": 3, "p": [4]},)],
    "ordered_dict": collections.OrderedDict([("b", 1), ("a", {"d": 2, "c": 3})]),
    "defaultdict": collections.defaultdict(list, {"c": 1, "a": 2}),
    "namedtuple": Point({"c": 1, "a": 2}, ({"k": 3, "j": 4},)),
    "list_of_dicts": [{"c": 1, "a": 2}, ({"y": 3, "x": 4},)],
    "int_keys": {10: "x", 2: [1, 2]},
}
UNSORTED_CASES = list(UNSORTED.values())
UNSORTED_IDS = list(UNSORTED)


@pytest.mark.parametrize("structure", UNSORTED_CASES, ids=UNSORTED_IDS)
def test_pack_sequence_as_rebuilds_dicts_in_keras_key_order(structure):
    """Keras rebuilds a dict in sorted-key order (an OrderedDict in its own order)."""
    flat = list(range(len(keras.tree.flatten(structure))))
    ours = tree.pack_sequence_as(structure, flat)
    theirs = keras.tree.pack_sequence_as(structure, flat)
    same(ours, theirs)
    assert_same_key_order(ours, theirs)


@pytest.mark.parametrize("structure", UNSORTED_CASES, ids=UNSORTED_IDS)
def test_each_rebuild_keeps_keras_key_order(structure):
    """map_structure(_up_to) keep a dict's key order; traverse and lists_to_tuples sort it."""

    def tag(x):
        return f"<{x!r}>"

    results = {
        "flatten": (tree.flatten(structure), keras.tree.flatten(structure)),
        "map_structure": (
            tree.map_structure(tag, structure),
            keras.tree.map_structure(tag, structure),
        ),
        "map_structure_two": (
            tree.map_structure(lambda x, y: (x, y), structure, structure),
            keras.tree.map_structure(lambda x, y: (x, y), structure, structure),
        ),
        "map_structure_up_to": (
            tree.map_structure_up_to(structure, tag, structure),
            keras.tree.map_structure_up_to(structure, tag, structure),
        ),
        "traverse_top_down": (
            tree.traverse(lambda x: None, structure),
            keras.tree.traverse(lambda x: None, structure),
        ),
        "traverse_bottom_up": (
            tree.traverse(lambda x: None, structure, top_down=False),
            keras.tree.traverse(lambda x: None, structure, top_down=False),
        ),
        "lists_to_tuples": (
            tree.lists_to_tuples(structure),
            keras.tree.lists_to_tuples(structure),
        ),
    }
    for name, (ours, theirs) in results.items():
        same(ours, theirs)
        assert key_orders(ours) == key_orders(theirs), name


@pytest.mark.parametrize(
    "structure",
    [{"c": (1,), "a": [2, None]}, [{"c": (1,), "a": ()}], Point({"c": (1,), "a": (2,)}, (3,))],
)
def test_map_shape_structure_rebuilds_dicts_in_keras_key_order(structure):
    ours = tree.map_shape_structure(repr, structure)
    theirs = keras.tree.map_shape_structure(repr, structure)
    same(ours, theirs)
    assert_same_key_order(ours, theirs)


@pytest.mark.parametrize("structure", [s for _, s in CASES], ids=IDS)
def test_flatten_and_is_nested_match_keras(structure):
    same(tree.flatten(structure), keras.tree.flatten(structure))
    assert tree.is_nested(structure) == keras.tree.is_nested(structure)


@pytest.mark.parametrize("structure", [s for _, s in CASES], ids=IDS)
def test_flatten_with_path_matches_keras(structure):
    ours, theirs = tree.flatten_with_path(structure), keras.tree.flatten_with_path(structure)
    assert [path for path, _ in ours] == [path for path, _ in theirs]
    same([leaf for _, leaf in ours], [leaf for _, leaf in theirs])


def test_namedtuple_paths_are_field_positions():
    # Keras's torch tree numbers a namedtuple's fields in sorted-name order (Point(y, x) gives x
    # path 0); its optree tree and its docstring use declaration order, as lamina does.
    assert tree.flatten_with_path(Point(1, 2)) == [((0,), 1), ((1,), 2)]


@pytest.mark.parametrize("structure", [s for _, s in CASES], ids=IDS)
def test_pack_sequence_as_inverts_flatten_like_keras(structure):
    flat = [f"leaf{i}" for i in range(len(keras.tree.flatten(structure)))]
    ours = tree.pack_sequence_as(structure, flat)
    same(ours, keras.tree.pack_sequence_as(structure, flat))
    assert_same_key_order(ours, keras.tree.pack_sequence_as(structure, flat))
    same(tree.pack_sequence_as(structure, tree.flatten(structure)), structure)


def test_pack_sequence_as_counts_leaves():
    with pytest.raises(ValueError, match="holds 3 leaves; received a flat_sequence of 2"):
        tree.pack_sequence_as({"b": 0, "a": [0, None]}, [1, 2])
    with pytest.raises(ValueError):
        keras.tree.pack_sequence_as({"b": 0, "a": [0, None]}, [1, 2])


@pytest.mark.parametrize("structure", [s for _, s in CASES], ids=IDS)
def test_map_structure_matches_keras(structure):
    def describe(x):
        return f"<{x!r}>"

    same(tree.map_structure(describe, structure), keras.tree.map_structure(describe, structure))
    same(
        tree.map_structure(describe, structure, none_is_leaf=False),
        keras.tree.map_structure(describe, structure, none_is_leaf=False),
    )


def test_map_structure_over_several_structures():
    a, b = {"b": 1, "a": [2, 3]}, {"a": [30, 20], "b": 10}
    same(
        tree.map_structure(lambda x, y: x + y, a, b),
        keras.tree.map_structure(lambda x, y: x + y, a, b),
    )
    same(tree.map_structure(lambda x, y: x + y, a, b), {"b": 11, "a": [32, 23]})


@pytest.mark.parametrize(
    ("a", "b"),
    [([1, 2], [1, 2, 3]), ([1, 2], (1, 2)), ([1, [2]], [1, 2]), ({"a": 1}, {"b": 1})],
    ids=["arity", "list_vs_tuple", "depth", "keys"],
)
def test_mismatched_structures_raise_like_keras(a, b):
    with pytest.raises(ValueError, match="same nested structure"):
        tree.map_structure(lambda x, y: x, a, b)
    with pytest.raises(ValueError):
        keras.tree.map_structure(lambda x, y: x, a, b)
    with pytest.raises(ValueError, match="same nested structure"):
        tree.assert_same_structure(a, b)
    with pytest.raises(ValueError):
        keras.tree.assert_same_structure(a, b)


def test_none_is_leaf_false_requires_none_everywhere():
    with pytest.raises(ValueError, match="some arguments are None"):
        tree.map_structure(lambda x, y: x, [1, None], [1, 2], none_is_leaf=False)
    assert tree.map_structure(lambda x: 5, [1, None], none_is_leaf=False) == [5, None]


def test_assert_same_structure_accepts_what_keras_accepts():
    for a, b in [
        ([(0, 1)], [(2, 3)]),
        ({"a": 1}, collections.OrderedDict(a=2)),
        ([1, None], [1, 2]),
        (Pair(0, 1), Pair(2, 3)),
    ]:
        keras.tree.assert_same_structure(a, b)
        tree.assert_same_structure(a, b)
    also_pair = collections.namedtuple("Pair", ["a", "b"])
    with pytest.raises(ValueError, match="same nested structure"):
        tree.assert_same_structure(Pair(0, 1), also_pair(2, 3))


def test_assert_same_paths_matches_keras():
    tree.assert_same_paths([0, 1], (2, 3))
    tree.assert_same_paths(Pair(0, 1), Point(2, 3))
    keras.tree.assert_same_paths([0, 1], (2, 3))
    with pytest.raises(ValueError, match=r"Paths in `a` missing in `b`:\n\{\(1, 0\)\}"):
        tree.assert_same_paths([0, [1]], (2, 3))
    with pytest.raises(ValueError, match=r"Paths in `a` missing in `b`:\n\{\(1, 0\)\}"):
        keras.tree.assert_same_paths([0, [1]], (2, 3))


@pytest.mark.parametrize(
    ("shallow", "func", "structure"),
    [
        ([None, None], len, [[1, 1], [2, 2]]),
        ([None, [None, None]], str, [[1, 1], [2, 2]]),
        ({"a": None, "b": [None]}, repr, {"b": [[1, 2]], "a": {"x": 1}}),
    ],
)
def test_map_structure_up_to_matches_keras(shallow, func, structure):
    same(
        tree.map_structure_up_to(shallow, func, structure),
        keras.tree.map_structure_up_to(shallow, func, structure),
    )


def test_map_structure_up_to_rejects_a_shallower_structure():
    with pytest.raises(ValueError, match=r"at path \(1,\)"):
        tree.map_structure_up_to([None, [None, None]], str, [[1, 1], 2])


@pytest.mark.parametrize("top_down", [True, False])
def test_traverse_visits_in_keras_order(top_down):
    structure = [(1, 2), [3], {"a": 4}]
    ours, theirs = [], []
    same(tree.traverse(ours.append, structure, top_down), structure)
    keras.tree.traverse(theirs.append, structure, top_down)
    same(ours, theirs)


@pytest.mark.parametrize(
    ("func", "top_down"),
    [
        (lambda x: keras.tree.MAP_TO_NONE if x == 2 else None, True),
        (lambda x: "T" if isinstance(x, tuple) else None, True),
        (lambda x: x * 10 if isinstance(x, int) else None, False),
        (lambda x: "X" if isinstance(x, tuple) else None, False),
    ],
    ids=["map_to_none", "replace_subtree", "bottom_up_leaves", "bottom_up_nodes"],
)
def test_traverse_replacements_match_keras(func, top_down):
    structure = [1, 2, (2, 3), [2]]

    def ours(x):  # lamina's own sentinel where Keras's would be returned
        result = func(x)
        return tree.MAP_TO_NONE if result is keras.tree.MAP_TO_NONE else result

    same(tree.traverse(ours, structure, top_down), keras.tree.traverse(func, structure, top_down))


def test_traverse_bottom_up_sees_the_rebuilt_node():
    seen = []
    tree.traverse(
        lambda x: (seen.append(x), x * 10 if isinstance(x, int) else None)[1],
        [1, (2, 3)],
        top_down=False,
    )
    assert seen == [1, 2, 3, (20, 30), [10, (20, 30)]]


@pytest.mark.parametrize("structure", [s for _, s in CASES], ids=IDS)
def test_lists_to_tuples_matches_keras(structure):
    same(tree.lists_to_tuples(structure), keras.tree.lists_to_tuples(structure))


@pytest.mark.parametrize(
    "structure",
    [[(1, None), {"a": (2, 3)}, (4,)], [[1, 2]], ((), (None,)), {"s": [None, 5], "t": [(1,)]}],
)
def test_map_shape_structure_matches_keras(structure):
    same(
        tree.map_shape_structure(repr, structure),
        keras.tree.map_shape_structure(repr, structure),
    )


def test_rebuilds_keep_container_types():
    factory = collections.defaultdict(list, b=1, a=2)
    rebuilt = tree.map_structure(lambda x: x + 1, factory)
    assert isinstance(rebuilt, collections.defaultdict) and rebuilt.default_factory is list
    assert list(rebuilt.items()) == [("b", 2), ("a", 3)]
    bounded = tree.map_structure(lambda x: x, collections.deque([1, 2], maxlen=3))
    assert bounded.maxlen == 3


def test_unsortable_keys_say_why():
    with pytest.raises(TypeError, match="cannot be sorted"):
        tree.flatten({1: "a", "b": 2})
