"""`rearrange`: einops-style axis rearrangement (reorder, merge and split axes by name).

The pattern is parsed into elementary axes; the tensor is reshaped to them, permuted into the
output order and reshaped into the output's groups (one `reshape`, one `permute`, one `reshape`).
"""

from __future__ import annotations

import math
import re

from lamina.ops.core import symbolic_op
from lamina.ops.core import tensor as _tensor

_TOKEN = re.compile(r"\(|\)|\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\d+")


def _groups(side: str, who: str) -> list[list[str]]:
    """'b (h w) c' -> [['b'], ['h', 'w'], ['c']] ('...' is one group of its own)."""
    groups, current = [], None
    for token in _TOKEN.findall(side):
        if token == "(":
            current = []
        elif token == ")":
            groups.append(current)
            current = None
        elif current is not None:
            current.append(token)
        else:
            groups.append([token])
    if current is not None:
        raise ValueError(f"{who}: unbalanced parentheses in {side!r}.")
    return groups


@symbolic_op("rearrange")
def rearrange(tensor, pattern, **axes_lengths):
    """Rearrange axes by an einops pattern, e.g. `"b h w c -> b (h w) c"`.

    Args:
        tensor: input tensor.
        pattern: `"input axes -> output axes"`; parentheses merge (right) or split (left) axes,
            `...` stands for any number of axes, `1` for a unit axis.
        **axes_lengths: sizes of axes that a split cannot infer.

    Examples:
        >>> rearrange(torch.zeros(2, 3, 4), "b h w -> b (h w)").shape
        torch.Size([2, 12])
    """
    x = _tensor(tensor)
    who = "rearrange()"
    left, right = (part.strip() for part in pattern.split("->"))
    in_groups, out_groups = _groups(left, who), _groups(right, who)
    ellipsis_rank = x.dim() - (len(in_groups) - (1 if ["..."] in in_groups else 0))
    sizes = dict(axes_lengths)
    elementary_shape, names = [], []
    dim = 0
    for group in in_groups:
        if group == ["..."]:
            for i in range(ellipsis_rank):
                sizes[f"...{i}"] = x.shape[dim + i]
                elementary_shape.append(x.shape[dim + i])
                names.append(f"...{i}")
            dim += ellipsis_rank
            continue
        unknown = [n for n in group if n not in sizes and not n.isdigit()]
        known = math.prod(int(n) if n.isdigit() else sizes[n] for n in group if n not in unknown)
        if len(unknown) > 1:
            raise ValueError(f"{who}: cannot infer the sizes of {unknown}; pass them as keywords.")
        if unknown:
            sizes[unknown[0]] = x.shape[dim] // known
        for n in group:
            if not n.isdigit():
                elementary_shape.append(sizes[n])
                names.append(n)
        dim += 1
    out_names, out_shape = [], []
    for group in out_groups:
        members = [f"...{i}" for i in range(ellipsis_rank)] if group == ["..."] else group
        if group == ["..."]:
            out_names += members
            out_shape += [sizes[m] for m in members]
            continue
        out_names += [n for n in members if not n.isdigit()]
        out_shape.append(math.prod(1 if n.isdigit() else sizes[n] for n in members))
    if sorted(out_names) != sorted(names):
        raise ValueError(f"{who}: the axes of {left!r} and {right!r} differ.")
    order = [names.index(n) for n in out_names]
    return x.reshape(elementary_shape).permute(order).reshape(out_shape)
