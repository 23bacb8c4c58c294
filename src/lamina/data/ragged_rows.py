"""RaggedRows: rows of different lengths (token ids), what `TextVectorization(ragged=True)` and
`Dataset.ragged_batch` give.

TensorFlow answers both with a `tf.RaggedTensor`; torch has no such type. RaggedRows is
the rows padded with 0 at the end (a plain int64 tensor to every torch op and to a model, where
`Embedding(mask_zero=True)` skips the padding) that also remembers each row's length, so the
parts of the RaggedTensor API that text code reads see rows without padding: `rows[i]`,
iterating, `.numpy()` (an object array of rows, which `pad_sequences` pre-pads as TensorFlow's
course notebooks do), `.to_list()`, `.row_lengths()` and `.to_tensor()`.
"""

from __future__ import annotations

import numpy as np
import torch


class RaggedRows(torch.Tensor):
    """Rows of token ids of different lengths, stored padded with 0 at the end.

    Build one with `RaggedRows.from_padded(padded, lengths)`. Torch ops on it run on the padded
    tensor and return plain tensors; indexing one row, iterating and `.numpy()` see the rows
    without padding, as on a `tf.RaggedTensor`.

    Args:
        (none: use `from_padded`.)

    Example:
        >>> rows = RaggedRows.from_padded(torch.tensor([[5, 2, 0], [3, 4, 7]]), [2, 3])
        >>> rows[0].tolist(), rows.to_list()
        ([5, 2], [[5, 2], [3, 4, 7]])
    """

    # Ops on it run as on the padded tensor and return plain tensors.
    __torch_function__ = torch._C._disabled_torch_function_impl

    @staticmethod
    def from_padded(padded: torch.Tensor, lengths) -> RaggedRows:
        """The rows of `padded` (batch, longest), row i holding its first `lengths[i]` values.

        Args:
            padded: a 2-D tensor, each row padded at its end.
            lengths: each row's length (a list or 1-D tensor of ints).

        Example:
            >>> RaggedRows.from_padded(torch.tensor([[1, 0]]), [1]).row_lengths().tolist()
            [1]
        """
        rows = padded.as_subclass(RaggedRows)
        rows._lengths = [int(n) for n in lengths]
        return rows

    def row_lengths(self) -> torch.Tensor:
        """Each row's length, as TensorFlow's `RaggedTensor.row_lengths()`.

        Example:
            >>> RaggedRows.from_padded(torch.tensor([[1, 2], [3, 0]]), [2, 1]).row_lengths()
            tensor([2, 1])
        """
        return torch.tensor(self._lengths, dtype=torch.int64)

    def to_tensor(self, default_value=0) -> torch.Tensor:
        """The rows padded at their end to the longest, as `RaggedTensor.to_tensor()`.

        Args:
            default_value: the padding value.

        Example:
            >>> RaggedRows.from_padded(torch.tensor([[1, 2], [3, 0]]), [2, 1]).to_tensor(-1)
            tensor([[ 1,  2],
                    [ 3, -1]])
        """
        padded = self.as_subclass(torch.Tensor).clone()
        for row, length in enumerate(self._lengths):
            padded[row, length:] = default_value
        return padded

    def to_list(self) -> list[list[int]]:
        """The rows as Python lists, without padding (`RaggedTensor.to_list()`).

        Example:
            >>> RaggedRows.from_padded(torch.tensor([[1, 2], [3, 0]]), [2, 1]).to_list()
            [[1, 2], [3]]
        """
        return [row.tolist() for row in self]

    def numpy(self, *, force=False) -> np.ndarray:
        """A 1-D object array of the rows as NumPy arrays, as `RaggedTensor.numpy()` gives.

        Args:
            force: as torch's `Tensor.numpy(force=...)`: copy from any device.

        Example:
            >>> RaggedRows.from_padded(torch.tensor([[1, 2], [3, 0]]), [2, 1]).numpy()[1]
            array([3])
        """
        padded = self.as_subclass(torch.Tensor).detach().cpu().numpy()
        rows = np.empty(len(self._lengths), dtype=object)
        rows[:] = [padded[row, :length] for row, length in enumerate(self._lengths)]
        return rows

    def __array__(self, dtype=None, copy=None):
        # `np.asarray(rows)`: the padded array, as the tensor a model is fed.
        padded = self.as_subclass(torch.Tensor).detach().cpu().numpy()
        return padded if dtype is None else padded.astype(dtype)

    def __getitem__(self, index):
        plain = self.as_subclass(torch.Tensor)
        if isinstance(index, (int, np.integer)):
            return plain[index, : self._lengths[index]]
        return plain[index]

    def __iter__(self):
        plain = self.as_subclass(torch.Tensor)
        return (plain[row, :length] for row, length in enumerate(self._lengths))

    def __repr__(self, *, tensor_contents=None):
        return f"<RaggedRows {self.to_list()}>"

    __str__ = __repr__
