"""JSON from a saved file, parsed only after its size and nesting are known to be sane.

Python's parser recurses once per nesting level, so a 200,000-level document ends in a bare
RecursionError (and every later walk over the config would too); the nesting is measured first
with a flat scan and refused past `max_json_depth`.
"""

from __future__ import annotations

import json
import re

import numpy as np

from lamina.saving import limits
from lamina.saving.errors import FileFormatError

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of `[` / `{` outside strings (at least as deep as the parser goes)."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max(initial=0))


def parse(data, source: str, what: str):
    """Parse `data` (bytes or str), the JSON held in `what` of the file `source`.

    Args:
        data: the raw document.
        source: the file's path, for errors.
        what: which part of the file holds it (`config.json`, `the model_config attribute`).

    Examples:
        >>> parse(b'{"a": [1]}', "model.keras", "config.json")
        {'a': [1]}
    """
    current = limits.get_load_limits()
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
    if not isinstance(data, bytes):
        raise FileFormatError(
            f"{source}: {what} is expected to hold JSON text; received a value of type "
            f"{type(data).__name__}."
        )
    if len(data) > current.max_json_bytes:
        raise FileFormatError(
            f"{source}: {what} is {len(data)} bytes; JSON documents are limited to "
            f"{current.max_json_bytes} bytes. " + limits.raise_hint(max_json_bytes=len(data))
        )
    depth = nesting_depth(data)
    if depth > current.max_json_depth:
        raise FileFormatError(
            f"{source}: {what} nests lists/objects {depth} levels deep; the limit is "
            f"{current.max_json_depth}. Genuine model configs nest a few dozen levels. "
            + limits.raise_hint(max_json_depth=depth)
        )
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise FileFormatError(f"{source}: {what} is not valid UTF-8 text ({error}).") from None
    except RecursionError:
        raise FileFormatError(
            f"{source}: {what} nests too deeply for Python's parser (recursion limit). Hint: "
            "lower max_json_depth with lamina.saving.set_load_limits()."
        ) from None
    except ValueError as error:  # JSONDecodeError, or an integer literal over Python's digit limit
        raise FileFormatError(f"{source}: {what} is not valid JSON ({error}).") from None
