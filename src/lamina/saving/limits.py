"""How much a file being loaded may ask for, before lamina reads it.

A saved file declares sizes (a zip member's uncompressed size, an HDF5 dataset's shape, the
nesting of its JSON) long before the bytes are read. lamina checks each declaration against these
limits first and refuses a file that exceeds one with a `FileFormatError` naming the file, the
part, what it declares and the limit. Genuine files stay far below the defaults; raise a limit
only for a file you trust:

Examples:
    >>> lamina.saving.set_load_limits(max_member_bytes=32 * 2**30)   # doctest: +SKIP
    >>> with lamina.saving.load_limits(max_json_depth=500):          # doctest: +SKIP
    ...     model = lamina.models.load_model("deep.keras")
"""

from __future__ import annotations

import contextlib
import dataclasses


@dataclasses.dataclass(frozen=True)
class LoadLimits:
    """The limits every load checks (see `set_load_limits`).

    Args:
        max_member_bytes: largest uncompressed size a `.keras` archive member may declare (the
            weights member is read into memory whole). Default 8 GiB.
        max_compression_ratio: largest ratio of declared to stored size of a compressed archive
            member over 1 MiB (DEFLATE of real weights stays below ~10; a zip bomb is ~1000).
        max_json_bytes: largest JSON document (`config.json`, an `.h5`'s `model_config`).
            Default 64 MiB.
        max_json_depth: deepest nesting of lists and objects in that JSON. Default 100 (a model
            nested in a model in a model stays below 40).
        max_entries: most members of an archive, or names in one HDF5 name list
            (`layer_names`, `weight_names`). Default 100,000.


    Examples:
        >>> get_load_limits().max_json_depth
        100
        >>> with load_limits(max_json_depth=500):
        ...     print(get_load_limits().max_json_depth)
        500
    """

    max_member_bytes: int = 8 * 2**30
    max_compression_ratio: float = 100.0
    max_json_bytes: int = 64 * 2**20
    max_json_depth: int = 100
    max_entries: int = 100_000


_current = LoadLimits()


def get_load_limits() -> LoadLimits:
    """The limits in force now.

    Examples:
        >>> lamina.saving.get_load_limits().max_json_depth   # doctest: +SKIP
        100
    """
    return _current


def set_load_limits(**changes) -> LoadLimits:
    """Change some limits for every later load in this process; returns the previous limits.

    Args:
        **changes: fields of `LoadLimits` (`max_member_bytes`, `max_compression_ratio`,
            `max_json_bytes`, `max_json_depth`, `max_entries`) and their new values.

    Examples:
        >>> previous = lamina.saving.set_load_limits(max_member_bytes=2**36)  # doctest: +SKIP
        >>> lamina.saving.set_load_limits(**dataclasses.asdict(previous))    # doctest: +SKIP
    """
    global _current
    fields = {f.name for f in dataclasses.fields(LoadLimits)}
    unknown = sorted(set(changes) - fields)
    if unknown:
        raise TypeError(
            f"set_load_limits() got unknown limit(s) {unknown}; the limits are {sorted(fields)}."
        )
    for name, value in changes.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(
                f"set_load_limits() expects {name} to be a positive number; received {value!r}."
            )
    previous = _current
    _current = dataclasses.replace(_current, **changes)
    return previous


@contextlib.contextmanager
def load_limits(**changes):
    """`set_load_limits(**changes)` for the duration of a `with` block only.

    Examples:
        >>> with lamina.saving.load_limits(max_json_depth=400):   # doctest: +SKIP
        ...     model = lamina.models.load_model("deep.keras")
    """
    global _current
    previous = set_load_limits(**changes)
    try:
        yield _current
    finally:
        _current = previous


def raise_hint(**change) -> str:
    """The sentence telling the user how to raise a limit, for error messages."""
    (name, value), *_ = change.items()
    return (
        f"Hint: if you trust the file, raise the limit: "
        f"lamina.saving.set_load_limits({name}={value})."
    )
