"""Callbacks: hooks into fit / evaluate / predict, with Keras's names and arguments.

Batch-level `logs` are lazy: a value is computed (and the host waits for the device) only when a
callback reads it, so a callback that ignores batch logs costs no synchronization.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

import torch

from lamina import backend, tree
from lamina.utils.io_utils import print_msg
from lamina.utils.progbar import Progbar


def log_value(value):
    """A metric result as a log entry: a Python float, or a NumPy array for a per-class result
    (F1Score(average=None), Precision with several thresholds), as Keras logs them. A tensor may
    live on any device; a bfloat16 array is widened to float32 (exactly), which CSV, JSON and
    TensorBoard writers take."""
    array = backend.as_plain_numpy(value)
    # (NumPy 2.4 refuses float() of a 1-element array that is not 0-d: reshape it first.)
    return float(array.reshape(())) if array.size == 1 else array


class Callback:
    """Base class: override any of the hooks. `self.model` and `self.params` are set by fit.

    Epoch- and train-level hooks run under `torch.no_grad()`, as no tape watches a callback on
    TensorFlow: `self.model(x).numpy()` works there. A hook that wants gradients (a Langevin
    sampler, say) opens `torch.enable_grad()`, the torch form of a `GradientTape`.

    Examples:
        >>> class CountEpochs(Callback):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.epochs = 0
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         self.epochs += 1
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> counter = CountEpochs()
        >>> _ = model.fit(x, y, epochs=3, verbose=0, callbacks=[counter])
        >>> counter.epochs
        3
    """

    # Also on the class, as Keras's property is: a subclass that skips `super().__init__()`
    # still answers `self.model` (None) before fit sets it.
    model = None

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def get_state(self):
        """The callback's own progress, for `BackupAndRestore` (a lamina extension of Keras's API).

        A callback that counts or remembers across epochs (patience, a best value) returns a dict
        of numbers, strings, None, lists, dicts and NumPy arrays, and takes it back in `set_state`;
        the default (stateless) returns None and is not backed up.

        Examples:
            >>> class CountEpochs(Callback):
            ...     def __init__(self):
            ...         super().__init__()
            ...         self.count = 0
            ...     def on_epoch_end(self, epoch, logs=None):
            ...         self.count += 1
            ...     def get_state(self):
            ...         return {"count": self.count}
            ...     def set_state(self, state):
            ...         self.count = state["count"]
        """

    def set_state(self, state):
        """Take back what `get_state` returned (after `on_train_begin`, when `fit` resumes).

        Args:
            state: the dict `get_state` returned, read back from a backup.
        """

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)  # Keras 2's spelling, as Keras 3 keeps it

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    # Keras 2 spellings
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...


_KERAS_2_SPELLING = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _overrides(callback, hook: str) -> bool:
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


def flat_logs(logs) -> dict:
    """A custom step's logs as Keras's callbacks see them: keys sorted, and a value that is
    itself a dict (what `compile_metrics.result()` returns) merged in at its key's place (so
    its entries come before `loss`, as in Keras's history).

    Args:
        logs: a mapping of names to values (tensors, numbers or dicts of them).

    Example:
        >>> flat_logs({"loss": 0.5, "compile_metrics": {"mae": 0.25}})
        {'mae': 0.25, 'loss': 0.5}
    """
    flat = {}
    for key, value in sorted(dict(logs).items(), key=lambda item: item[0]):
        if isinstance(value, Mapping):
            flat.update(flat_logs(value))
        else:
            flat[key] = value
    return flat


def _sorted_logs(logs):
    """A custom step's plain dict of logs flattened and sorted, as Keras's callbacks see them
    (lazy logs sort themselves when read)."""
    return flat_logs(logs) if type(logs) is dict else logs


class LazyLogs(MutableMapping):
    """A dict whose values are computed on first access (Python floats, keys sorted as Keras logs
    them). Entries set on it join the computed ones without computing them: a custom
    `train_step` may add to `super().train_step(data)`'s logs, as in Keras.

    Args:
        compute: a function returning the logs (values may be device tensors).
        convert: turns each value into its log entry; `log_value` (a float, or a NumPy array
            for a per-class result) by default.

    Examples:
        >>> logs = LazyLogs(lambda: {"loss": torch.tensor(0.5)})
        >>> logs["loss"], list(logs)
        (0.5, ['loss'])
        >>> logs = LazyLogs(lambda: {"loss": torch.tensor(0.5)})
        >>> logs["custom"] = 2.0  # nothing computed yet
        >>> dict(logs)
        {'custom': 2.0, 'loss': 0.5}
    """

    def __init__(self, compute, convert=log_value):
        self._compute = compute
        self._convert = convert
        self._values = None
        self._added = {}

    def _resolve(self):
        if self._values is None:
            computed = dict(self._compute())
            computed.update(self._added)
            self._values = {k: self._convert(v) for k, v in sorted(computed.items())}
        return self._values

    def __setitem__(self, key, value):
        if self._values is None:
            self._added[key] = value  # still lazy: nothing is read from the device
        else:
            self._values[key] = self._convert(value)

    def __delitem__(self, key):
        del self._resolve()[key]

    def __getitem__(self, key):
        return self._resolve()[key]

    def __iter__(self):
        return iter(self._resolve())

    def __len__(self):
        return len(self._resolve())


def predict_batch_logs(outputs) -> LazyLogs:
    """The logs `on_predict_batch_end` receives, as in Keras: `{"outputs": predictions}` for the
    batch (NumPy, the model's output structure kept), or, for a model whose outputs are a dict,
    that dict itself. Converted only when a callback reads them, so predict never waits on the
    device for a callback that ignores them.

    Args:
        outputs: the batch's `predict_step` result (tensors, or a list or dict of them).

    Examples:
        >>> logs = predict_batch_logs(torch.ones(2, 1))
        >>> logs["outputs"].shape
        (2, 1)
    """

    def compute():
        return dict(outputs) if isinstance(outputs, dict) else {"outputs": outputs}

    return LazyLogs(compute, convert=lambda value: tree.map_structure(backend.as_numpy, value))


class CallbackList(Callback):
    """Calls every callback in order; skips the batch hooks when no callback overrides them.

    Args:
        callbacks: the callbacks, called in this order.
        add_history: append a `History` if the list has none (`self.history`).
        add_progbar: append a `ProgbarLogger` if the list has none.
        model: the model they are attached to (`set_model`), or None.
        **params: the training parameters given to every callback (`set_params`).

    Examples:
        >>> seen = []
        >>> callbacks = CallbackList([LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))])
        >>> callbacks.on_epoch_end(0, {"loss": 1.0})
        >>> seen
        [0]
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        self._batch_hooks: dict = {}  # hook -> (the list, its length, the callbacks it calls)
        self.history = None
        # Keras's order: the History, then the progress bar, after the user's callbacks.
        if add_history:
            history = next((c for c in self.callbacks if isinstance(c, History)), None)
            if history is None:
                history = History()
                self.callbacks.append(history)
            self.history = history
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def set_model(self, model):
        self.model = model
        if model is not None and self.history is not None:
            # As Keras: `model.history` is this run's History from the start, so a callback can
            # read `self.model.history.history` in any hook (empty until an epoch ends).
            model.history = self.history
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def needs(self, hook: str) -> bool:
        # LambdaCallback sets its hooks on the instance, so look there too.
        return any(_overrides(c, hook) or hook in vars(c) for c in self.callbacks)

    def _batch_targets(self, hook: str) -> list:
        """The callbacks whose batch `hook` does something (a train hook's base calls Keras 2's
        `on_batch_*`, so overriding that counts); decided once for the list as it stands, as
        Keras decides at its CallbackList's creation, so a step costs no call of an empty hook."""
        callbacks = self.callbacks
        cached = self._batch_hooks.get(hook)
        if cached is not None and cached[0] is callbacks and cached[1] == len(callbacks):
            return cached[2]
        spellings = (hook, _KERAS_2_SPELLING[hook]) if hook in _KERAS_2_SPELLING else (hook,)
        targets = [c for c in callbacks if any(_overrides(c, h) or h in vars(c) for h in spellings)]
        self._batch_hooks[hook] = (callbacks, len(callbacks), targets)
        return targets

    def _call(self, hook, *args):
        # Keras hands every hook a dict, never None: a callback may call `logs.keys()` in
        # `on_train_begin`. `is None`, not `or`: `or` would make lazy batch logs compute.
        *positional, logs = args
        if logs is None:
            logs = {}
        # As Keras calls them: batch hooks take `logs=` by keyword (a hook written
        # `on_train_batch_end(self, batch, **kwargs)` finds it there), the others by position.
        by_keyword = "batch" in hook
        if by_keyword:
            for callback in self._batch_targets(hook):
                getattr(callback, hook)(*positional, logs=logs)
            return
        # As on TensorFlow, where no tape watches a callback: an epoch-level hook's
        # `self.model.generator(z).numpy()` (tf.keras's image-sampling callbacks) reads a tensor
        # that recorded no graph. (Batch hooks run as they are: a step pays no context switch.)
        with torch.no_grad():
            for callback in self.callbacks:
                getattr(callback, hook)(*positional, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def on_train_batch_begin(self, batch, logs=None):
        if self._batch_targets("on_train_batch_begin"):
            self._call("on_train_batch_begin", batch, logs)  # the base hook calls on_batch_begin

    def on_train_batch_end(self, batch, logs=None):
        if self._batch_targets("on_train_batch_end"):
            self._call("on_train_batch_end", batch, _sorted_logs(logs))

    def on_test_batch_begin(self, batch, logs=None):
        if self._batch_targets("on_test_batch_begin"):
            self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if self._batch_targets("on_test_batch_end"):
            self._call("on_test_batch_end", batch, _sorted_logs(logs))

    def on_predict_batch_begin(self, batch, logs=None):
        if self._batch_targets("on_predict_batch_begin"):
            self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        if self._batch_targets("on_predict_batch_end"):
            self._call("on_predict_batch_end", batch, logs)


# Keras 2 log names that Keras 3 renamed: tf.keras-era code reads `history.history["lr"]` (to plot
# a learning-rate sweep) or `["acc"]`; Keras 3 records the new names only.
_RENAMED_LOGS = {"lr": "learning_rate", "acc": "accuracy", "val_acc": "val_accuracy"}


class HistoryRecords(dict):
    """`History.history`: a plain dict of lists, whose KeyError for a Keras 2 log name (`lr`,
    `acc`, `val_acc`) names the Keras 3 one. Still a KeyError, as on Keras 3 (`.get` and `in`
    behave as a dict's).

    Example:
        >>> records = HistoryRecords(loss=[1.0], learning_rate=[0.01])
        >>> try:
        ...     records["lr"]
        ... except KeyError as error:
        ...     print(error.args[0][:60])
        'lr' is not recorded: Keras 3 logs the learning rate as 'lea

    Args:
        *args: as `dict`'s.
        **kwargs: as `dict`'s.
    """

    def __missing__(self, key):
        if key in _RENAMED_LOGS:
            new = _RENAMED_LOGS[key]
            what = "the learning rate" if key == "lr" else "accuracy"
            raise KeyError(
                f"{key!r} is not recorded: Keras 3 logs {what} as {new!r} "
                f"(history.history[{new!r}])."
            )
        raise KeyError(key)


class History(Callback):
    """Records each epoch's logs: `history.history['loss']` is a plain Python list.

    Examples:
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(x, y, epochs=2, verbose=0)
        >>> history.epoch, len(history.history["loss"])
        ([0, 1], 2)
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = HistoryRecords()
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        # As Keras: the epochs restart, the recorded values go on (a History given to several
        # fit calls gathers their whole curve).
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints `Epoch 1/10` (when fit runs more than one epoch) and a progress bar (verbose=1) or
    one line per epoch (verbose=2).

    Args:
        count_mode: accepted for Keras compatibility (progress is counted in steps).
        stateful_metrics: accepted for Keras compatibility.

    Examples:
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(x, y, epochs=2, verbose=2)  # doctest: +ELLIPSIS
        Epoch 1/2
        ...
    """

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        self.progbar = None
        self.mode = "train"
        # Keras's attributes: the steps done in the current bar, its length (None: unknown until
        # the first pass ends), the verbosity and the epochs, the last three from `set_params`.
        self.seen = 0
        self.target = None
        self.verbose = 1
        self.epochs = 1
        # Set by fit's on_train_begin: the test hooks then belong to validation, which draws no
        # bar of its own (Keras's flag, so params stay Keras's {verbose, epochs, steps}).
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", self.verbose)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", self.epochs)
        self.target = params.get("steps", self.target)

    def _start(self):
        self.progbar = Progbar(self.target, verbose=self.verbose)
        self.seen = 0

    def _advance(self, batch, logs=None):
        self.seen = batch + 1
        if self.progbar.due():  # only then are the (lazy) batch logs read
            self.progbar.update(self.seen, dict(logs or {}), finalize=False)

    def _finish(self, logs=None):
        if self.target is None:  # the pass counted its steps: the next bar knows its length
            self.target = self.seen
        self.progbar.update(self.seen, dict(logs or {}), finalize=True)

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:  # Keras (2 and 3) never prints "Epoch 1/1"
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")
        self._start()

    def on_train_batch_end(self, batch, logs=None):
        if self.progbar is not None:
            self._advance(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.progbar is not None:
            self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._advance(batch, logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(batch)

    def on_predict_end(self, logs=None):
        self._finish()


class LambdaCallback(Callback):
    """A callback from functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`.

    Args:
        on_epoch_begin: `f(epoch, logs)`, called at the start of every epoch.
        on_epoch_end: `f(epoch, logs)`, called at the end of every epoch.
        on_train_begin: `f(logs)`, called once before training.
        on_train_end: `f(logs)`, called once after training.
        on_train_batch_begin: `f(batch, logs)`, called before every batch.
        on_train_batch_end: `f(batch, logs)`, called after every batch.
        **kwargs: any other hook by its name (`on_test_end=...`).

    Examples:
        >>> losses = []
        >>> record = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
        >>> x, y = np.zeros((8, 2)), np.zeros((8, 1))
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[record])
        >>> len(losses)
        2
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
            **kwargs,
        )
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)
