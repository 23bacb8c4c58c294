"""Keras's `keras.legacy` namespace: Keras 2's formats, for code written against them."""

from lamina.legacy import saving

__all__ = ["saving"]
