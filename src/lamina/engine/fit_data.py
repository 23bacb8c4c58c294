"""Where the data of fit / evaluate / predict is made into batches, and the model made ready.

`training_data` and `validation_data` adapt what the user passed (arrays, datasets, generators)
through `data_adapter`, with `validation_split` and `class_weight` applied; `step_data` hands a
batch to the step methods in Keras's shape. A distributed `fit` shards here.
"""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend
from lamina.engine import compile_utils, data_adapter, errors, fit_arguments


def model_device(model) -> torch.device:
    """The device of the model's first parameter (the backend's default for a model without)."""
    for parameter in model.parameters():
        return parameter.device
    return backend.default_device()


def has_no_call(model) -> bool:
    """A subclassed model that defines no call() (its train_step uses its sub-models directly)."""
    return not model._has_call()


def ensure_built(model, first_batch):
    """Build the model from one batch (eval mode, no gradient) if it is not built yet.

    Returns the outputs of the call that built it (shapes and dtypes on the meta device, or
    real values where the build needed a real call), for the compiled loss and metrics to be
    built from without calling the model once more; None where no call was made."""
    if model.built:
        return None
    if has_no_call(model):
        # Keras's VAE / GAN pattern: no call(), only a custom train_step over built sub-models.
        model.built = True
        return None
    x = data_adapter.unpack(first_batch)[0]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        # builds the weights (on the real device), runs no real call
        outputs = outputs_by_shape(model, x)
        if not model.built:
            outputs = model(x)
    model.train(was_training)
    return outputs


def outputs_by_shape(model, x):
    """The model's outputs for `x` computed on the meta device: shapes and dtypes, no values.

    Keras builds its compiled loss and metrics from the outputs' symbolic shapes, so no layer's
    `call` runs on real data before the first step (a layer counting its calls in a variable
    counts only the steps). A call the meta device cannot run (an op without a meta kernel, a
    value read with `.item()`) falls back to a real forward, which raises any real error.
    """
    from lamina import tree
    from lamina.engine import layer as layer_module
    from lamina.engine import symbolic

    def on_meta(value):
        if isinstance(value, torch.Tensor):
            return torch.empty(value.shape, dtype=value.dtype, device="meta")
        return value

    try:
        with layer_module.meta_inference(), torch.device("meta"):
            return symbolic.meta_call(model, (tree.map_structure(on_meta, x),), {})
    except Exception:  # noqa: BLE001 - an op the meta device lacks; the real call raises real errors
        return model(x)


def step_data(batch):
    """A batch as Keras hands it to train_step / test_step / predict_step: `x` alone when there
    are no labels (a list of inputs wrapped as `(x,)`), else `(x, y)` or `(x, y, sample_weight)`,
    so a custom step's `x, y = data` and the VAE pattern's `self.encoder(data)` both work."""
    x, y, sample_weight = batch
    if y is None and sample_weight is None:
        return x if isinstance(x, (torch.Tensor, dict)) else (x,)
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def with_class_weight(batch, class_weight):
    """The batch with `class_weight` (a `{class id: weight}` table) folded into its sample
    weights, read from the first output's labels, as Keras does."""
    x, y, sample_weight = batch
    weights = fit_arguments.class_weights_to_sample_weights(
        class_weight, compile_utils.flatten_outputs(y)[0]
    )
    return x, y, weights if sample_weight is None else sample_weight * weights


def training_data(model, x, y, sample_weight, options):
    """(training data, validation data or None) for fit: arrays are conformed to the inputs and
    cut by `validation_split`; `class_weight` joins the sample weights of array data up front
    (other data gets it per batch: `with_class_weight`)."""
    device = model_device(model)
    validation = options["validation_data"]
    x = data_adapter.flat_list_as_array(x)
    if data_adapter.is_array_like(x):
        x = fit_arguments.conform_inputs(model, x)
    if options["validation_split"] and validation is None:
        if not data_adapter.is_array_like(x):
            raise errors.value_error(
                "validation_split",
                "array inputs (it cuts the last fraction of the arrays)",
                f"x of type {type(x).__name__}",
                "pass validation_data= for datasets and generators.",
            )
        (x, y, sample_weight), validation = data_adapter.split_validation(
            x, y, sample_weight, options["validation_split"]
        )
    train = data_adapter.adapt(
        x,
        y,
        sample_weight,
        options["batch_size"],
        options["shuffle"],
        options["steps_per_epoch"],
        device,
    )
    class_weight = options["class_weight"]
    if class_weight is not None and isinstance(train, data_adapter.ArrayData):
        _, _, train.sample_weight = with_class_weight(
            (None, train.y, train.sample_weight), class_weight
        )
    return train, validation_data(validation, options, device)


def validation_data(validation, options, device):
    """`validation_data` as batches: `(x, y[, sample_weight])` arrays or a dataset."""
    if validation is None:
        return None
    steps = options["validation_steps"]
    batch_size = options["validation_batch_size"] or options["batch_size"]
    if isinstance(validation, (list, tuple)) and data_adapter.is_array_like(validation[0]):
        vx, vy, vsw = data_adapter.unpack(tuple(validation))
        return data_adapter.adapt(vx, vy, vsw, batch_size, False, steps, device)
    if isinstance(validation, (np.ndarray, torch.Tensor, dict)) and data_adapter.is_array_like(
        validation
    ):  # inputs alone (a model whose test_step needs no labels), batched as Keras does
        return data_adapter.adapt(validation, None, None, batch_size, False, steps, device)
    return data_adapter.adapt(validation, steps=steps, device=device)


def evaluation_data(model, x, y, sample_weight, batch_size, steps, labels=True):
    """The batches of evaluate (labels=True) or predict (labels=False)."""
    x = data_adapter.flat_list_as_array(x)
    if data_adapter.is_array_like(x):
        x = fit_arguments.conform_inputs(model, x)
    device = model_device(model)
    if labels:
        return data_adapter.adapt(x, y, sample_weight, batch_size, False, steps, device)
    return data_adapter.adapt(x, None, None, batch_size, False, steps, device, check=False)


def single_batch(model, x, y, sample_weight):
    """The data of train_on_batch / test_on_batch: all of `x` as one batch."""
    batch_size = data_adapter.num_samples(x, "x")
    return data_adapter.adapt(
        x, y, sample_weight, batch_size=batch_size, device=model_device(model)
    )
