"""Hostile HDF5 weights (in `.weights.h5`, legacy `.h5` and inside `.keras`): each file is built
here, tiny, and each is refused with lamina's error before any data is read, leaving the model's
weights exactly as they were."""

import functools
import io
import zipfile
import zlib

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers, saving
from lamina.saving import FileFormatError

FORMATS = ["weights.h5", "h5", "keras"]


def _model():
    model = lamina.Sequential(
        [layers.Input((4,)), layers.Dense(3, activation="relu"), layers.Dense(2)]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def _kernel_path(fmt):
    """Where the last layer's (4 -> 3 -> 2: shape (3, 2)) kernel lives in each format."""
    if fmt == "h5":
        return "model_weights/dense_1/sequential/dense_1/kernel"
    return "layers/dense_1/vars/0"


def _saved(tmp_path, fmt, edit):
    """A file of format `fmt` saved from `_model()`, then changed by `edit(h5file)`."""
    path = tmp_path / f"model.{fmt}"
    model = _model()
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), verbose=0)
    model.save_weights(path) if fmt == "weights.h5" else model.save(path)
    if fmt == "keras":
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        buffer = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buffer, "r+") as file:
            edit(file)
        members["model.weights.h5"] = buffer.getvalue()
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    else:
        with h5py.File(path, "r+") as file:
            edit(file)
    return path


def _replace(path, **create):
    """An edit that replaces the dataset at `path` with `create_dataset(**create)`."""

    def edit(file):
        del file[path]
        file.create_dataset(path, **create)

    return edit


def _assert_refused_unchanged(path, match):
    """load_weights refuses the file with `match`, and the model is untouched."""
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(FileFormatError, match=match):
        model.load_weights(path)
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fmt", FORMATS)
def test_huge_declared_shape_is_refused_before_reading(tmp_path, fmt):
    # 60000 x 60000 float32 = 14.4 GB declared, nothing stored (chunks allocate lazily).
    kernel = _kernel_path(fmt)
    edit = _replace(kernel, shape=(60000, 60000), dtype="float32", chunks=(1000, 1000))
    path = _saved(tmp_path, fmt, edit)
    assert path.stat().st_size < 100_000
    _assert_refused_unchanged(
        path, r"weight .* has shape \(3, 2\); .* holds shape \(60000, 60000\)"
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_external_raw_storage_is_refused(tmp_path, fmt):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(6, dtype="float32").tobytes())
    kernel = _kernel_path(fmt)
    edit = _replace(kernel, shape=(3, 2), dtype="float32", external=[(str(secret), 0, 24)])
    path = _saved(tmp_path, fmt, edit)
    _assert_refused_unchanged(path, r"keeps its data in external file\(s\) \[.*secret\.bin")


@pytest.mark.parametrize("fmt", FORMATS)
def test_external_link_is_refused(tmp_path, fmt):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as file:
        file["data"] = np.ones((3, 2), "float32")
    kernel = _kernel_path(fmt)

    def edit(file):
        del file[kernel]
        file[kernel] = h5py.ExternalLink(str(other), "/data")

    path = _saved(tmp_path, fmt, edit)
    _assert_refused_unchanged(path, r"is an external link to '/data' in the file '.*other\.h5'")


@pytest.mark.parametrize("fmt", FORMATS)
def test_external_link_to_a_whole_group_is_refused(tmp_path, fmt):
    other = tmp_path / "other.h5"
    group = "model_weights" if fmt == "h5" else "layers"
    with h5py.File(other, "w") as file:
        file.create_group(group)

    def edit(file):
        del file[group]
        file[group] = h5py.ExternalLink(str(other), f"/{group}")

    path = _saved(tmp_path, fmt, edit)
    _assert_refused_unchanged(path, rf"'/{group}' is an external link")


@pytest.mark.parametrize("fmt", FORMATS)
def test_soft_link_is_refused(tmp_path, fmt):
    kernel = _kernel_path(fmt)

    def edit(file):
        file["elsewhere"] = np.full((3, 2), 7.0, "float32")
        del file[kernel]
        file[kernel] = h5py.SoftLink("/elsewhere")

    path = _saved(tmp_path, fmt, edit)
    _assert_refused_unchanged(path, r"is a soft link to '/elsewhere'")


