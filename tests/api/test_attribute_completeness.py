"""Keras's public attributes, class by class, against lamina's: what lamina lacks is written down.

`test_completeness.py` checks that every public Keras *name* exists in lamina. This test goes one
level down: for each class of `keras.layers`, `keras.optimizers`, `keras.metrics`, ... that lamina
also has, it makes an instance of each (same arguments on both sides), lists the public attributes
the Keras instance answers (`hasattr`, so a property that raises before `build` is not counted),
and checks the lamina instance has them too. A missing attribute fails the test unless
`tests/api/attribute_gaps/<namespace>.txt` lists it, as `Class.attribute`, or as `*.attribute`
for every class of the namespace:

    [excluded]
    *.stateless_call  # JAX-style functional API: ...
    [pending]
    LSTM.kernel_regularizer  # not yet delegated to the cell

The lists only shrink: an entry lamina now satisfies fails, as does one naming nothing Keras has.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import pytest

import lamina
from tests.api.test_completeness import read_gaps
from tests.parity.reference import keras

GAPS = Path(__file__).parent / "attribute_gaps"
NAMESPACES = (
    "layers",
    "models",
    "optimizers",
    "losses",
    "metrics",
    "callbacks",
    "initializers",
    "regularizers",
    "constraints",
)

# Constructor arguments for the classes that take required ones, as a function of the framework
# module (each side builds its own sub-objects). Others are tried with CANDIDATE_ARGUMENTS.
ARGUMENTS = {
    "Bidirectional": lambda k, tmp: (k.layers.LSTM(2),),
    "EinsumDense": lambda k, tmp: ("ab,bc->ac", 3),
    "GroupQueryAttention": lambda k, tmp: (4, 2, 1),
    "HashedCrossing": lambda k, tmp: (4,),
    "Hashing": lambda k, tmp: (4,),
    "Permute": lambda k, tmp: ((2, 1),),
    "RNN": lambda k, tmp: (k.layers.LSTMCell(2),),
    "RandomTranslation": lambda k, tmp: (0.1, 0.1),
    "StackedRNNCells": lambda k, tmp: ([k.layers.LSTMCell(2)],),
    "LossScaleOptimizer": lambda k, tmp: (k.optimizers.SGD(),),
    "IoU": lambda k, tmp: (2, [0]),
    "OneHotIoU": lambda k, tmp: (2, [0]),
    "BackupAndRestore": lambda k, tmp: (str(tmp / "backup"),),
    "CSVLogger": lambda k, tmp: (str(tmp / "log.csv"),),
    "ModelCheckpoint": lambda k, tmp: (str(tmp / "model.keras"),),
}
CANDIDATE_ARGUMENTS = (
    lambda k, tmp: (),
    lambda k, tmp: (3,),
    lambda k, tmp: (2, 3),
    lambda k, tmp: (0.1,),
    lambda k, tmp: (lambda x: x,),
    lambda k, tmp: ((2, 3),),
    lambda k, tmp: (k.layers.Dense(2),),
)


def gap_file(namespace: str):
    return GAPS / f"{namespace}.txt"


def shared_classes(namespace: str) -> list[str]:
    """Public classes of `keras.<namespace>` that lamina also has under the same name."""
    theirs, ours = getattr(keras, namespace), getattr(lamina, namespace)
    return sorted(
        name
        for name in dir(theirs)
        if not name.startswith("_")
        and inspect.isclass(getattr(theirs, name))
        and getattr(ours, name, None) is not None
    )


def instances(name: str, theirs, ours, tmp):
    """(Keras instance, lamina instance) made with the same arguments, or the classes themselves
    when no argument list in the tables makes both."""
    makers = [ARGUMENTS[name]] if name in ARGUMENTS else CANDIDATE_ARGUMENTS
    for make in makers:
        try:
            return theirs(*make(keras, tmp)), ours(*make(lamina, tmp))
        except Exception:  # noqa: BLE001 - any failure means: try the next argument list
            continue
    return theirs, ours


def public_attributes(obj) -> set[str]:
    found = set()
    for attribute in dir(obj):
        if attribute.startswith("_"):
            continue
        try:
            if hasattr(obj, attribute):
                found.add(attribute)
        except Exception:  # noqa: BLE001 - a property raising anything but AttributeError
            continue
    return found


def compared_attributes(namespace: str, tmp) -> dict[str, tuple[set[str], list[str]]]:
    """{class name: (the public attributes Keras's instance answers, those lamina's lacks)}
    over the namespace's shared classes."""
    compared = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in shared_classes(namespace):
            theirs, ours = instances(
                name,
                getattr(getattr(keras, namespace), name),
                getattr(getattr(lamina, namespace), name),
                tmp,
            )
            wanted = public_attributes(theirs)
            compared[name] = (wanted, sorted(wanted - set(dir(ours))))
    return compared


def missing_attributes(namespace: str, tmp) -> dict[str, list[str]]:
    """{class name: Keras attributes the lamina instance lacks} over the namespace's classes."""
    return {
        name: lacking
        for name, (_, lacking) in compared_attributes(namespace, tmp).items()
        if lacking
    }


@pytest.mark.parity
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_classes_have_kerass_attributes_or_their_gaps_are_listed(namespace, tmp_path):
    missing = missing_attributes(namespace, tmp_path)
    gaps = read_gaps(gap_file(namespace))
    listed = {**gaps["excluded"], **gaps["pending"]}

    def is_listed(cls, attribute):
        return f"{cls}.{attribute}" in listed or f"*.{attribute}" in listed

    unlisted = [
        f"{cls}.{attribute}"
        for cls, attributes in missing.items()
        for attribute in attributes
        if not is_listed(cls, attribute)
    ]
    assert not unlisted, (
        f"lamina's keras.{namespace} classes lack {len(unlisted)} Keras attribute(s) that "
        f"{gap_file(namespace).name} does not list: {unlisted}"
    )
    still_missing = {f"{cls}.{a}" for cls, attrs in missing.items() for a in attrs}
    still_missing |= {f"*.{a}" for attrs in missing.values() for a in attrs}
    done = sorted(entry for entry in listed if entry not in still_missing)
    assert not done, (
        f"{gap_file(namespace).name} lists {done}, which no lamina class of keras.{namespace} "
        "lacks any more (or which Keras does not have): delete those lines so the list shrinks."
    )
    unreasoned = sorted(entry for entry, reason in gaps["excluded"].items() if not reason)
    assert not unreasoned, f"{gap_file(namespace).name}: excluded without a reason: {unreasoned}"


def test_overall_count(capsys, tmp_path):
    """lamina answers N of the M public attributes Keras's instances of the shared classes
    answer; printed (with `-s`) per namespace and in total."""
    rows, total, lacking = [], 0, 0
    for namespace in NAMESPACES:
        compared = compared_attributes(namespace, tmp_path).values()
        count = sum(len(wanted) for wanted, _ in compared)
        missing = sum(len(absent) for _, absent in compared)
        rows.append(f"  {namespace:14s} {count - missing:6d} / {count}")
        total, lacking = total + count, lacking + missing
    assert 0 <= lacking < total
    with capsys.disabled():
        print("\nKeras's public attributes that lamina's classes answer, namespace by namespace:")
        print("\n".join(rows))
        share = 100 * (total - lacking) / total
        print(f"lamina answers {total - lacking} of {total} ({share:.1f} %).")
