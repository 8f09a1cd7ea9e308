"""Instance normalisation (plain and conditional), and its statistics shared across tiles.

Ulyanov et al. 2016; conditional (a scale and offset per style, blended by
style weights): Dumoulin, Shlens & Kudlur 2017. Statistics are taken in float32 even when the compute
dtype is float16. For tiled inference of large images the layer can
normalise with statistics measured over the whole image
(`InstanceNormStatistics`), so a tiled result equals the one-pass result.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from keras import ops


# Instance norm's statistics and per-channel scale and offset are computed
# under this name: the full-int8 TFLite export (`export.tflite`) keeps exactly
# these tensors in float32 (XNNPACK has no int8 RSQRT or SQUARED_DIFFERENCE,
# and an int8 variance of per-tensor-quantised activations cost 2–3 dB on
# photos: 28.5–30 vs 31–32 dB at 512² for a trained 16-filter network), while
# the normalisation itself, x · scale + offset, runs in int8.
FLOAT_STATISTICS_SCOPE = "float_statistics"


@keras.saving.register_keras_serializable(package="dstyle_tf")
class InstanceNormalization(layers.Layer):
    """Per-image, per-channel normalisation with a learned scale and offset.

    Ulyanov et al. 2016, "Instance Normalization: The Missing Ingredient for
    Fast Stylization". Statistics are computed over H and W in float32.

    `call(inputs, statistics=...)` takes an `InstanceNormStatistics`: the
    layer then normalises with the whole image's statistics instead of the
    input's (tiled inference) and/or records the input's moments.

    Args:
        epsilon: float. Added to the variance for numerical stability.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(
            name="gamma", shape=(channels,), initializer="ones"
        )
        self.beta = self.add_weight(
            name="beta", shape=(channels,), initializer="zeros"
        )

    def call(self, inputs, statistics=None):
        return self._normalize(inputs, self.gamma, self.beta, statistics)

    def _normalize(self, inputs, gamma, beta, statistics):
        """Normalises `inputs` and applies `gamma`, `beta` ((C,) or (B, 1, 1, C))."""
        x = ops.cast(inputs, "float32")
        fixed = None
        if statistics is not None:
            statistics.observe(self, x)
            fixed = statistics.lookup(self)
        with tf.name_scope(FLOAT_STATISTICS_SCOPE):
            if fixed is None:
                mean = ops.mean(x, axis=(1, 2), keepdims=True)
                variance = ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True)
            else:
                mean, variance = (ops.cast(v, "float32") for v in fixed)
            # Fold the affine terms into one multiply-add: fewer elementwise
            # ops, which is what dominates this layer on CPU and in TFLite.
            scale = ops.rsqrt(variance + self.epsilon) * ops.cast(gamma, "float32")
            offset = ops.cast(beta, "float32") - mean * scale
        return ops.cast(x * scale + offset, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config


@keras.saving.register_keras_serializable(package="dstyle_tf")
class ConditionalInstanceNormalization(InstanceNormalization):
    """Instance normalisation with a scale and offset per style.

    Dumoulin, Shlens & Kudlur 2017, "A Learned Representation for Artistic
    Style" (ICLR): one network holds `num_styles` styles when only the
    instance-norm parameters are per style. `gamma` and `beta` have shape
    (num_styles, C); `call(inputs, style_weights)` normalises with
    `gamma = style_weights @ gamma_s` and `beta = style_weights @ beta_s`
    per image, so a one-hot row picks a style and non-negative weights
    summing to 1 blend styles. The blend is taken in float32.

    Args:
        num_styles: int >= 1. Styles held.
        epsilon: float. Added to the variance for numerical stability.

    Example:
    ```python
    norm = ConditionalInstanceNormalization(num_styles=3)
    y = norm(np.ones((2, 8, 8, 16)), np.eye(3)[[0, 2]])  # styles 0 and 2
    ```
    """

    def __init__(self, num_styles, epsilon=1e-5, **kwargs):
        super().__init__(epsilon=epsilon, **kwargs)
        if int(num_styles) < 1:
            raise ValueError(f"num_styles must be >= 1; got {num_styles}.")
        self.num_styles = int(num_styles)

    def build(self, input_shape):
        shape = (self.num_styles, input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")

    def call(self, inputs, style_weights, statistics=None):
        weights = ops.cast(style_weights, "float32")
        gamma = ops.matmul(weights, ops.cast(self.gamma, "float32"))
        beta = ops.matmul(weights, ops.cast(self.beta, "float32"))
        return self._normalize(
            inputs, gamma[:, None, None, :], beta[:, None, None, :], statistics
        )

    def get_config(self):
        config = super().get_config()
        config.update({"num_styles": self.num_styles})
        return config


class StopForward(Exception):
    """Raised by `InstanceNormStatistics(stop_after=...)` once it has its layer."""


class InstanceNormStatistics:
    """Instance-norm statistics shared across calls: for tiled inference.

    Instance normalisation uses the mean and variance of the whole input, so
    a tile normalised on its own differs from the same pixels in a one-pass
    run. Passed as `statistics=` to a `TransformNet` call, this object

    - records, for every `InstanceNormalization` layer, the per-channel
      moments of its input over `region` (accumulated over calls), and
    - makes the layers normalise with `fixed` statistics when given.

    Not for `tf.function`: it exchanges numpy values with eager tensors.

    Args:
        fixed: optional {layer path: (mean, variance)} per-channel arrays
            (from `moments()` of a previous pass) to normalise with.
        record: accumulate the inputs' sums (for `moments()`).
        region: optional (top, bottom, left, right) fractions of the
            input's height and width: only this part is recorded (a tile's
            own, non-overlapping share of the image). Must map to whole
            pixels at every layer's resolution.
        stop_after: optional layer path: record only this layer, then stop
            the forward pass (raises `StopForward`): the later layers are
            not needed to measure it.
    """

    def __init__(self, fixed=None, record=True, region=None, stop_after=None):
        self.fixed = dict(fixed or {})
        self.record = record
        self.region = region
        self.stop_after = stop_after
        self._sums = {}

    def lookup(self, layer):
        if not self.fixed:
            return None
        if layer.path not in self.fixed:
            raise KeyError(f"No statistics for instance-norm layer {layer.path}.")
        return self.fixed[layer.path]

    def observe(self, layer, x):
        if not self.record or self.stop_after not in (None, layer.path):
            return
        if self.region is not None:
            height, width = x.shape[1:3]
            top, bottom, left, right = self.region
            x = x[
                :,
                int(round(top * height)) : int(round(bottom * height)),
                int(round(left * width)) : int(round(right * width)),
            ]
        # Per-call centred moments in float32 (no float64 copy of a large
        # activation), combined across calls in float64 (Chan et al. 1979).
        count = x.shape[0] * x.shape[1] * x.shape[2]
        mean = tf.reduce_mean(x, axis=(0, 1, 2))
        squares = tf.reduce_sum(tf.square(x - mean), axis=(0, 1, 2))
        mean = mean.numpy().astype(np.float64)
        squares = squares.numpy().astype(np.float64)
        previous = self._sums.get(layer.path)
        if previous is not None:
            count, mean, squares = _combine_moments(previous, (count, mean, squares))
        self._sums[layer.path] = (count, mean, squares)
        if self.stop_after is not None:
            raise StopForward(layer.path)

    def moments(self):
        """{layer path: (mean, variance)} float32 arrays of what was recorded."""
        return {
            path: (mean.astype(np.float32), (squares / count).astype(np.float32))
            for path, (count, mean, squares) in self._sums.items()
        }


def _combine_moments(a, b):
    """(count, mean, sum of squared deviations) of two samples together."""
    count_a, mean_a, squares_a = a
    count_b, mean_b, squares_b = b
    count = count_a + count_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (count_b / count)
    squares = squares_a + squares_b + np.square(delta) * (count_a * count_b / count)
    return count, mean, squares
