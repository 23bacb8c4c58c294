"""The API reference: every public name documents its arguments and shows a runnable example.

Keras's docstring style is a one-line summary, an `Args:` section naming the arguments, `Returns:`
where useful, and one short `Example:` whose `>>>` lines run. This test walks the public names of
every lamina namespace (its `__all__`, or its non-underscore attributes), and for each class or
function checks:

- `Args:` is present when the callable takes arguments (a class: its constructor's);
- `Example:` (or `Examples:`) is present and holds at least one `>>>` line.

Names defined in the modules this reference covers (`COVERED`) must pass. Names defined elsewhere
(layers, engine, applications, ... still being written by others) may lack them only while
`tests/docs_pending/<namespace>.txt` lists them, one a line; a listed name that now passes fails the
test, so the lists only shrink. `python tests/test_docs.py --write-pending` rewrites the lists;
`pytest tests/test_docs.py -s` prints the shares per namespace.

The examples run as doctests, in-process, over every module of `COVERED`: each sees its module's
globals plus `lamina`, `np` (NumPy) and `torch`, as the reference's index page says.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina

PENDING = Path(__file__).parent / "docs_pending"

NAMESPACES = (
    "",
    "activations",
    "applications",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "data",
    "data.experimental",
    "datasets",
    "distillation",
    "initializers",
    "layers",
    "legacy.saving",
    "losses",
    "metrics",
    "models",
    "ops",
    "ops.image",
    "ops.linalg",
    "ops.nn",
    "ops.numpy",
    "optimizers",
    "optimizers.schedules",
    "preprocessing",
    "quantizers",
    "random",
    "regularizers",
    "saving",
    "tree",
    "utils",
    "utils.bounding_boxes",
    "utils.legacy",
    "visualization",
    "wrappers",
)

# Modules (and packages, with everything under them) whose public names must be fully documented
# and whose examples run as doctests.
COVERED = (
    "lamina.activations",
    "lamina.applications.classic",
    "lamina.applications.mobilenet_v3",
    "lamina.applications.resnet",
    "lamina.applications.resnet_v2",
    "lamina.applications.vgg",
    "lamina.backend",
    "lamina.callbacks",
    "lamina.config",
    "lamina.confusion_metrics",
    "lamina.confusion_scores",
    "lamina.constraints",
    "lamina.data",
    "lamina.distillation",
    "lamina.dtype_policies.policy",
    "lamina.dtypes",
    "lamina.engine.input_spec",
    "lamina.engine.layer",
    "lamina.engine.model",
    "lamina.engine.sequential",
    "lamina.engine.symbolic",
    "lamina.initializers",
    "lamina.layers.activation",
    "lamina.layers.conv_transpose",
    "lamina.layers.convolutional",
    "lamina.layers.core",
    "lamina.layers.layer_serialization",
    "lamina.layers.merging",
    "lamina.layers.normalization",
    "lamina.layers.pipeline",
    "lamina.layers.pooling",
    "lamina.layers.preprocessing.color",
    "lamina.layers.preprocessing.geometric",
    "lamina.layers.preprocessing.numeric",
    "lamina.layers.preprocessing.sizing",
    "lamina.layers.recurrent.base",
    "lamina.layers.recurrent.gru",
    "lamina.layers.recurrent.lstm",
    "lamina.layers.recurrent.simple_rnn",
    "lamina.layers.recurrent.stacked_cells",
    "lamina.layers.regularization",
    "lamina.layers.reshaping",
    "lamina.layers.separable_conv",
    "lamina.layers.wrapper",
    "lamina.legacy",
    "lamina.losses",
    "lamina.metrics",
    "lamina.ops",
    "lamina.optimizers",
    "lamina.preprocessing",
    "lamina.quantizers",
    "lamina.random",
    "lamina.regularizers",
    "lamina.saving",
    "lamina.tree",
    "lamina.utils",
    "lamina.visualization",
    "lamina.wrappers",
)

ARGS = re.compile(r"^\s*(Args|Arguments):\s*$", re.M)
EXAMPLE = re.compile(r"^\s*Examples?:\s*$(.*)", re.M | re.S)


def namespace_module(namespace: str) -> types.ModuleType:
    return importlib.import_module(f"lamina.{namespace}") if namespace else lamina


def public_objects(namespace: str) -> dict[str, object]:
    """{name: class or function} of the namespace's public API."""
    module = namespace_module(namespace)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    found = {}
    for name in names:
        value = getattr(module, name, None)
        if inspect.isclass(value) or inspect.isfunction(value):
            if getattr(value, "__module__", "") == "__future__":
                continue
            found[name] = value
    return found


