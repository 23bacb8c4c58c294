"""The large negative numbers that masked attention scores and softmax logits get, per dtype.

Keras masks with a large finite number rather than -inf (a row with every key masked then stays
finite). Its float32 numbers overflow float16 (-1e9 becomes -inf, and `0 * -inf` is NaN at the
kept positions), so under a `mixed_float16` policy it takes smaller ones; these follow it.
"""

from __future__ import annotations

import torch


def masked_logit(dtype: torch.dtype) -> float:
    """The negative number Keras's Softmax and attention layers add to masked logits.

    Args:
        dtype: the dtype of the logits.

    Example:
        >>> masked_logit(torch.float32), masked_logit(torch.float16)
        (-1000000000.0, -30000.0)
    """
    return -3e4 if dtype == torch.float16 else -1e9


def fused_masked_logit(dtype: torch.dtype) -> float:
    """The number Keras's fused `dot_product_attention` fills masked scores with.

    Args:
        dtype: the dtype of the scores.

    Example:
        >>> fused_masked_logit(torch.float16)
        -45850.0
    """
    return -0.7 * (65500.0 if dtype == torch.float16 else 3.38953e38)
