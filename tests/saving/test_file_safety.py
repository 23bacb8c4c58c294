"""Damaged files give a clear error and never a half-loaded model; a Lambda's code is never run
from a file; a process SIGKILLed mid-save never destroys the previous file."""

import os
import signal
import time
import warnings

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.saving import FileFormatError, atomic
from tests.parity import reference


def _model():
    model = lamina.Sequential(
        [layers.Input((4,)), layers.Dense(3, activation="relu"), layers.Dense(2)]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    else:  # flipped bytes inside a weight array (HDF5) or anywhere in an entry (zip)
        start = _weight_offset(path) if path.suffix == ".h5" else len(data) // 2
        path.write_bytes(
            data[:start] + bytes(b ^ 0xFF for b in data[start : start + 16]) + data[start + 16 :]
        )


def _weight_offset(path):
    import h5py

    with h5py.File(path, "r") as file:
        dataset = file["model_weights/dense/sequential/dense/kernel"]
        return dataset.id.get_chunk_info(0).byte_offset


@pytest.mark.parametrize("how", ["truncated", "empty", "corrupted"])
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_damaged_model_file_raises_clear_error(tmp_path, fmt, how):
    path = tmp_path / f"model.{fmt}"
    _model().save(path)
    _damage(path, how)
    with pytest.raises(
        FileFormatError, match=r"(truncated|corrupted|damaged|not a complete|not valid)"
    ):
        lamina.models.load_model(path)


@pytest.mark.parametrize("how", ["truncated", "empty"])
@pytest.mark.parametrize("fmt", ["keras", "h5", "weights.h5"])
def test_damaged_weights_never_half_load(tmp_path, fmt, how):
    source = _model()
    path = tmp_path / f"model.{fmt}"
    source.save_weights(path) if fmt == "weights.h5" else source.save(path)
    _damage(path, how)
    target = _model()
    before = target.get_weights()
    with pytest.raises(FileFormatError):
        target.load_weights(path)
    for a, b in zip(target.get_weights(), before, strict=False):
        np.testing.assert_array_equal(a, b)


def test_mismatched_architecture_names_the_layer(tmp_path):
    path = tmp_path / "model.weights.h5"
    _model().save_weights(path)
    other = lamina.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dense(2)])
    before = other.get_weights()
    with pytest.raises(
        FileFormatError, match=r"Layer 'dense_\d+' weight 0 has shape \(4, 5\); .* \(4, 3\)"
    ):
        other.load_weights(path)
    for a, b in zip(other.get_weights(), before, strict=False):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_loads_what_fits(tmp_path):
    path = tmp_path / "model.weights.h5"
    source = _model()
    source.save_weights(path)
    other = lamina.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dense(2)])
    kept = other.get_weights()[2]
    # As Keras, it says which layers kept their own weights.
    with pytest.warns(
        UserWarning,
        match=r"left 2 layer\(s\).*'dense_\d+' \(weight 0 of shape \(4, 5\), the file holds "
        r"\(4, 3\)\)",
    ):
        other.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(other.get_weights()[2], kept)  # (5, 2) kernel did not fit


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, d: m.save(d / "model.pt"), r"expects a filepath ending in '.keras'"),
        (lambda m, d: m.save_weights(d / "model.h5"), r"ending in '.weights.h5'"),
        (lambda m, d: lamina.models.load_model(d / "missing.keras"), r"No file at"),
    ],
    ids=["save-extension", "save-weights-extension", "missing-file"],
)
def test_path_errors(tmp_path, call, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        call(_model(), tmp_path)


def test_lambda_code_is_not_run_even_with_safe_mode_false(tmp_path):
    model = lamina.Sequential(
        [layers.Input((3,)), layers.Lambda(lambda x: x * 2.0), layers.Dense(1)]
    )
    path = tmp_path / "lambda.keras"
    model.save(path)
    lamina.config.enable_unsafe_deserialization()
    try:
        with pytest.raises(ValueError, match=r"anonymous Python function.*never runs"):
            lamina.models.load_model(path, safe_mode=False)
    finally:
        lamina.config._settings["unsafe_deserialization"] = False


def test_overwrite_false_keeps_existing_file(tmp_path):
    path = tmp_path / "model.keras"
    _model().save(path)
    with pytest.raises(FileExistsError, match=r"already exists; pass overwrite=True"):
        _model().save(path, overwrite=False)


def test_saved_files_get_the_permissions_a_plain_write_gives(tmp_path):
    # mkstemp makes 0o600 files; a saved model must be as readable as any file the user writes.
    umask = os.umask(0o022)
    try:
        plain = tmp_path / "plain.bin"
        plain.write_bytes(b"x")
        atomic.write_bytes(tmp_path / "new.bin", b"x")
        assert (tmp_path / "new.bin").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
        os.chmod(plain, 0o640)  # replacing a file keeps its permissions
        atomic.write_bytes(plain, b"y")
        assert plain.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_failed_write_leaves_target_and_no_temporary(tmp_path):
    target = tmp_path / "file.bin"
    atomic.write_bytes(target, b"old")
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(b"half")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.bin"]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_sigkill_mid_save_never_destroys_previous_file(tmp_path, fmt):
    """A child process saving in a loop is SIGKILLed at random moments, many times: after every
    kill the file still loads completely. Forked children start in milliseconds, so 12 kills per
    format cost a few seconds."""
    model = lamina.Sequential(
        [layers.Input((64,)), layers.Dense(768), layers.Dense(768), layers.Dense(8)]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((8, 64), "float32"), np.zeros((8, 8), "float32"), verbose=0)
    path = tmp_path / f"model.{fmt}"
    model.save(path)
    expected = model.get_weights()
    rng = np.random.default_rng(0)
    for _ in range(12):
        child = os.fork()
        if child == 0:  # the child saves forever; only SIGKILL ends it
            try:
                while True:
                    model.save(path)
            finally:
                os._exit(1)
        time.sleep(float(rng.uniform(0.01, 0.25)))
        os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        restored = lamina.models.load_model(path)
        for a, b in zip(restored.get_weights(), expected, strict=False):
            np.testing.assert_array_equal(a, b)
    # A killed write may leave its own temporary file behind, never a damaged target.
    assert {n for n in os.listdir(tmp_path) if not n.endswith(".tmp")} == {path.name}


# --------------------------------------------------------------------------------------------------
# Leftover temporaries of killed saves


def _killed_mid_save(target):
    """Fork a child that starts an atomic save of `target` and is SIGKILLed inside it; returns
    the temporary it leaves behind and the dead child's pid."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            with atomic.atomic_path(target) as temporary:
                os.write(write_end, temporary.encode())
                os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(1)
    os.close(write_end)
    temporary = os.read(read_end, 4096).decode()
    os.close(read_end)
    _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status)
    return temporary, child


def _age(path, seconds):
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_next_save_removes_the_temporary_of_a_killed_save(tmp_path):
    target = tmp_path / "model.keras"
    leftover, pid = _killed_mid_save(target)
    assert os.path.basename(leftover).startswith(f".model.keras.lamina-{pid}-")
    _age(leftover, atomic.STALE_SECONDS + 5)
    _model().save(target)
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]


def test_stale_cleanup_spares_live_writers_fresh_files_and_other_targets(tmp_path):
    target = tmp_path / "model.keras"
    dead_leftover, dead = _killed_mid_save(target)
    live = os.getppid()  # a process that certainly exists
    names = {
        # (age in seconds, expected to be removed)
        os.path.basename(dead_leftover): (atomic.STALE_SECONDS + 5, True),
        f".model.keras.lamina-{dead}-fresh000.tmp": (1, False),  # dead writer, just written
        f".model.keras.lamina-{live}-writing0.tmp": (atomic.STALE_SECONDS + 5, False),
        f".model.keras.lamina-{live}-forgottn.tmp": (atomic.ABANDONED_SECONDS + 5, True),
        ".model.keras.abcd_123.tmp": (atomic.ABANDONED_SECONDS + 5, True),  # older lamina
        ".model.keras.abcd_124.tmp": (atomic.STALE_SECONDS + 5, False),
        f".other.keras.lamina-{dead}-abcdefgh.tmp": (atomic.ABANDONED_SECONDS + 5, False),
        f".model.keras.lamina-{dead}-abcdefgh.tmp.bak": (atomic.ABANDONED_SECONDS + 5, False),
        ".model.keras.notes.tmp": (atomic.ABANDONED_SECONDS + 5, False),
    }
    for name, (age, _) in names.items():
        (tmp_path / name).write_bytes(b"x")
        _age(tmp_path / name, age)
    removed = atomic.remove_stale_temporaries(target)
    assert sorted(os.path.basename(p) for p in removed) == sorted(
        name for name, (_, gone) in names.items() if gone
    )
    assert sorted(os.listdir(tmp_path)) == sorted(n for n, (_, g) in names.items() if not g)


@pytest.mark.slow
def test_two_processes_saving_one_target_never_remove_each_others_temporaries(tmp_path):
    """Both writers' temporaries are alive and fresh, so neither's cleanup touches the other's:
    every save of both succeeds, the last rename wins, and nothing is left behind."""
    model = _model()
    path = tmp_path / "model.keras"
    children = []
    for _ in range(2):
        child = os.fork()
        if child == 0:
            code = 1
            try:
                for _ in range(25):
                    model.save(path)
                code = 0
            finally:
                os._exit(code)
        children.append(child)
    for child in children:
        _, status = os.waitpid(child, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert os.listdir(tmp_path) == ["model.keras"]
    restored = lamina.models.load_model(path)
    for a, b in zip(restored.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["model.keras", "model.weights.h5", "model.h5"])
def test_saving_onto_a_directory_is_refused_before_anything_is_written(tmp_path, name):
    model = lamina.Sequential([lamina.layers.Input((3,)), lamina.layers.Dense(1)])
    (tmp_path / name).mkdir()
    save = model.save_weights if name.endswith(".weights.h5") else model.save
    with pytest.raises(
        IsADirectoryError,
        match=r"filepath expects a file path; received '.*', which is a directory\. "
        r"Hint: save into it with a file name",
    ):
        save(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert list((tmp_path / name).iterdir()) == []


def _refused_keywords(m, folder):
    """Which load_weights() keyword arguments each file kind refuses (ValueError) or takes."""
    model = m.Sequential([m.Input((2,)), m.layers.Dense(1)])
    paths = {kind: str(folder / f"{m.__name__}.{kind}") for kind in ("weights.h5", "keras", "h5")}
    model.save_weights(paths["weights.h5"])
    model.save(paths["keras"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy format's advice to use .keras
        model.save(paths["h5"])
    outcome = {}
    for kind, path in paths.items():
        for keywords in ({"skip_missmatch": True}, {"by_name": True}):
            key = (kind, next(iter(keywords)))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.load_weights(path, **keywords)
                outcome[key] = "loaded"
            except ValueError:
                outcome[key] = "ValueError"
    return outcome


def test_load_weights_refuses_unknown_keywords_as_keras(tmp_path):
    expected = reference.keras_run(lambda keras: _refused_keywords(keras, tmp_path))
    got = _refused_keywords(lamina, tmp_path)
    assert got == expected
    assert got["weights.h5", "skip_missmatch"] == "ValueError"
    assert got["h5", "by_name"] == "loaded"
