"""Nested elements of a Dataset: a tensor, a tuple / list of elements, or a dict of elements.

Elements are walked with `lamina.tree` (dict values in sorted-key order, as `keras.tree` and
`tf.nest` do; namedtuples kept).

Everything a Dataset yields passes through `to_element`, so the pipeline sees one kind of leaf:
numeric data becomes a CPU torch tensor; text stays a NumPy array (torch has no string dtype).
"""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend, tree


class TextArray(np.ndarray):
    """A text leaf: a NumPy str array that also answers `.numpy()`, as a `tf.string` tensor does.

    Numeric leaves are torch tensors, which have `.numpy()`; programs read a batch the same way
    whatever it holds (`text_batch.numpy()[i]`), so text answers it too. Anything NumPy does with
    one works as on a plain array.

    Example:
        >>> np.array(["a", "b"]).view(TextArray).numpy().tolist()
        ['a', 'b']
    """

    def numpy(self) -> np.ndarray:
        """The text as a plain NumPy array (`tf.Tensor.numpy()`'s counterpart); one text (0-d)
        also answers `.decode()`, as the bytes a `tf.string` scalar's `.numpy()` gives do
        (`element.numpy().decode('utf-8')`).

        Example:
            >>> type(np.array(["a"]).view(TextArray).numpy()).__name__
            'ndarray'
            >>> np.array("a").view(TextArray).numpy().decode("utf-8")
            'a'
        """
        array = np.asarray(self)
        return array.view(DecodableText) if array.ndim == 0 else array


class DecodableText(np.ndarray):
    """One text read from a data set (a 0-d str array) that also has bytes' `.decode()`: a
    `tf.string` scalar's `.numpy()` is bytes, and TensorFlow programs decode it.

    Example:
        >>> np.array("café").view(DecodableText).decode("utf-8")
        'café'
    """

    def decode(self, encoding="utf-8", errors="strict") -> str:
        """The text as a str (it is decoded already).

        Args:
            encoding, errors: accepted as bytes.decode takes them.

        Example:
            >>> np.array("a").view(DecodableText).decode()
            'a'
        """
        value = self.item()
        return value.decode(encoding, errors) if isinstance(value, bytes) else value


def _as_text(array: np.ndarray) -> np.ndarray:
    return array.view(TextArray) if array.dtype.kind in "US" else array


def stack_structures(elements: list):
    """[(a1, b1), (a2, b2)] -> (stack([a1, a2]), stack([b1, b2])): one batch of like elements."""
    return tree.map_structure(lambda *leaves: stack(list(leaves)), *elements)


def is_dataframe(x) -> bool:
    """A pandas DataFrame or Series: an array to Keras, though it iterates like a generator."""
    return type(x).__module__.startswith("pandas") and hasattr(x, "to_numpy")


def is_strings(array: np.ndarray) -> bool:
    """Text: a str / bytes array, or an object array holding only str / bytes."""
    if array.dtype.kind in "US":
        return True
    return (
        array.dtype == object
        and array.size > 0
        and all(isinstance(v, (str, bytes)) for v in array.reshape(-1))
    )


def to_leaf(value):
    """One leaf -> a CPU torch tensor, or a NumPy array for text and Python objects."""
    if isinstance(value, torch.Tensor):
        return value
    if is_dataframe(value):
        # tf.data reads a DataFrame or Series as the array of its values: rows are positions,
        # never index labels (a sampled frame's index has gaps). A text column comes as objects.
        value = value.to_numpy()
        if value.dtype == object and is_strings(value):
            value = value.astype(str)
    if isinstance(value, bool):
        return torch.tensor(value)
    if isinstance(value, int):
        return torch.tensor(value, dtype=torch.int64)
    if isinstance(value, float):
        # Python floats become float32, as TensorFlow's constants do.
        return torch.tensor(value, dtype=torch.float32)
    if isinstance(value, (str, bytes)):
        return _as_text(np.asarray(value))
    if isinstance(value, list):
        array = np.asarray(value)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        value = array
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray) and value.dtype == object and is_strings(value):
        # Text in an object array (`df[column].to_numpy()`): a str array, as a tf.string tensor.
        value = value.astype(str if isinstance(value.flat[0], str) else bytes)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf" or value.dtype == np.bool_:
            if not value.flags.writeable or not value.flags.c_contiguous:
                # torch.from_numpy warns on read-only memory; a copy is the honest fix.
                value = np.array(value, order="C")
            return torch.from_numpy(value)
        return _as_text(value)
    return value


def to_element(value):
    """A user's element (tensors, arrays, numbers, nested in tuples / lists / dicts) -> leaves.

    A list of tensors or arrays is a tuple of components; any other list is one array.
    """

    def convert(node):
        if isinstance(node, list) and node and isinstance(node[0], (torch.Tensor, np.ndarray)):
            return to_element(tuple(node))
        if isinstance(node, list) or not tree.is_nested(node):
            leaf = to_leaf(node)
            return tree.MAP_TO_NONE if leaf is None else leaf
        return None  # a tuple, namedtuple or dict: convert its children

    return tree._traverse(convert, value, keep_order=True)  # a dict keeps its written order


def stack(leaves: list):
    """Stack same-shaped leaves along a new first axis."""
    first = leaves[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(leaves)
    return _as_text(np.stack(leaves))


def leaf_shape(leaf) -> tuple:
    return tuple(leaf.shape) if hasattr(leaf, "shape") else ()


def row_of(leaf, row: int):
    """Row `row` of a tensor or array: a 0-d NumPy array rather than a NumPy scalar for one row of
    text, so an element's text leaf is the same kind of object whether sliced or built."""
    value = leaf[row]
    return _as_text(np.asarray(value)) if isinstance(value, np.generic) else value


def slice_leaf(leaf, index):
    """`leaf[index]` for a tensor or array; an index array gathers rows."""
    if isinstance(leaf, torch.Tensor) and isinstance(index, np.ndarray):
        if leaf.device.type == "cpu" and not leaf.requires_grad and leaf.dtype != torch.bfloat16:
            # NumPy's row gather is about 5x faster than torch's indexing kernels on CPU
            # (measured: 64 rows of 32x32x3 floats, 0.3 ms vs 1.8 ms).
            return torch.from_numpy(leaf.numpy()[index])
        rows = torch.from_numpy(index)
        if leaf.device.type == "cuda":  # pinned and asynchronous: the device need not wait
            return leaf[rows.pin_memory().to(leaf.device, non_blocking=True)]
        return leaf[rows.to(leaf.device)]
    return leaf[index]


def to_numpy(element):
    """Every leaf as a NumPy array (for `as_numpy_iterator`): tensors on any device, bfloat16 as
    `ml_dtypes.bfloat16` (`backend.as_numpy`); a single string as a Python str, as tf.data hands
    out one `bytes` (programs slice it: `text[:50]`)."""
    return tree.map_structure(_numpy_leaf, element)


def _numpy_leaf(leaf):
    if isinstance(leaf, torch.Tensor):
        return backend.as_numpy(leaf)
    if isinstance(leaf, np.ndarray) and leaf.ndim == 0 and leaf.dtype.kind in "US":
        return leaf.item()
    return leaf
