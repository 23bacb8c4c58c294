"""Auto-names against Keras 3: layers Keras builds inside others (a Sequential's inner graph,
attention's softmax and dropout) use up names there, so the names a user sees after them agree."""

import keras
import pytest

import lamina


def _names_after_helpers(lib):
    """The same small program for both libraries; returns the auto-names it ends with."""
    layers = lib.layers
    names = []

    def next_model_name():
        inputs = lib.Input((4,))
        return lib.Model(inputs, layers.Dense(1)(inputs)).name

    stack = lib.Sequential([lib.Input((4,)), layers.Dense(2)])
    names.append(next_model_name())
    stack.add(layers.Dense(3))
    names.append(next_model_name())
    stack.pop()
    names.append(next_model_name())
    lazy = lib.Sequential([layers.Dense(2)])
    lazy(lib.Input((4,)))
    names.append(next_model_name())
    empty = lib.Sequential()
    empty.add(lib.Input((4,)))  # an Input alone builds no graph
    names.append(next_model_name())

    for attention in (
        layers.MultiHeadAttention(num_heads=2, key_dim=2),
        layers.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1),
    ):
        query = lib.Input((3, 4))
        attention(query, query)
        names += [layers.Dropout(0.1).name, layers.Softmax().name]
    return names


@pytest.mark.parity
def test_auto_names_after_built_in_helper_layers_equal_keras():
    keras.backend.clear_session()
    expected = _names_after_helpers(keras)
    lamina.backend.clear_session()
    assert _names_after_helpers(lamina) == expected


@pytest.mark.parity
def test_unnamed_metrics_are_numbered_as_in_keras():
    # Keras numbers unnamed confusion metrics (auc, auc_1) but not the mean-based ones (mean,
    # mean); lamina's AUC stayed `auc` while BackupAndRestore matched metrics by name alone.
    def names(lib):
        made = [lib.metrics.AUC(), lib.metrics.AUC(), lib.metrics.Precision()]
        made += [lib.metrics.Precision(), lib.metrics.Mean(), lib.metrics.Mean()]
        return [metric.name for metric in made]

    keras.backend.clear_session()
    expected = names(keras)
    assert names(lamina) == expected == ["auc", "auc_1", "precision", "precision_1", "mean", "mean"]
