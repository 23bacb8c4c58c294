"""TerminateOnNaN: stop at the first non-finite loss."""

from __future__ import annotations

import math

from lamina.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite.

    It reads the loss after every batch, which makes the host wait for the device once per batch.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (math.isnan(loss) or math.isinf(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
