"""Metrics a layer holds as attributes (Keras's endpoint-layer pattern): `Layer.metrics` finds
them, defining a functional model leaves their state alone, and `fit()` logs and resets them with
the compiled metrics, as Keras's `model.metrics` includes every layer's metrics."""

import numpy as np

import lamina
from lamina import layers, ops


class CountingEndpoint(layers.Layer):
    """Counts the samples whose target it sees; returns its first input unchanged."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = lamina.metrics.Sum(name="seen")

    def call(self, logits, targets=None):
        if targets is not None:
            self.seen.update_state(ops.ones_like(targets))
            self.add_loss(ops.mean(ops.square(logits - targets)))
        return logits


def _endpoint_model():
    inputs = lamina.Input((3,), name="inputs")
    targets = lamina.Input((1,), name="targets")
    outputs = CountingEndpoint(name="endpoint")(layers.Dense(1)(inputs), targets)
    return lamina.Model([inputs, targets], outputs)


def test_defining_a_functional_model_leaves_a_layer_metric_untouched():
    model = _endpoint_model()
    assert model.get_layer("endpoint").seen.result().item() == 0.0


def test_layer_metrics_lists_the_metrics_of_the_layer_and_its_sub_layers_once():
    endpoint = CountingEndpoint()
    endpoint.again = endpoint.seen  # the same object under a second name counts once
    outer = layers.Layer()
    outer.inner = endpoint
    assert [m.name for m in outer.metrics] == ["seen"]


def test_fit_logs_and_resets_a_metric_a_layer_holds_as_keras_does():
    model = _endpoint_model()
    model.compile(optimizer="sgd")
    rng = np.random.default_rng(0)
    data = {"inputs": rng.random((10, 3)), "targets": rng.random((10, 1))}
    history = model.fit(data, epochs=2, batch_size=4, verbose=0)
    assert history.history["seen"] == [10.0, 10.0]  # reset at each epoch's start
    assert model.metrics_names == ["loss", "seen"]
    assert model.evaluate(data, verbose=0, return_dict=True)["seen"] == 10.0


class _HeldEveryWay(layers.Layer):
    """Metrics held in each form `Layer.metrics` finds: set before `super().__init__()`, in a
    list filled later, in a tuple, and replaced."""

    def __init__(self, **kwargs):
        self.early = lamina.metrics.Mean(name="early")  # before Layer.__init__, as Keras allows
        super().__init__(**kwargs)
        self.later = []
        self.pair = (lamina.metrics.Sum(name="first"), lamina.metrics.Sum(name="second"))
        self.swapped = None
        self.later.append(lamina.metrics.Mean(name="appended"))
        self.swapped = lamina.metrics.Mean(name="swapped")

    def call(self, inputs):
        return inputs


def test_metrics_held_every_way_are_found_in_the_order_they_were_assigned():
    # Layer.metrics visits only the attributes __setattr__ saw holding a metric or a list (a
    # walk of every attribute was most of train_on_batch's fixed cost): none may be missed.
    layer = _HeldEveryWay()
    assert [m.name for m in layer.metrics] == ["early", "appended", "first", "second", "swapped"]
    del layer.swapped
    assert [m.name for m in layer.metrics] == ["early", "appended", "first", "second"]
    model = lamina.Sequential([layers.Input((2,)), _HeldEveryWay(name="held")])
    assert [m.name for m in model.metrics][-5:] == [
        "early",
        "appended",
        "first",
        "second",
        "swapped",
    ]
