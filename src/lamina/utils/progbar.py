"""A Keras-style progress bar:
`25/25 [==============================] - 0s 2ms/step - loss: 0.6931`.

It redraws at most every `interval` seconds, and only then reads the running metrics (the one
moment the training loop waits on the device). On a terminal or in a notebook it redraws in
place; elsewhere (CI logs, files) it prints one line per epoch.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from lamina import config
from lamina.utils.io_utils import logger


def _format_value(value, verbose: int = 1) -> str:
    # A value with many entries (a per-class F1Score, a per-sample loss a custom train_step
    # returns) shows as its mean, as Keras's bar shows it; the logs keep the whole array.
    value = float(np.mean(value)) if getattr(value, "size", 1) != 1 else float(value)
    # Keras's rule, quirks kept so the lines read the same: fixed point above 1e-3 (however
    # large), scientific at or below it (0 included); the one-line (verbose=2) form compares the
    # signed value, so a negative loss (a WGAN's) shows in scientific notation there.
    magnitude = abs(value) if verbose == 1 else value
    return f"{value:.4f}" if magnitude > 1e-3 else f"{value:.4e}"


def format_duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def format_per_step(seconds: float, unit_name: str = "step") -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


class Progbar:
    """Progress of one epoch (or one evaluate / predict pass).

    Args:
        target: number of steps, or None when unknown.
        width: the bar's width in characters.
        verbose: 1 for the bar, 2 for one line at the end, 0 for nothing.
        interval: minimum seconds between redraws.
        stream: where to write. By default stdout (as it is at each write), or the `lamina`
            logger (one record per finished bar) while interactive logging is disabled, as Keras
            does.
        unit_name: the word after the step counts (`"step"`).
        stateful_metrics: names of the values `update` shows as given; the others (given as
            Keras's list of `(name, value)` pairs) show as their mean over the steps so far.
        stateless_metrics: the other way round: only these are averaged. Give one of the two.

    Examples:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = Progbar(2, verbose=2, stream=out)
        >>> bar.update(1, {"loss": 0.5})
        >>> bar.update(2, {"loss": 0.25}, finalize=True)  # verbose=2: one line, at the end
        >>> out.getvalue().startswith("2/2") and "loss: 0.2500" in out.getvalue()
        True
    """

    def __init__(
        self,
        target,
        width=30,
        verbose=1,
        interval=0.1,
        stream=None,
        unit_name="step",
        stateful_metrics=None,
        stateless_metrics=None,
    ):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Only one of `stateful_metrics` or `stateless_metrics` can be provided "
                f"(Progbar); received stateful_metrics={stateful_metrics!r} and "
                f"stateless_metrics={stateless_metrics!r}. Hint: list the exceptions in one."
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.to_logger = stream is None and not config.is_interactive_logging_enabled()
        self._stream = _LoggerStream() if self.to_logger else stream
        self.unit_name = unit_name
        self.dynamic = _redraws_in_place(self.stream, self._stream is None)
        # Averaged names: all but the stateful ones, or only the stateless ones.
        self._averages_all_but = set(stateful_metrics or ()) if stateless_metrics is None else None
        self._averaged_only = None if stateless_metrics is None else set(stateless_metrics)
        self._totals = {}  # name -> [sum of value * steps, steps], or [value, 1] if shown as is
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.last_width = 0
        self.seen = 0

    @property
    def stream(self):
        """Where the bar writes: the given stream, else stdout as it is now (Keras's rule)."""
        return self._stream or sys.stdout

    def due(self) -> bool:
        """Whether update() would draw now: callers read metric values only when it would."""
        return (
            self.verbose == 1
            and self.dynamic
            and time.perf_counter() - self.last_draw >= self.interval
        )

    def update(self, current: int, values=None, finalize=None) -> None:
        """Moves the bar to step `current`, redrawing when due.

        Args:
            current: the steps done so far.
            values: Keras's list of `(name, value)` pairs for this step (averaged over the
                steps unless stateful), or a dict of values shown as given.
            finalize: whether this is the bar's last update; None: when `current` reaches the
                target.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if values is not None and not isinstance(values, dict):
            values = self._running_means(current, values, finalize)
        self.seen = current
        now = time.perf_counter()
        if not finalize and not self.due():
            return
        self.last_draw = now
        values = values or {}
        elapsed = now - self.start
        per_step = elapsed / max(current, 1)
        if self.verbose == 2:
            # Keras's one line per pass: only with a known target, its time in whole seconds
            if not finalize or not self.target:
                return
            line = (
                f"{current:{len(str(self.target))}d}/{self.target} - {elapsed:.0f}s - "
                f"{format_per_step(per_step, self.unit_name)}"
            )
            line += self._values(values, verbose=2)
            self.stream.write(line + "\n")
            self.stream.flush()
            return
        if self.verbose != 1:
            return
        line = self._bar(current)
        if finalize:
            line += f" - {format_duration(elapsed)} {format_per_step(per_step, self.unit_name)}"
        elif self.target:
            line += f" - ETA: {format_duration(per_step * (self.target - current))}"
        line += self._values(values)
        if self.dynamic:
            padding = " " * max(self.last_width - len(line), 0)
            self.stream.write("\r" + line + padding)
            self.last_width = len(line)
            if finalize:
                self.stream.write("\n")
        elif finalize:
            self.stream.write(line + "\n")
        self.stream.flush()

    def add(self, steps: int, values=None) -> None:
        """`update(seen + steps, values)`: moves the bar on by `steps`.

        Args:
            steps: how many steps were done since the last update.
            values: as `update`'s.
        """
        self.update(self.seen + steps, values)

    def _running_means(self, current: int, pairs, finalize: bool) -> dict:
        """Keras's rule for `(name, value)` pairs: a value counts for the steps since the last
        update, and shows as the mean so far (the final update's as given)."""
        for name, value in pairs:
            if self._averaged_only is not None:
                averaged = name in self._averaged_only
            else:
                averaged = name not in self._averages_all_but
            if not averaged or finalize:
                self._totals[name] = [value, 1]
                continue
            steps = max(current - self.seen, 1)
            total = self._totals.setdefault(name, [0.0, 0])
            total[0] = total[0] + np.asarray(value, dtype="float64") * steps
            total[1] += steps
        return {
            name: np.asarray(total) / max(count, 1) for name, (total, count) in self._totals.items()
        }

    def _bar(self, current: int) -> str:
        if not self.target:
            return f"{current}/Unknown"
        digits = len(str(self.target))
        done = min(current / self.target, 1.0)
        filled = int(self.width * done)
        bar = "=" * filled
        if current < self.target and filled < self.width:
            bar += ">"
        bar = bar.ljust(self.width, ".")
        return f"{current:{digits}d}/{self.target} [{bar}]"

    @staticmethod
    def _values(values, verbose: int = 1) -> str:
        return "".join(
            f" - {name}: {_format_value(value, verbose)}" for name, value in values.items()
        )


def _redraws_in_place(stream, default_stdout: bool) -> bool:
    """Whether the bar redraws one line (a terminal), else prints a line when done (a file, a CI
    log). Notebooks (Jupyter, Colab: an IPython kernel) and PyCharm's console render the
    carriage return but are no terminal, so stdout there redraws too, as in Keras."""
    if hasattr(stream, "isatty") and stream.isatty():
        return True
    return default_stdout and ("ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ)


class _LoggerStream:
    """A write-only stream that hands each finished line to the `lamina` logger."""

    def __init__(self):
        self.pending = ""

    def write(self, text: str) -> None:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if line:
                logger.info(line)

    def flush(self) -> None:
        pass
