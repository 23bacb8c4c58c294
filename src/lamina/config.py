"""Global settings, as `keras.config` names them: dtypes, epsilon, data format, logging, limits.

The float dtype, epsilon and image data format are `lamina.backend`'s (one copy of each). The
flash-attention switches drive torch's scaled-dot-product-attention backends
(`torch.backends.cuda.enable_flash_sdp`). `max_epochs` / `max_steps_per_epoch` cap training
loops globally (handy for smoke-testing a script), as in Keras.

Examples:
    >>> import lamina
    >>> lamina.config.floatx()
    'float32'
    >>> lamina.config.set_max_epochs(1)      # every fit() now runs at most one epoch
    >>> lamina.config.set_max_epochs(None)
"""

from __future__ import annotations

import torch

from lamina.backend import (
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from lamina.dtype_policies.policy import dtype_policy, set_dtype_policy

__all__ = [
    "backend",
    "disable_flash_attention",
    "dtype_policy",
    "disable_interactive_logging",
    "disable_traceback_filtering",
    "enable_flash_attention",
    "enable_interactive_logging",
    "enable_traceback_filtering",
    "enable_unsafe_deserialization",
    "epsilon",
    "floatx",
    "image_data_format",
    "is_flash_attention_enabled",
    "is_interactive_logging_enabled",
    "is_nnx_enabled",
    "is_traceback_filtering_enabled",
    "is_unsafe_deserialization_enabled",
    "max_epochs",
    "max_steps_per_epoch",
    "set_backend",
    "set_dtype_policy",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "set_max_epochs",
    "set_max_steps_per_epoch",
]

_settings = {
    "interactive_logging": True,
    "traceback_filtering": True,
    "unsafe_deserialization": False,
    "flash_attention": None,
    "max_epochs": None,
    "max_steps_per_epoch": None,
}


def backend() -> str:
    """The engine's name: lamina always runs on "torch".

    Examples:
        >>> backend()
        'torch'
    """
    return "torch"


def set_backend(backend) -> None:
    """Accepts "torch" (lamina's only engine); any other name raises `ValueError`.

    Args:
        backend: the engine's name.

    Examples:
        >>> set_backend("torch")  # accepted; "jax" would raise ValueError
    """
    if backend != "torch":
        raise ValueError(
            f"lamina runs on PyTorch only; received set_backend({backend!r}). Hint: Keras's "
            "'jax', 'tensorflow' and 'numpy' backends are not part of lamina."
        )


# --------------------------------------------------------------------------------------------------
# Logging, tracebacks, deserialization


def enable_interactive_logging() -> None:
    """Progress bars and logs go to stdout (the default).

    Examples:
        >>> enable_interactive_logging()
        >>> is_interactive_logging_enabled()
        True
    """
    _settings["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Send logs through Python's `logging` instead of interactive progress bars on stdout.

    Examples:
        >>> disable_interactive_logging()
        >>> is_interactive_logging_enabled()
        False
        >>> enable_interactive_logging()
    """
    _settings["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    """Whether logs go to stdout as interactive progress bars (True by default).

    Examples:
        >>> is_interactive_logging_enabled()
        True
    """
    return _settings["interactive_logging"]


def enable_traceback_filtering() -> None:
    """Hide lamina's internal frames from tracebacks of errors in user code (the default).

    Examples:
        >>> enable_traceback_filtering()
        >>> is_traceback_filtering_enabled()
        True
    """
    _settings["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """Show full tracebacks, lamina's frames included (for debugging lamina itself).

    Examples:
        >>> disable_traceback_filtering()
        >>> is_traceback_filtering_enabled()
        False
        >>> enable_traceback_filtering()
    """
    _settings["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    """Whether tracebacks are filtered (True by default).

    Examples:
        >>> is_traceback_filtering_enabled()
        True
    """
    return _settings["traceback_filtering"]


def enable_unsafe_deserialization() -> None:
    """Keras's switch for loading files that hold code without `safe_mode=False` each time.

    Kept so that programs calling it run: lamina never runs code from a file, whatever this
    says. A Lambda layer's functions are given to `load_model` in `custom_objects`.

    Examples:
        >>> enable_unsafe_deserialization()  # doctest: +SKIP
        >>> model = lamina.models.load_model("trusted_with_lambda.keras")  # doctest: +SKIP
        >>> isinstance(is_unsafe_deserialization_enabled(), bool)
        True
    """
    _settings["unsafe_deserialization"] = True


def is_unsafe_deserialization_enabled() -> bool:
    """Whether `enable_unsafe_deserialization()` was called (loading then ignores safe_mode).

    Examples:
        >>> isinstance(is_unsafe_deserialization_enabled(), bool)
        True
    """
    return _settings["unsafe_deserialization"]


# --------------------------------------------------------------------------------------------------
# Flash attention: torch's SDPA backends


def enable_flash_attention() -> None:
    """Let attention layers use flash attention (torch's flash SDPA kernel) where supported.

    Examples:
        >>> enable_flash_attention()  # doctest: +SKIP
        >>> is_flash_attention_enabled() is None  # doctest: +SKIP
        True
    """
    # Back to the default, as Keras's enable does: None means "where it can" (not "always").
    _settings["flash_attention"] = None
    torch.backends.cuda.enable_flash_sdp(True)


def disable_flash_attention() -> None:
    """Keep attention off torch's flash SDPA kernel (the math or memory-efficient ones remain).

    Examples:
        >>> disable_flash_attention()  # doctest: +SKIP
        >>> is_flash_attention_enabled()  # doctest: +SKIP
        False
    """
    _settings["flash_attention"] = False
    torch.backends.cuda.enable_flash_sdp(False)


def is_flash_attention_enabled():
    """True or False once set; None (the default) while torch chooses the kernel itself.

    Examples:
        >>> is_flash_attention_enabled() in (None, True, False)
        True
    """
    return _settings["flash_attention"]


def is_nnx_enabled() -> bool:
    """Whether JAX's NNX integration is on: never here, as in Keras on a backend other than JAX.

    Example:
        >>> is_nnx_enabled()
        False
    """
    return False


# --------------------------------------------------------------------------------------------------
# Global limits on training loops


def _check_limit(value, who: str):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{who} expects a positive int or None; received {value!r}.")
    return value


def set_max_epochs(max_epochs) -> None:
    """Cap every `fit()` at `max_epochs` epochs (None: no cap).

    Args:
        max_epochs: a positive int or None.

    Examples:
        >>> set_max_epochs(2)  # every fit() now stops after at most 2 epochs
        >>> max_epochs()
        2
        >>> set_max_epochs(None)
    """
    _settings["max_epochs"] = _check_limit(max_epochs, "set_max_epochs()")


def max_epochs():
    """The global cap on epochs per `fit()`, or None.

    Examples:
        >>> max_epochs() is None  # no cap by default
        True
    """
    return _settings["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch) -> None:
    """Cap every epoch (of fit, evaluate and predict) at this many steps (None: no cap).

    Args:
        max_steps_per_epoch: a positive int or None.

    Examples:
        >>> set_max_steps_per_epoch(10)
        >>> max_steps_per_epoch()
        10
        >>> set_max_steps_per_epoch(None)
    """
    _settings["max_steps_per_epoch"] = _check_limit(
        max_steps_per_epoch, "set_max_steps_per_epoch()"
    )


def max_steps_per_epoch():
    """The global cap on steps per epoch, or None.

    Examples:
        >>> max_steps_per_epoch() is None
        True
    """
    return _settings["max_steps_per_epoch"]
