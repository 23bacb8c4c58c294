"""Keras's public API, name by name, against lamina's: what is missing must be written down.

For every public Keras namespace (the top level, `keras.utils`, `keras.ops.nn`, ...) the test lists
Keras's public names and looks each up on the same path under `lamina`. A name lamina lacks fails
the test unless `tests/api/gaps/<namespace>.txt` lists it:

    [excluded]
    FlaxLayer  # JAX-only: wraps a Flax module
    [pending]
    ConvLSTM3D  # not yet built

`[excluded]` is permanent and justified (backend-specific names only); `[pending]` is work not done
yet. A listed name that lamina now has also fails, so the lists only shrink, and so does a listed
name Keras does not have (a typo would hide nothing). Run with `-s` to see the overall count.
"""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import pytest

import lamina
from tests.parity import reference

GAPS = Path(__file__).parent / "gaps"
NAMESPACES = reference.keras_public_namespaces()
SECTIONS = ("excluded", "pending")


def gap_file(namespace: str) -> Path:
    """`tests/api/gaps/utils.txt` for "utils", `top_level.txt` for the top level."""
    return GAPS / f"{namespace or 'top_level'}.txt"


def read_gaps(path: Path) -> dict[str, dict[str, str]]:
    """{"excluded": {name: reason}, "pending": {name: reason}} from one gap file."""
    gaps = {section: {} for section in SECTIONS}
    if not path.exists():
        return gaps
    section = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line, _, reason = raw.partition("#")
        line = line.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            if section not in SECTIONS:
                raise ValueError(f"{path.name}:{number}: unknown section [{section}]")
            continue
        if section is None:
            raise ValueError(f"{path.name}:{number}: {line!r} comes before any [section]")
        gaps[section][line] = reason.strip()
    return gaps


def lamina_namespace(namespace: str):
    """`lamina.<namespace>` (an attribute path or an importable module), or None if absent."""
    if not namespace:
        return lamina
    module = lamina
    for part in namespace.split("."):
        child = getattr(module, part, None)
        if child is None:
            try:
                child = importlib.import_module(f"{module.__name__}.{part}")
            except (ImportError, AttributeError):
                return None
        module = child
        if not isinstance(module, types.ModuleType) and not hasattr(module, "__name__"):
            return None
    return module


def coverage(namespace: str) -> tuple[list[str], list[str]]:
    """(names lamina has, names lamina lacks) among Keras's public names of `namespace`."""
    names = reference.keras_public_names(namespace)
    ours = lamina_namespace(namespace)
    present = [name for name in names if ours is not None and hasattr(ours, name)]
    return present, [name for name in names if name not in present]


@pytest.mark.parametrize("namespace", NAMESPACES, ids=lambda ns: ns or "top_level")
def test_namespace_is_complete_or_its_gaps_are_listed(namespace):
    present, missing = coverage(namespace)
    gaps = read_gaps(gap_file(namespace))
    listed = {**gaps["excluded"], **gaps["pending"]}
    where = f"keras.{namespace}" if namespace else "keras"

    unlisted = [name for name in missing if name not in listed]
    assert not unlisted, (
        f"lamina lacks {len(unlisted)} public name(s) of {where} that "
        f"{gap_file(namespace).name} does not list: {unlisted}"
    )
    done = sorted(name for name in listed if name in present)
    assert not done, (
        f"{gap_file(namespace).name} lists {done} but lamina now has them: "
        "delete those lines so the list shrinks."
    )
    known = set(present) | set(missing)
    unknown = sorted(name for name in listed if name not in known)
    assert not unknown, f"{gap_file(namespace).name} lists {unknown}, which {where} lacks."
    unreasoned = sorted(name for name in gaps["excluded"] if not gaps["excluded"][name])
    assert not unreasoned, f"{gap_file(namespace).name}: excluded without a reason: {unreasoned}"


def test_every_gap_file_names_a_keras_namespace():
    files = {path.name for path in GAPS.glob("*.txt")}
    expected = {gap_file(namespace).name for namespace in NAMESPACES}
    assert files <= expected, f"gap files for no Keras namespace: {sorted(files - expected)}"


def test_overall_count(capsys):
    """lamina has N of Keras's M public names; printed (with `-s`) per namespace and in total."""
    total_present = total = total_excluded = 0
    rows = []
    for namespace in NAMESPACES:
        present, missing = coverage(namespace)
        excluded = read_gaps(gap_file(namespace))["excluded"]
        total_present += len(present)
        total += len(present) + len(missing)
        total_excluded += sum(1 for name in missing if name in excluded)
        rows.append(
            f"  {namespace or 'top level':32s} {len(present):4d} / {len(present) + len(missing)}"
        )
    assert 0 < total_present <= total
    with capsys.disabled():
        print("\nlamina's coverage of Keras's public API, namespace by namespace:")
        print("\n".join(rows))
        print(
            f"lamina has {total_present} of Keras's {total} public names "
            f"({100 * total_present / total:.0f} %); {total_excluded} excluded as backend-specific."
        )
