"""SwapEMAWeights: evaluate (and optionally end each epoch) with the optimizer's moving averages."""

from __future__ import annotations

import torch

from lamina.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Put the optimizer's exponential moving averages of the weights into the model while it is
    evaluated or predicts, and the trained weights back afterwards.

    The optimizer must be created with `use_ema=True`. With `swap_on_epoch=True` the averages are
    also in the model from each epoch's end to the next epoch's start, so callbacks that run at
    epoch end (ModelCheckpoint, for instance) see them.

    Args:
        swap_on_epoch: also swap at epoch end and back at the next epoch's start.

    Examples:
        >>> callback = SwapEMAWeights(swap_on_epoch=True)
        >>> callback.swap_on_epoch
        True
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._averages_in_model = False

    def _optimizer(self):
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if getattr(optimizer, "moving_averages", None) is None:
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                f"Received: use_ema={getattr(optimizer, 'use_ema', False)}"
            )
        return optimizer

    def _swap(self):
        optimizer = self._optimizer()
        with torch.no_grad():
            for weight, average in zip(
                optimizer.parameters, optimizer.moving_averages, strict=True
            ):
                trained = weight.detach().clone()
                weight.copy_(average)
                average.copy_(trained)

    def _put_averages_in(self):
        if not self._averages_in_model:
            self._swap()
            self._averages_in_model = True

    def _take_averages_out(self):
        if self._averages_in_model:
            self._swap()
            self._averages_in_model = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._take_averages_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._put_averages_in()
            if epoch == self.params.get("epochs", 0) - 1:
                # fit copies the averages into the weights after training: keep them equal.
                optimizer = self._optimizer()
                with torch.no_grad():
                    for weight, average in zip(
                        optimizer.parameters, optimizer.moving_averages, strict=True
                    ):
                        average.copy_(weight)

    def on_test_begin(self, logs=None):
        self._put_averages_in()

    def on_test_end(self, logs=None):
        self._take_averages_out()

    def on_predict_begin(self, logs=None):
        self._put_averages_in()

    def on_predict_end(self, logs=None):
        # Keras 3.15 tests `not in model` here, so it never swaps back after predict; lamina does.
        self._take_averages_out()