@pytest.mark.parametrize("fmt", FORMATS)
def test_virtual_dataset_is_refused(tmp_path, fmt):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as file:
        file["data"] = np.ones((3, 2), "float32")
    kernel = _kernel_path(fmt)

    def edit(file):
        layout = h5py.VirtualLayout(shape=(3, 2), dtype="float32")
        layout[:] = h5py.VirtualSource(str(other), "data", shape=(3, 2))
        del file[kernel]
        file.create_virtual_dataset(kernel, layout)

    path = _saved(tmp_path, fmt, edit)
    _assert_refused_unchanged(path, r"is a virtual dataset")


@pytest.mark.parametrize("fmt", FORMATS)
def test_object_dtype_in_last_layer_changes_nothing(tmp_path, fmt):
    # Before: earlier layers were overwritten, then torch failed to convert the objects.
    kernel = _kernel_path(fmt)
    edit = _replace(kernel, shape=(3, 2), dtype=h5py.vlen_dtype(np.float32))
    path = _saved(tmp_path, fmt, edit)
    _assert_refused_unchanged(path, rf"'/{kernel}' holds values of dtype object .*weights are")


@pytest.mark.parametrize(
    "dtype, label",
    [
        (h5py.string_dtype(), "object"),
        (np.dtype("S8"), "|S8"),
        (np.dtype([("a", "float32")]), r"\[\('a', '<f4'\)\]"),
        (np.dtype("complex64"), "complex64"),
    ],
    ids=["string", "bytes", "compound", "complex"],
)
def test_non_numeric_dtypes_are_refused(tmp_path, dtype, label):
    path = _saved(
        tmp_path, "weights.h5", _replace("layers/dense_1/vars/0", shape=(3, 2), dtype=dtype)
    )
    _assert_refused_unchanged(path, rf"holds values of dtype {label}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_filter_plugin_is_refused(tmp_path, fmt):
    # Filter 32001 (Blosc) is not built in: reading would make HDF5 search for a plugin library.
    kernel = _kernel_path(fmt)

    def edit(file):
        del file[kernel]
        dataset = file.create_dataset(
            kernel,
            shape=(3, 2),
            dtype="float32",
            chunks=(3, 2),
            compression=32001,
            allow_unknown_filter=True,
        )
        dataset.id.write_direct_chunk((0, 0), np.ones((3, 2), "float32").tobytes())

    path = _saved(tmp_path, fmt, edit)
    _assert_refused_unchanged(path, r"compressed with filter 32001 .*never loads filter plugins")


@functools.cache
def _zeros_chunk():
    return zlib.compress(bytes(4000 * 4000 * 4), 1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_chunk_bigger_than_the_data_is_refused(tmp_path, fmt):
    # A (3, 2) dataset whose single deflated chunk holds 4000 x 4000 floats (64 MB of zeros in
    # ~64 KB): reading six numbers would inflate all of it.
    kernel = _kernel_path(fmt)
    payload = _zeros_chunk()

    def edit(file):
        del file[kernel]
        dataset = file.create_dataset(
            kernel,
            shape=(3, 2),
            maxshape=(None, None),
            dtype="float32",
            chunks=(4000, 4000),
            compression="gzip",
        )
        dataset.id.write_direct_chunk((0, 0), payload)

    path = _saved(tmp_path, fmt, edit)
    _assert_refused_unchanged(
        path, r"of shape \(3, 2\) declares chunks of shape \(4000, 4000\) \(64000000 bytes each"
    )


def test_group_where_a_dataset_belongs_is_refused(tmp_path):
    def edit(file):
        del file["layers/dense_1/vars/0"]
        file.create_group("layers/dense_1/vars/0")

    path = _saved(tmp_path, "weights.h5", edit)
    _assert_refused_unchanged(path, r"'/layers/dense_1/vars/0' is expected to be a dataset")


def test_big_endian_and_float64_weights_load(tmp_path):
    # Unusual but honest encodings still load (and convert to the model's float32).
    values = np.arange(6, dtype=">f8").reshape(3, 2)
    path = _saved(tmp_path, "weights.h5", _replace("layers/dense_1/vars/0", data=values))
    model = _model()
    model.load_weights(path)
    np.testing.assert_array_equal(model.layers[1].get_weights()[0], values.astype("float32"))


# --------------------------------------------------------------------------------------------------
# Legacy .h5: name lists and attributes


def _legacy(tmp_path, edit):
    return _saved(tmp_path, "h5", edit)


def test_dangling_layer_name_gets_a_clear_error(tmp_path):
    def edit(file):
        group = file["model_weights"]
        group.attrs["layer_names"] = [b"dense", b"dense_1", b"ghost"]

    path = _legacy(tmp_path, edit)
    _assert_refused_unchanged(path, r"'layer_names' lists the layer 'ghost', but '/model_weights'")
    with pytest.raises(FileFormatError, match=r"lists the layer 'ghost'"):
        lamina.models.load_model(path)


def test_dangling_weight_name_gets_a_clear_error(tmp_path):
    def edit(file):
        file["model_weights/dense_1"].attrs["weight_names"] = [
            b"sequential/dense_1/kernel",
            b"sequential/dense_1/nothing",
        ]

    path = _legacy(tmp_path, edit)
    _assert_refused_unchanged(path, r"lists the weight 'sequential/dense_1/nothing'.* no such")


def test_missing_layer_names_gets_a_clear_error(tmp_path):
    path = _legacy(tmp_path, lambda file: file["model_weights"].attrs.__delitem__("layer_names"))
    _assert_refused_unchanged(path, r"has no 'layer_names' attribute")


def test_weight_name_climbing_out_is_refused(tmp_path):
    def edit(file):
        file["model_weights/dense_1"].attrs["weight_names"] = [b"../dense/x", b"sequential/b"]

    path = _legacy(tmp_path, edit)
    _assert_refused_unchanged(path, r"the path '../dense/x' .* has an empty, '\.' or '\.\.' part")


def test_huge_name_list_is_refused_before_reading(tmp_path):
    def edit(file):
        file["model_weights"].attrs["layer_names"] = np.array([b"a"] * 50, dtype="S1")

    path = _legacy(tmp_path, edit)
    with saving.load_limits(max_entries=20):
        _assert_refused_unchanged(
            path, r"'layer_names' of '/model_weights' declares shape \(50,\).* at most 20 names"
        )


def test_deeply_nested_model_config_attribute_is_refused(tmp_path):
    def edit(file):
        file.attrs["model_config"] = "[" * 200_000 + "]" * 200_000

    path = _legacy(tmp_path, edit)
    with pytest.raises(
        FileFormatError,
        match=r"model\.h5: the model_config attribute nests lists/objects 200000 levels deep; "
        r"the limit is 100\..*set_load_limits\(max_json_depth=200000\)",
    ):
        lamina.models.load_model(path)


def test_oversized_model_config_attribute_is_refused(tmp_path):
    def edit(file):
        file.attrs["model_config"] = np.bytes_(b" " * 5000)  # fixed-size: measured before reading

    path = _legacy(tmp_path, edit)
    with (
        saving.load_limits(max_json_bytes=1000),
        pytest.raises(
            FileFormatError,
            match=r"attribute 'model_config' is 5000 bytes; JSON documents are limited",
        ),
    ):
        lamina.models.load_model(path)


def test_broken_training_config_gets_a_clear_error(tmp_path):
    path = _legacy(tmp_path, lambda file: file.attrs.__setitem__("training_config", "{not json"))
    with pytest.raises(FileFormatError, match=r"the training_config attribute is not valid JSON"):
        lamina.models.load_model(path)


@pytest.mark.parametrize("fmt", ["h5", "keras"])
def test_optimizer_state_of_wrong_shapes_is_skipped_with_a_warning(tmp_path, fmt):
    # Before: copy_ failed half-way through the optimizer's slots with a bare RuntimeError.
    name = "optimizer_weights/adam/variable_2" if fmt == "h5" else "optimizer/vars/2"
    path = _saved(tmp_path, fmt, _replace(name, data=np.zeros((5, 5), "float32")))
    with pytest.warns(UserWarning, match=r"Skipping the optimizer state .* shapes \[.*\(5, 5\)"):
        restored = lamina.models.load_model(path)
    assert restored.optimizer.iterations == 0


@pytest.mark.parametrize("fmt", ["h5", "keras"])
def test_optimizer_variable_behind_a_soft_link_is_refused(tmp_path, fmt):
    name = "optimizer_weights/adam/variable_2" if fmt == "h5" else "optimizer/vars/2"

    def edit(file):
        data = file[name][()]
        file["elsewhere"] = data
        del file[name]
        file[name] = h5py.SoftLink("/elsewhere")

    path = _saved(tmp_path, fmt, edit)
    with pytest.raises(FileFormatError, match=r"variable_2' is a soft link|vars/2' is a soft link"):
        lamina.models.load_model(path)


@pytest.mark.parametrize("content", [b"", b"plain text, not HDF5" * 10], ids=["empty", "text"])
@pytest.mark.parametrize("fmt", ["weights.h5", "h5"])
def test_not_hdf5_gets_a_clear_error(tmp_path, fmt, content):
    path = tmp_path / f"model.{fmt}"
    path.write_bytes(content)
    _assert_refused_unchanged(
        path, r"is not a readable HDF5 file \(truncated, corrupted or another"
    )


def test_zip_named_h5_gets_a_hint(tmp_path):
    path = tmp_path / "model.keras"
    _model().save(path)
    renamed = path.rename(tmp_path / "model.h5")
    with pytest.raises(FileFormatError, match=r"it is a zip archive; .* should end in '\.keras'"):
        lamina.models.load_model(renamed)


def _damaged_bytes(tmp_path, fmt, signature):
    """A file of format `fmt` whose first HDF5 structure marked `signature` is overwritten."""
    path = _saved(tmp_path, fmt, lambda file: None)
    if fmt != "keras":
        data = path.read_bytes()
        assert signature in data
        path.write_bytes(data.replace(signature, b"XXXX", 1))
        return path
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["model.weights.h5"] = members["model.weights.h5"].replace(signature, b"XXXX", 1)
    with zipfile.ZipFile(path, "w") as archive:  # fresh CRCs: only the HDF5 inside is damaged
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("signature", [b"SNOD", b"TREE", b"HEAP"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_damaged_structure_gets_a_clear_error(tmp_path, fmt, signature):
    # The header opens; the damage is met at the first lookup, deep inside h5py (KeyError,
    # RuntimeError: "bad symbol table node signature"), and reaches the user as lamina's error.
    path = _damaged_bytes(tmp_path, fmt, signature)
    _assert_refused_unchanged(path, r"is damaged: HDF5 cannot read its structure \(.*signature")
    with pytest.raises(FileFormatError, match=r"is damaged: HDF5 cannot read its structure"):
        lamina.models.load_model(path) if fmt != "weights.h5" else saving.KerasFileEditor(path)


@pytest.mark.parametrize(
    "create",
    [
        {"shape": (3, 2), "dtype": "float32"},  # contiguous storage never allocated
        {"shape": (3, 2), "dtype": "float32", "chunks": (1, 2), "fletcher32": True},
    ],
    ids=["contiguous", "chunked"],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_values_never_written_are_refused(tmp_path, fmt, create):
    # HDF5 reads unwritten storage as zeros, with no error and no checksum to fail.
    path = _saved(tmp_path, fmt, _replace(_kernel_path(fmt), **create))
    _assert_refused_unchanged(path, r"declares shape \(3, 2\) but stores (no data|0 of its 3)")


def test_partly_written_chunks_are_refused(tmp_path):
    def edit(file):
        name = _kernel_path("weights.h5")
        del file[name]
        dataset = file.create_dataset(name, shape=(3, 2), dtype="float32", chunks=(1, 2))
        dataset[:2] = np.ones((2, 2), "float32")  # the third row's chunk is never written

    path = _saved(tmp_path, "weights.h5", edit)
    _assert_refused_unchanged(path, r"stores 2 of its 3 chunks: HDF5 would read the missing")
