"""What every application builder shares: argument checks, the input, the pooling head, weights.

Keras's rules, so that code written for `keras.applications` behaves the same: a model with its
classifier (`include_top=True`) needs a fixed input size; `weights="imagenet"` fixes 3 channels,
1000 classes and (with the top) the published input size; `pooling` applies only without the top.
"""

from __future__ import annotations

from lamina import layers
from lamina.applications import weights as weight_files
from lamina.engine.model import Model
from lamina.engine.symbolic import InputLayer, KerasTensor


def check_arguments(
    builder: str, weights, include_top: bool, classes: int, classifier_activation, pooling
) -> None:
    if not (weights in {"imagenet", None} or isinstance(weights, str)):
        raise ValueError(
            f"{builder}() expects weights=None (random), 'imagenet' or the path to a weights file; "
            f"received weights={weights!r}."
        )
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            f"{builder}() with weights='imagenet' and include_top=True expects classes=1000 (the "
            f"ImageNet classifier); received classes={classes}. Hint: use include_top=False and "
            "add your own classifier."
        )
    if weights == "imagenet" and include_top and classifier_activation not in {"softmax", None}:
        raise ValueError(
            f"{builder}() with pretrained weights expects classifier_activation 'softmax' or None; "
            f"received classifier_activation={classifier_activation!r}."
        )
    if pooling not in {None, "avg", "max"}:
        raise ValueError(
            f"{builder}() expects pooling None, 'avg' or 'max'; received pooling={pooling!r}."
        )


def input_shape_for(
    builder: str,
    input_shape,
    input_tensor,
    *,
    default_size: int,
    min_size: int,
    include_top: bool,
    weights,
    any_size_top: bool = False,
) -> tuple:
    """The per-sample input shape, from `input_shape`, `input_tensor` or the defaults.

    `any_size_top`: the classifier pools globally, so (as Keras's MobileNetV3 and
    EfficientNetV2) the input size stays free even with the top and pretrained weights.
    """
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(input_tensor.shape[1:])
    default = (default_size, default_size, 3)
    if any_size_top:
        include_top = False
        if input_shape is None:
            return (None, None, 3)
    if weights == "imagenet" and include_top:
        if input_shape is not None and tuple(input_shape) != default:
            raise ValueError(
                f"{builder}() with weights='imagenet' and include_top=True expects "
                f"input_shape={default}; received input_shape={tuple(input_shape)}. Hint: use "
                "include_top=False for other sizes."
            )
        return default
    if input_shape is None:
        return default if include_top else (None, None, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            f"{builder}() expects input_shape=(height, width, channels); received "
            f"input_shape={input_shape}."
        )
    if weights == "imagenet" and input_shape[-1] != 3:
        raise ValueError(
            f"{builder}() with weights='imagenet' expects 3 input channels; received "
            f"input_shape={input_shape}."
        )
    if any(d is not None and d < min_size for d in input_shape[:2]):
        raise ValueError(
            f"{builder}() expects height and width of at least {min_size}; received "
            f"input_shape={input_shape}."
        )
    if include_top and None in input_shape:
        raise ValueError(
            f"{builder}() with include_top=True expects a fixed input size; received "
            f"input_shape={input_shape}. Hint: give every size, or use include_top=False."
        )
    return input_shape


def model_input(input_shape, input_tensor) -> KerasTensor:
    """A new `Input`, or `input_tensor` itself (a KerasTensor from `Input` or a layer)."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not isinstance(input_tensor, KerasTensor):
        raise ValueError(
            "input_tensor= expects a symbolic tensor from lamina.Input() or a layer call; "
            f"received {type(input_tensor).__name__}."
        )
    return input_tensor


def source_inputs(tensor: KerasTensor) -> list[KerasTensor]:
    """The `Input` tensors a symbolic tensor depends on (the model's inputs for `input_tensor=`)."""
    found, seen, stack = [], set(), [tensor]
    while stack:
        current = stack.pop()
        node = current.node
        if node is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(node.layer, InputLayer):
            found.append(current)
        else:
            stack.extend(node.parent_tensors)
    return found[::-1]


def pooling_head(x, pooling, *, avg_name=None, max_name=None):
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def finish(model, weights, file_name: str | None):
    """Load the requested weights into a built model (or leave them random)."""
    if weights == "imagenet":
        weight_files.load_application_weights(model, weight_files.find(file_name))
    elif weights is not None:
        weight_files.load_application_weights(model, weights)
    return model


def dense_top(x, classes, classifier_activation, *, pool_name="avg_pool", dropout=None):
    """Global average pooling, optional dropout, and the `predictions` Dense layer."""
    x = layers.GlobalAveragePooling2D(name=pool_name)(x)
    if dropout:
        x = layers.Dropout(dropout, name="top_dropout")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def build(
    builder: str,
    body,
    *,
    include_top: bool,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes: int,
    classifier_activation,
    name: str,
    file_name: str | None,
    default_size: int = 224,
    min_size: int = 32,
    top=None,
    pool_names=("avg_pool", "max_pool"),
    any_size_top: bool = False,
    features=None,
):
    """Assemble an application the way every Keras builder does.

    Checks the arguments, resolves the input shape and the weights file (before building
    anything), runs `body(inputs)` for the feature extractor, adds the classifier (`top(x)`, by
    default `dense_top`) or the pooling head, and loads the weights.

    Args:
        builder: the public name, for error messages ("ResNet50V2").
        body: `inputs -> features`, the family's stem and blocks.
        file_name: Keras's weights file for `weights="imagenet"` (None where none is published).
        top: `(x, classes, classifier_activation) -> outputs`, the classifier.
        name: the model's name, or `input shape -> name`.
        pool_names: names of the pooling layers of `pooling="avg"` / `"max"` without the top.
        any_size_top: the input size stays free with the top (see `input_shape_for`).
        features: `(x, pooling) -> outputs` without the top, in place of the pooling head.
    """
    check_arguments(builder, weights, include_top, classes, classifier_activation, pooling)
    shape = input_shape_for(
        builder,
        input_shape,
        input_tensor,
        default_size=default_size,
        min_size=min_size,
        include_top=include_top,
        weights=weights,
        any_size_top=any_size_top,
    )
    resolve_weights(weights, file_name)
    inputs = model_input(shape, input_tensor)
    x = body(inputs)
    if include_top:
        x = (top or dense_top)(x, classes, classifier_activation)
    elif features is not None:
        x = features(x, pooling)
    else:
        x = pooling_head(x, pooling, avg_name=pool_names[0], max_name=pool_names[1])
    model_inputs = source_inputs(inputs) if input_tensor is not None else inputs
    name = name(shape) if callable(name) else name
    return finish(Model(model_inputs, x, name=name), weights, file_name)


def resolve_weights(weights, file_name: str | None):
    """Fail before building anything when `weights='imagenet'` and the file is not in place."""
    if weights == "imagenet":
        weight_files.find(file_name)
    elif weights is not None:
        weight_files.check_path(weights)
