"""TerminateOnNaN: stop at the first non-finite loss."""

from __future__ import annotations

import math

from lamina.callbacks.callback import Callback
from lamina.utils.io_utils import print_msg


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite.

    It reads the loss after every batch, which makes the host wait for the device once per batch.
    By default training stops gracefully (`model.stop_training = True`: the epoch ends and every
    callback's `on_train_end` runs); `raise_error=True` raises at once instead, so no callback
    cleans up after a failed run (a backup is left as it was).

    Args:
        raise_error: raise a `RuntimeError` at the bad batch rather than stopping gracefully
            (default False).

    Examples:
        >>> model = lamina.Sequential([lamina.Input((1,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer=lamina.optimizers.SGD(learning_rate=1e30), loss="mse")
        >>> x = np.full((8, 1), 1e10)  # the first step throws the weights to infinity
        >>> history = model.fit(x, np.zeros((8, 1)), batch_size=2, epochs=5, verbose=0,
        ...                     callbacks=[TerminateOnNaN()])
        Batch 1: Invalid loss, terminating training
        >>> len(history.epoch)  # stopped in the first epoch
        1
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = bool(raise_error)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (math.isnan(loss) or math.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                    "Terminating training immediately."
                )
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
