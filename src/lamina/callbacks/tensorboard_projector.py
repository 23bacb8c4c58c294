"""TensorBoard's embedding projector for `TensorBoard(embeddings_freq=N)`: each Embedding layer's
table as a TSV file, and the `projector_config.pbtxt` that points the projector at it.

Keras 3 writes the config with a checkpoint path the projector cannot read (a `.weights.h5`);
the projector also reads tables from TSV files (`tensor_path`), which needs neither TensorFlow
nor a checkpoint, so lamina writes those.
"""

from __future__ import annotations

import os

import numpy as np

from lamina import backend
from lamina.engine import errors

CONFIG_NAME = "projector_config.pbtxt"
TABLES_FOLDER = "embeddings"


def embedding_layers(model) -> list:
    """The model's own Embedding layers (its `layers`, as Keras's callback looks them up)."""
    from lamina.layers.embedding import Embedding

    return [layer for layer in model.layers if isinstance(layer, Embedding)]


def metadata_paths(layers, embeddings_metadata) -> dict[str, str]:
    """`{layer name: metadata file}` from the callback's `embeddings_metadata`: one path for
    every layer, or a dict by layer name whose names must all be Embedding layers."""
    if embeddings_metadata is None:
        return {}
    if isinstance(embeddings_metadata, (str, os.PathLike)):
        return {layer.name: os.fspath(embeddings_metadata) for layer in layers}
    known = {layer.name for layer in layers}
    unknown = sorted(set(embeddings_metadata) - known)
    if unknown:
        raise errors.value_error(
            "TensorBoard embeddings_metadata",
            f"names of the model's Embedding layers ({sorted(known) or 'none'})",
            f"{unknown}",
            "key the dict by `layer.name`, or pass one path for every Embedding layer.",
        )
    return {name: os.fspath(path) for name, path in embeddings_metadata.items()}


def table_path(layer) -> str:
    """Where a layer's table is written, relative to the log folder."""
    return f"{TABLES_FOLDER}/{layer.name}.tsv"


def write_config(log_dir: str, layers, metadata: dict[str, str]) -> None:
    """The projector's config at the root of `log_dir` (TensorBoard reads it there)."""
    entries = []
    for layer in layers:
        lines = [
            f"  tensor_name: {_quote(layer.name + '/embeddings')}",
            f"  tensor_path: {_quote(table_path(layer))}",
        ]
        if layer.name in metadata:
            lines.append(f"  metadata_path: {_quote(metadata[layer.name])}")
        entries.append("embeddings {\n" + "\n".join(lines) + "\n}\n")
    os.makedirs(log_dir, exist_ok=True)
    _write_replacing(os.path.join(log_dir, CONFIG_NAME), "".join(entries))


def write_tables(log_dir: str, layers) -> None:
    """Each layer's current table, one row per token id, tab-separated."""
    os.makedirs(os.path.join(log_dir, TABLES_FOLDER), exist_ok=True)
    for layer in layers:
        table = backend.as_plain_numpy(layer.embeddings).astype(np.float32, copy=False)
        rows = "\n".join("\t".join(f"{value:.8g}" for value in row) for row in table)
        _write_replacing(os.path.join(log_dir, table_path(layer)), rows + "\n")


def _quote(text: str) -> str:
    """A protobuf text-format string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_replacing(path: str, text: str) -> None:
    # TensorBoard may read while training writes: it sees the old file or the new, never half.
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(partial, path)
