"""Property test: random convolution and pooling configurations give Keras's output shapes and
parameter counts (the seeds' formula floor((n - f + p) / s) + 1, odd 'same' padding with stride
2, transposed sizes with and without output_padding). Bounded to about 20 s on 2 cores."""

from __future__ import annotations

import keras
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina import layers

FAMILIES = {
    # name: (ranks, takes filters, paddings, has dilation)
    "Conv{}D": ((1, 2, 3), True, ("valid", "same"), True),
    "Conv{}DTranspose": ((1, 2, 3), True, ("valid", "same"), True),
    "DepthwiseConv{}D": ((1, 2), False, ("valid", "same"), True),
    "SeparableConv{}D": ((1, 2), True, ("valid", "same"), True),
    "MaxPooling{}D": ((1, 2, 3), False, ("valid", "same"), False),
    "AveragePooling{}D": ((1, 2, 3), False, ("valid", "same"), False),
}


@st.composite
def configurations(draw):
    family = draw(st.sampled_from(sorted(FAMILIES)))
    ranks, takes_filters, paddings, has_dilation = FAMILIES[family]
    rank = draw(st.sampled_from(ranks))
    if family.startswith("Conv{}DTranspose") or (rank == 3 and family == "Conv{}D"):
        rank = min(rank, 2) if draw(st.booleans()) else rank  # keep 3-D rarer: it is slower
    name = family.format(rank)
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    padding = draw(st.sampled_from(paddings))
    dilated = has_dilation and draw(st.booleans())
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(rank)) if dilated else (1,) * rank
    strides = (1,) * rank if dilated else tuple(draw(st.integers(1, 3)) for _ in range(rank))
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=False)]
    sizes = tuple(draw(st.integers(s, s + 6)) for s in span)
    channels = draw(st.integers(1, 4))
    config = {
        ("pool_size" if "Pooling" in name else "kernel_size"): kernel,
        "strides": strides,
        "padding": padding,
    }
    if takes_filters:
        config["filters"] = draw(st.integers(1, 5))
    if "Depthwise" in name or "Separable" in name:
        config["depth_multiplier"] = draw(st.integers(1, 3))
    if dilated:
        config["dilation_rate"] = dilation
    if name.startswith("Conv") and "Transpose" in name and draw(st.booleans()):
        config["output_padding"] = tuple(draw(st.integers(0, s - 1)) for s in strides)
    if name.startswith("Conv") and "Transpose" not in name and draw(st.booleans()):
        config["groups"] = channels
        config["filters"] = channels * draw(st.integers(1, 2))
    return name, config, (None, *sizes, channels)


@pytest.mark.parity
@settings(
    max_examples=70, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(configurations())
def test_output_shape_and_parameter_count_match_keras(configuration):
    name, config, shape = configuration
    reference = getattr(keras.layers, name)(**config)
    expected_shape = tuple(reference.compute_output_shape(shape))
    reference.build(shape)

    ours = getattr(layers, name)(**config)
    output = ours(layers.Input(batch_shape=shape))
    assert tuple(output.shape) == expected_shape, f"{name} {config} on {shape}"
    assert ours.count_params() == reference.count_params(), f"{name} {config}"