def takes_arguments(obj) -> bool:
    """Whether a docstring owes an `Args:` section: a named parameter besides self/cls."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    if inspect.isclass(obj) and target is object.__init__:
        return False
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return False
    skipped = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return any(p.name not in ("self", "cls") and p.kind not in skipped for p in parameters)


def own_doc(obj) -> str:
    """The object's own docstring (a class does not inherit its base's here)."""
    return inspect.cleandoc(obj.__doc__ or "")


def shortfalls(obj) -> list[str]:
    """What the docstring lacks: "args" and/or "example"."""
    doc = own_doc(obj)
    missing = []
    if takes_arguments(obj) and not ARGS.search(doc):
        missing.append("args")
    example = EXAMPLE.search(doc)
    if example is None or ">>>" not in example.group(1):
        missing.append("example")
    return missing


def is_covered(obj) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return any(module == prefix or module.startswith(prefix + ".") for prefix in COVERED)


def pending_file(namespace: str) -> Path:
    return PENDING / f"{namespace or 'top_level'}.txt"


def read_pending(namespace: str) -> set[str]:
    path = pending_file(namespace)
    if not path.exists():
        return set()
    names = set()
    for raw in path.read_text().splitlines():
        line = raw.partition("#")[0].strip()
        if line:
            names.add(line)
    return names


def undocumented(namespace: str) -> dict[str, list[str]]:
    """{name: shortfalls} for the namespace's public names that lack Args or an Example."""
    report = {}
    for name, obj in public_objects(namespace).items():
        missing = shortfalls(obj)
        if missing:
            report[name] = missing
    return report


@pytest.mark.parametrize("namespace", NAMESPACES, ids=lambda ns: ns or "top_level")
def test_public_names_document_args_and_an_example(namespace):
    objects = public_objects(namespace)
    report = undocumented(namespace)
    covered = sorted(name for name in report if is_covered(objects[name]))
    assert not covered, (
        f"lamina.{namespace}: these public names lack Args: or a runnable Example: "
        + ", ".join(f"{name} ({'/'.join(report[name])})" for name in covered)
    )
    pending = read_pending(namespace)
    unlisted = sorted(set(report) - pending)
    assert not unlisted, (
        f"lamina.{namespace}: {unlisted} lack Args:/Example: and are not listed in "
        f"{pending_file(namespace).name}"
    )
    done = sorted(pending - set(report))
    assert not done, (
        f"{pending_file(namespace).name} lists {done}, which are now documented (or gone): "
        "delete those lines so the list shrinks."
    )


def test_pending_lists_name_known_namespaces():
    files = {path.name for path in PENDING.glob("*.txt")}
    expected = {pending_file(namespace).name for namespace in NAMESPACES}
    assert files <= expected, f"pending lists for no namespace: {sorted(files - expected)}"


def covered_modules() -> list[types.ModuleType]:
    modules = []
    for name in COVERED:
        module = importlib.import_module(name)
        modules.append(module)
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, prefix=f"{name}."):
                modules.append(importlib.import_module(info.name))
    return modules


@pytest.mark.parametrize("module", covered_modules(), ids=lambda module: module.__name__)
def test_examples_run(module):
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    extra = {"lamina": lamina, "np": np, "torch": torch}
    report: list[str] = []
    for test in finder.find(module, module.__name__, extraglobs=extra):
        if test.examples:
            runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def shares() -> tuple[list[str], int, int, int]:
    """Rows per namespace and, over unique objects, (total, with Args where owed, with Example)."""
    rows, seen = [], {}
    for namespace in NAMESPACES:
        objects = public_objects(namespace)
        report = undocumented(namespace)
        args = sum(1 for name in objects if "args" not in report.get(name, []))
        example = sum(1 for name in objects if "example" not in report.get(name, []))
        rows.append(
            f"  {namespace or 'top level':22s} {len(objects):4d} names, "
            f"Args {args:4d}, Example {example:4d}"
        )
        for name, obj in objects.items():
            seen[id(obj)] = report.get(name, [])
    total = len(seen)
    with_args = sum(1 for missing in seen.values() if "args" not in missing)
    with_example = sum(1 for missing in seen.values() if "example" not in missing)
    return rows, total, with_args, with_example


def test_share_of_documented_names(capsys):
    rows, total, with_args, with_example = shares()
    assert 0 < with_example <= total
    with capsys.disabled():
        print("\nlamina's API reference, namespace by namespace:")
        print("\n".join(rows))
        print(
            f"{total} public classes and functions: {100 * with_args / total:.0f} % document their "
            f"Args (or take none), {100 * with_example / total:.0f} % have a runnable Example."
        )


def write_pending() -> None:
    """Rewrite tests/docs_pending/*.txt from what is undocumented now (outside COVERED)."""
    PENDING.mkdir(exist_ok=True)
    for namespace in NAMESPACES:
        objects = public_objects(namespace)
        report = undocumented(namespace)
        lines = [
            f"{name}  # lacks {' and '.join(report[name])}"
            for name in sorted(report)
            if not is_covered(objects[name])
        ]
        path = pending_file(namespace)
        if lines:
            path.write_text("\n".join(lines) + "\n")
        elif path.exists():
            path.unlink()


if __name__ == "__main__" and "--write-pending" in sys.argv:
    write_pending()
