"""A griffe extension for lamina's reference: Keras's `Example:` heading read as `Examples:`.

Griffe's Google-style parser renders an `Examples:` section as runnable code, but takes the
singular `Example:` (which Keras and many lamina docstrings use) for an admonition of plain text.
"""

from __future__ import annotations

import re

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.M)


class KerasExampleHeadings(griffe.Extension):
    """Rewrite `Example:` headings to `Examples:` before the docstrings are parsed."""

    def on_instance(self, *, obj, **kwargs) -> None:
        del kwargs
        if obj.docstring is not None:
            obj.docstring.value = _SINGULAR.sub(r"\1Examples:", obj.docstring.value)


def _join_name_lists(text: str) -> str:
    """`a, b,\\n    c: text` (several arguments described together, wrapped) -> one line, so the
    parser reads it as one entry instead of failing on the first line."""
    lines, out, in_args = text.split("\n"), [], False
    for line in lines:
        stripped = line.strip()
        if re.match(r"^(Args|Arguments):$", stripped):
            in_args = True
        elif stripped and not line.startswith(" "):
            in_args = False
        if in_args and out and out[-1].rstrip().endswith(",") and ":" not in out[-1]:
            out[-1] = out[-1].rstrip() + " " + stripped
            continue
        out.append(line)
    return "\n".join(out)


class JoinedArgumentLists(griffe.Extension):
    """Join argument lists wrapped over lines (`units, activation,` / `use_bias: ...`)."""

    def on_instance(self, *, obj, **kwargs) -> None:
        del kwargs
        if obj.docstring is not None:
            obj.docstring.value = _join_name_lists(obj.docstring.value)
